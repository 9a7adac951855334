//===- MatMulToLinalg.cpp - matmul and gemm -> linalg ---------------------===//
//
// 1-D matmul operands are promoted to matrices (and their unit dim squeezed
// from the result). A 2-D rhs takes the lhs' leading dims as extra rows of one
// linalg.matmul; equal batch dims are collapsed into one linalg.batch_matmul;
// other batch shapes are broadcast first. Products accumulate into a zero
// init, in f32 for half-precision floats. Gemm is a (transposed) matmul and
// an element-wise epilogue for alpha, beta and the broadcast C.
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "dialect/TesselOps.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// The type products accumulate in: f32 for floats narrower than f32.
Type accumulatorType(Type t) {
  if (auto f = dyn_cast<FloatType>(t); f && f.getWidth() < 32)
    return Float32Type::get(t.getContext());
  return t;
}

bool isNumber(Type t) {
  return isa<FloatType>(t) || (isa<IntegerType>(t) && !t.isInteger(1));
}

Value castTo(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType() == type)
    return v;
  return b.create<tensor::CastOp>(loc, type, v);
}

int64_t rankOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getRank();
}

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// Reassociation grouping the dims of a rank-`rank` shape around the dims not
/// in `unitDims` (each kept dim takes the unit dims after it, the first also
/// those before it). Empty when every dim is a unit dim.
SmallVector<ReassociationIndices>
groupsAroundUnitDims(int64_t rank, ArrayRef<int64_t> unitDims) {
  SmallVector<ReassociationIndices> groups;
  if ((int64_t)unitDims.size() == rank)
    return groups;
  bool seenKept = false;
  for (int64_t d = 0; d < rank; ++d) {
    bool kept = !llvm::is_contained(unitDims, d);
    if (groups.empty() || (kept && seenKept))
      groups.emplace_back();
    seenKept |= kept;
    groups.back().push_back(d);
  }
  return groups;
}

/// Groups [0, n) into one dim followed by the remaining dims one by one.
SmallVector<ReassociationIndices> leadingGroup(int64_t n, int64_t rank) {
  SmallVector<ReassociationIndices> groups(1);
  for (int64_t d = 0; d < n; ++d)
    groups[0].push_back(d);
  for (int64_t d = n; d < rank; ++d)
    groups.push_back({d});
  return groups;
}

/// Collapses the first `n` dims of `v` into one (no-op for n == 1).
Value collapseLeading(OpBuilder &b, Location loc, Value v, int64_t n) {
  if (n == 1)
    return v;
  return b.create<tensor::CollapseShapeOp>(loc, v, leadingGroup(n, rankOf(v)));
}

/// Expands the first dim of `v` into `leading` (the other dims keep their
/// sizes).
Value expandLeading(OpBuilder &b, Location loc, Value v,
                    ArrayRef<OpFoldResult> leading) {
  if (leading.size() == 1)
    return v;
  SmallVector<OpFoldResult> sizes(leading);
  SmallVector<int64_t> shape;
  for (OpFoldResult s : leading) {
    std::optional<int64_t> c = getConstantIntValue(s);
    shape.push_back(c ? *c : ShapedType::kDynamic);
  }
  for (int64_t d = 1; d < rankOf(v); ++d) {
    sizes.push_back(dimOf(b, loc, v, d));
    shape.push_back(shapeOf(v)[d]);
  }
  auto type = RankedTensorType::get(
      shape, cast<RankedTensorType>(v.getType()).getElementType());
  // LLVM 19 can neither bufferize a tensor.expand_shape that splits a dim
  // into several dynamic ones nor lower the memref one; tensor.reshape
  // (memref.reshape of the fresh product buffer) can.
  if (llvm::count(ArrayRef<int64_t>(shape).take_front(leading.size()),
                  ShapedType::kDynamic) > 1) {
    SmallVector<Value> extents;
    for (OpFoldResult s : sizes)
      extents.push_back(b.create<arith::IndexCastOp>(
          loc, b.getI64Type(), getValueOrCreateConstantIndexOp(b, loc, s)));
    Value shapeTensor = b.create<tensor::FromElementsOp>(loc, extents);
    return b.create<tensor::ReshapeOp>(loc, type, v, shapeTensor);
  }
  return b.create<tensor::ExpandShapeOp>(
      loc, type, v, leadingGroup(leading.size(), shape.size()), sizes);
}

/// A zero-filled accumulator of `sizes`.
Value zeroAccumulator(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                      Type accType) {
  return filledTensor(b, loc, sizes, scalarConstant(b, loc, accType, 0));
}

/// `v` converted element-wise to `element` (a no-op when it already is).
Value convertElements(OpBuilder &b, Location loc, Value v, Type element) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getElementType() == element)
    return v;
  int64_t rank = type.getRank();
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  Value init = emptyTensor(b, loc, dimsOf(b, loc, v), element);
  return b
      .create<linalg::GenericOp>(
          loc, init.getType(), v, init, ArrayRef<AffineMap>{identity, identity},
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &bb, Location l, ValueRange args) {
            bb.create<linalg::YieldOp>(
                l, convertScalar(bb, l, args[0], element, false, false));
          })
      .getResult(0);
}

/// [R..., M, K] x [K, N]: the rows R... x M become the rows of one matmul.
Value matmulWithMatrixRhs(OpBuilder &b, Location loc, Value lhs, Value rhs,
                          Type accType) {
  int64_t rank = rankOf(lhs);
  SmallVector<OpFoldResult> rows;
  for (int64_t d = 0; d + 1 < rank; ++d)
    rows.push_back(dimOf(b, loc, lhs, d));
  Value lhs2d = collapseLeading(b, loc, lhs, rank - 1);
  Value init = zeroAccumulator(
      b, loc, {dimOf(b, loc, lhs2d, 0), dimOf(b, loc, rhs, 1)}, accType);
  Value product =
      b.create<linalg::MatmulOp>(loc, ValueRange{lhs2d, rhs}, ValueRange{init})
          .getResult(0);
  return expandLeading(b, loc, product, rows);
}

/// How one batch dim of an operand reads the broadcast batch dim.
enum class BatchAccess { Identity, Broadcast, RunTime };

/// `v` ([B..., P, Q]) broadcast to the batch sizes `batch` (static shape
/// `batchShape`), its batch dims read as `access` says.
Value broadcastBatch(OpBuilder &b, Location loc, Value v,
                     ArrayRef<OpFoldResult> batch, ArrayRef<int64_t> batchShape,
                     ArrayRef<BatchAccess> access) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(v.getType());
  int64_t nb = batch.size(), rank = nb + 2;
  int64_t offset = rank - type.getRank();
  // Already of the broadcast shape.
  if (offset == 0 && llvm::all_of(access, [](BatchAccess a) {
        return a == BatchAccess::Identity;
      }))
    return v;

  SmallVector<OpFoldResult> sizes(batch);
  SmallVector<int64_t> shape(batchShape);
  for (int64_t d = type.getRank() - 2; d < type.getRank(); ++d) {
    sizes.push_back(dimOf(b, loc, v, d));
    shape.push_back(type.getDimSize(d));
  }
  Value init = emptyTensor(b, loc, sizes, type.getElementType());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  bool runTime = llvm::is_contained(access, BatchAccess::RunTime);
  if (!runTime) {
    SmallVector<AffineExpr> exprs;
    for (int64_t k = 0; k < type.getRank(); ++k)
      exprs.push_back(k + 2 < type.getRank() &&
                              access[k] == BatchAccess::Broadcast
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(k + offset, ctx));
    return b
        .create<linalg::GenericOp>(
            loc, init.getType(), v, init,
            ArrayRef<AffineMap>{AffineMap::get(rank, 0, exprs, ctx), identity},
            iterators,
            [](OpBuilder &bb, Location l, ValueRange args) {
              bb.create<linalg::YieldOp>(l, args[0]);
            })
        .getResult(0);
  }
  return b
      .create<linalg::GenericOp>(
          loc, init.getType(), ValueRange{}, init,
          ArrayRef<AffineMap>{identity}, iterators,
          [&](OpBuilder &bb, Location l, ValueRange) {
            Value zero = bb.create<arith::ConstantIndexOp>(l, 0);
            Value one = bb.create<arith::ConstantIndexOp>(l, 1);
            SmallVector<Value> indices;
            for (int64_t k = 0; k < type.getRank(); ++k) {
              bool isBatch = k + 2 < type.getRank();
              if (isBatch && access[k] == BatchAccess::Broadcast) {
                indices.push_back(zero);
                continue;
              }
              Value i = bb.create<linalg::IndexOp>(l, k + offset);
              if (isBatch && access[k] == BatchAccess::RunTime) {
                Value size = bb.create<tensor::DimOp>(l, v, k);
                Value isOne = bb.create<arith::CmpIOp>(
                    l, arith::CmpIPredicate::eq, size, one);
                i = bb.create<arith::SelectOp>(l, isOne, zero, i);
              }
              indices.push_back(i);
            }
            bb.create<linalg::YieldOp>(
                l, bb.create<tensor::ExtractOp>(l, v, indices).getResult());
          })
      .getResult(0);
}

/// [Ba..., M, K] x [Bb..., K, N] with at least one of Ba/Bb non-empty and a
/// matrix or batched rhs.
Value batchedMatmul(OpBuilder &b, Location loc, Value lhs, Value rhs,
                    Type accType) {
  int64_t ra = rankOf(lhs), rb = rankOf(rhs);
  if (rb == 2)
    return matmulWithMatrixRhs(b, loc, lhs, rhs, accType);

  ArrayRef<int64_t> sa = shapeOf(lhs), sb = shapeOf(rhs);
  int64_t nb = std::max(ra, rb) - 2;
  // Equal batch dims (static, or both dynamic: assumed equal as the verifier
  // allows) need no broadcast.
  bool equalBatch = ra == rb;
  for (int64_t i = 0; equalBatch && i < nb; ++i)
    equalBatch = sa[i] == sb[i];

  SmallVector<OpFoldResult> batch;
  SmallVector<int64_t> batchShape;
  if (equalBatch) {
    for (int64_t i = 0; i < nb; ++i) {
      batch.push_back(dimOf(b, loc, lhs, i));
      batchShape.push_back(sa[i]);
    }
  } else {
    // Numpy broadcast of the batch dims. A dynamic dim is 1 or the broadcast
    // size; where the types cannot tell which, it is resolved at run time.
    int64_t offA = nb - (ra - 2), offB = nb - (rb - 2);
    SmallVector<BatchAccess> accessA(ra - 2, BatchAccess::Identity);
    SmallVector<BatchAccess> accessB(rb - 2, BatchAccess::Identity);
    for (int64_t i = 0; i < nb; ++i) {
      int64_t ia = i - offA, ib = i - offB;
      int64_t da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
      // `one` is read broadcast when `other` may be larger than 1.
      auto broadcastFrom = [&](int64_t idxOne, int64_t other,
                               SmallVector<BatchAccess> &access) {
        if (idxOne >= 0 && other != 1)
          access[idxOne] = BatchAccess::Broadcast;
      };
      if (da == 1) {
        batch.push_back(ib >= 0 ? dimOf(b, loc, rhs, ib) : b.getIndexAttr(1));
        batchShape.push_back(db);
        broadcastFrom(ia, db, accessA);
      } else if (db == 1) {
        batch.push_back(dimOf(b, loc, lhs, ia));
        batchShape.push_back(da);
        broadcastFrom(ib, da, accessB);
      } else if (!ShapedType::isDynamic(da)) {
        batch.push_back(b.getIndexAttr(da));
        batchShape.push_back(da);
        if (ShapedType::isDynamic(db))
          accessB[ib] = BatchAccess::RunTime;
      } else if (!ShapedType::isDynamic(db)) {
        batch.push_back(b.getIndexAttr(db));
        batchShape.push_back(db);
        accessA[ia] = BatchAccess::RunTime;
      } else {
        batch.push_back(b.create<arith::MaxSIOp>(loc, dimValue(b, loc, lhs, ia),
                                                 dimValue(b, loc, rhs, ib))
                            .getResult());
        batchShape.push_back(ShapedType::kDynamic);
        accessA[ia] = accessB[ib] = BatchAccess::RunTime;
      }
    }
    lhs = broadcastBatch(b, loc, lhs, batch, batchShape, accessA);
    rhs = broadcastBatch(b, loc, rhs, batch, batchShape, accessB);
  }

  Value lhs3d = collapseLeading(b, loc, lhs, nb);
  Value rhs3d = collapseLeading(b, loc, rhs, nb);
  Value init =
      zeroAccumulator(b, loc,
                      {dimOf(b, loc, lhs3d, 0), dimOf(b, loc, lhs3d, 1),
                       dimOf(b, loc, rhs3d, 2)},
                      accType);
  Value product = b.create<linalg::BatchMatmulOp>(loc, ValueRange{lhs3d, rhs3d},
                                                  ValueRange{init})
                      .getResult(0);
  return expandLeading(b, loc, product, batch);
}

/// Promotes a 1-D operand to a matrix: [K] -> [1, K] (lhs) or [K, 1] (rhs).
Value promoteVector(OpBuilder &b, Location loc, Value v, bool isLhs) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t k = type.getDimSize(0);
  SmallVector<int64_t> shape =
      isLhs ? SmallVector<int64_t>{1, k} : SmallVector<int64_t>{k, 1};
  OpFoldResult size = dimOf(b, loc, v, 0), one = b.getIndexAttr(1);
  SmallVector<OpFoldResult> sizes = isLhs
                                        ? SmallVector<OpFoldResult>{one, size}
                                        : SmallVector<OpFoldResult>{size, one};
  return b.create<tensor::ExpandShapeOp>(
      loc, RankedTensorType::get(shape, type.getElementType()), v,
      ArrayRef<ReassociationIndices>{{0, 1}}, sizes);
}

struct MatMulLowering : OpConversionPattern<MatMulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(MatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lhs = adaptor.getA(), rhs = adaptor.getB();
    auto lhsType = dyn_cast<RankedTensorType>(lhs.getType());
    auto rhsType = dyn_cast<RankedTensorType>(rhs.getType());
    auto resultType = dyn_cast_or_null<RankedTensorType>(
        getTypeConverter()->convertType(op.getType()));
    if (!lhsType || !rhsType || !resultType)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Type element = lhsType.getElementType();
    if (rhsType.getElementType() != element ||
        resultType.getElementType() != element)
      return rewriter.notifyMatchFailure(op, "element types differ");
    if (!isNumber(element))
      return rewriter.notifyMatchFailure(op, "element type is not a number");
    if (lhsType.getRank() == 0 || rhsType.getRank() == 0)
      return rewriter.notifyMatchFailure(op, "0-D operand");

    bool vectorLhs = lhsType.getRank() == 1, vectorRhs = rhsType.getRank() == 1;
    if (vectorLhs)
      lhs = promoteVector(rewriter, loc, lhs, /*isLhs=*/true);
    if (vectorRhs)
      rhs = promoteVector(rewriter, loc, rhs, /*isLhs=*/false);
    int64_t expectedRank =
        std::max(rankOf(lhs), rankOf(rhs)) - vectorLhs - vectorRhs;
    if (resultType.getRank() != expectedRank)
      return rewriter.notifyMatchFailure(op, "result rank mismatch");

    Value product =
        batchedMatmul(rewriter, loc, lhs, rhs, accumulatorType(element));
    product = convertElements(rewriter, loc, product, element);
    int64_t rank = rankOf(product);
    SmallVector<int64_t> promoted;
    if (vectorLhs)
      promoted.push_back(rank - 2);
    if (vectorRhs)
      promoted.push_back(rank - 1);
    if (!promoted.empty())
      product = rewriter.create<tensor::CollapseShapeOp>(
          loc, product, groupsAroundUnitDims(rank, promoted));
    rewriter.replaceOp(op, castTo(rewriter, loc, product, resultType));
    return success();
  }
};

/// op(A) x op(B) with a transposed-operand matmul where one exists, then
/// `alpha * AB + beta * C` element-wise.
struct GemmLowering : OpConversionPattern<GemmOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(GemmOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    Value a = adaptor.getA(), b = adaptor.getB(), c = adaptor.getC();
    auto aType = dyn_cast<RankedTensorType>(a.getType());
    auto bType = dyn_cast<RankedTensorType>(b.getType());
    auto resultType = dyn_cast_or_null<RankedTensorType>(
        getTypeConverter()->convertType(op.getType()));
    if (!aType || !bType || !resultType ||
        (c && !isa<RankedTensorType>(c.getType())))
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    if (aType.getRank() != 2 || bType.getRank() != 2 ||
        resultType.getRank() != 2)
      return rewriter.notifyMatchFailure(op, "A, B and Y must be 2-D");
    Type element = aType.getElementType();
    if (bType.getElementType() != element ||
        resultType.getElementType() != element ||
        (c && getElementTypeOrSelf(c.getType()) != element))
      return rewriter.notifyMatchFailure(op, "element types differ");
    if (!isNumber(element))
      return rewriter.notifyMatchFailure(op, "element type is not a number");
    double alpha = op.getAlpha().convertToDouble();
    double beta = op.getBeta().convertToDouble();
    bool isInt = isa<IntegerType>(element);
    if (isInt && (alpha != std::trunc(alpha) || beta != std::trunc(beta)))
      return rewriter.notifyMatchFailure(
          op, "non-integral alpha/beta on an integer gemm");
    if (c && cast<RankedTensorType>(c.getType()).getRank() > 2)
      return rewriter.notifyMatchFailure(op, "C has rank > 2");

    bool transA = op.getTransA() != 0, transB = op.getTransB() != 0;
    if (transA && transB) {
      // Aᵀ Bᵀ: transpose A, then the B-transposed matmul.
      Value init = emptyTensor(
          rewriter, loc,
          {dimOf(rewriter, loc, a, 1), dimOf(rewriter, loc, a, 0)}, element);
      a = rewriter
              .create<linalg::TransposeOp>(loc, a, init,
                                           ArrayRef<int64_t>{1, 0})
              .getResult()[0];
      transA = false;
    }
    Type accType = accumulatorType(element);
    OpFoldResult m = dimOf(rewriter, loc, a, transA ? 1 : 0);
    OpFoldResult n = dimOf(rewriter, loc, b, transB ? 0 : 1);
    Value init = zeroAccumulator(rewriter, loc, {m, n}, accType);
    Value product;
    if (transA)
      product = rewriter
                    .create<linalg::MatmulTransposeAOp>(loc, ValueRange{a, b},
                                                        ValueRange{init})
                    .getResult(0);
    else if (transB)
      product = rewriter
                    .create<linalg::MatmulTransposeBOp>(loc, ValueRange{a, b},
                                                        ValueRange{init})
                    .getResult(0);
    else
      product =
          rewriter
              .create<linalg::MatmulOp>(loc, ValueRange{a, b}, ValueRange{init})
              .getResult(0);

    bool useC = c && beta != 0;
    if (!useC && alpha == 1) {
      product = convertElements(rewriter, loc, product, element);
      rewriter.replaceOp(op, castTo(rewriter, loc, product, resultType));
      return success();
    }

    // alpha * AB + beta * C in the accumulator type.
    auto epilogue = [&](OpBuilder &bb, Location l, ValueRange args) -> Value {
      Value y = args[0];
      auto scaled = [&](Value v, double factor) -> Value {
        if (factor == 1)
          return v;
        Value f = scalarConstant(bb, l, accType, factor);
        if (isInt)
          return bb.create<arith::MulIOp>(l, v, f);
        return bb.create<arith::MulFOp>(l, v, f);
      };
      y = scaled(y, alpha);
      if (args.size() > 1) {
        Value cv =
            scaled(convertScalar(bb, l, args[1], accType, false, false), beta);
        y = isInt ? bb.create<arith::AddIOp>(l, y, cv).getResult()
                  : bb.create<arith::AddFOp>(l, y, cv).getResult();
      }
      return convertScalar(bb, l, y, element, false, false);
    };
    auto productType = cast<RankedTensorType>(product.getType());
    auto outType = RankedTensorType::get(productType.getShape(), element);
    SmallVector<Value> operands{product};
    if (useC)
      operands.push_back(c);

    // C's dims read [M, N] through a static map when its shape says how;
    // otherwise the broadcast is resolved at run time.
    std::optional<AffineMap> cMap;
    if (useC) {
      auto cType = cast<RankedTensorType>(c.getType());
      int64_t offset = 2 - cType.getRank();
      SmallVector<AffineExpr> exprs;
      for (int64_t k = 0; k < cType.getRank(); ++k) {
        int64_t dc = cType.getDimSize(k),
                dy = productType.getDimSize(k + offset);
        if (dc == 1 && dy != 1)
          exprs.push_back(getAffineConstantExpr(0, ctx));
        else if (!ShapedType::isDynamic(dc) || dy == 1)
          exprs.push_back(getAffineDimExpr(k + offset, ctx));
        else
          break; // `?` may be 1 at run time
      }
      if ((int64_t)exprs.size() == cType.getRank())
        cMap = AffineMap::get(2, 0, exprs, ctx);
    }
    Value result;
    if (!useC || cMap) {
      SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(2, ctx)};
      if (cMap)
        maps.push_back(*cMap);
      maps.push_back(AffineMap::getMultiDimIdentityMap(2, ctx));
      Value out = emptyTensor(rewriter, loc, {m, n}, element);
      result = rewriter
                   .create<linalg::GenericOp>(
                       loc, out.getType(), operands, out, maps,
                       SmallVector<utils::IteratorType>(
                           2, utils::IteratorType::parallel),
                       [&](OpBuilder &bb, Location l, ValueRange args) {
                         bb.create<linalg::YieldOp>(
                             l, epilogue(bb, l, args.drop_back()));
                       })
                   .getResult(0);
    } else {
      result = buildBroadcastMap(rewriter, loc, operands, outType, epilogue);
    }
    rewriter.replaceOp(op, castTo(rewriter, loc, result, resultType));
    return success();
  }
};

} // namespace

void mlir::tessel::populateMatMulToLinalgPatterns(TypeConverter &converter,
                                                  RewritePatternSet &patterns) {
  patterns.add<MatMulLowering, GemmLowering>(converter, patterns.getContext());
}
