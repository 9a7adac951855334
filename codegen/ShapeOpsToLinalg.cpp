//===- ShapeOpsToLinalg.cpp - shape and data-movement tessel ops -> linalg ===//
//
// Sizes are computed at run time from the operands (tensor.dim and the values
// of shape operands); a dim the result type knows statically is taken from the
// type. Reshapes whose dim grouping is provable become tensor.collapse_shape /
// tensor.expand_shape (views that linalg fusion sees through), the others
// tensor.reshape. Data movement is tensor slicing, or a linalg.generic whose
// body reads its input with tensor.extract at computed indices. Every result
// ends as the op's converted result type (a tensor.cast where the computation
// knew fewer static dims). Gathers and scatters are in
// GatherScatterToLinalg.cpp.
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "dialect/ShapeUtils.h"
#include "dialect/TesselOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

#include <numeric>

using namespace mlir;
using namespace mlir::tessel;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

RankedTensorType rankedType(Value v) {
  return dyn_cast<RankedTensorType>(v.getType());
}

RankedTensorType convertedType(const TypeConverter *converter, Type t) {
  return dyn_cast_or_null<RankedTensorType>(converter->convertType(t));
}

/// Index arithmetic that folds constants, so static shapes stay attributes.
struct IndexMath {
  OpBuilder &b;
  Location loc;

  Value c(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value v(OpFoldResult ofr) {
    return getValueOrCreateConstantIndexOp(b, loc, ofr);
  }
  // Folding leaves commutative ops with a constant lhs unsimplified: put
  // constants on the right first.
  template <typename OpTy> Value commutative(Value x, Value y) {
    if (matchPattern(x, m_Constant()) && !matchPattern(y, m_Constant()))
      std::swap(x, y);
    return b.createOrFold<OpTy>(loc, x, y);
  }
  Value add(Value x, Value y) { return commutative<arith::AddIOp>(x, y); }
  Value sub(Value x, Value y) {
    return b.createOrFold<arith::SubIOp>(loc, x, y);
  }
  Value mul(Value x, Value y) { return commutative<arith::MulIOp>(x, y); }
  Value max(Value x, Value y) { return commutative<arith::MaxSIOp>(x, y); }
  Value min(Value x, Value y) { return commutative<arith::MinSIOp>(x, y); }
  Value clamp(Value x, Value lo, Value hi) { return min(max(x, lo), hi); }
  /// max(ceil(x / y), 0) for y > 0, as (x - 1) / y + 1 (no overflow for a
  /// huge y; and the CPU pipeline has no arith-expand for arith.ceildivsi).
  Value ceilDivOrZero(Value x, Value y) {
    Value quotient =
        add(b.createOrFold<arith::DivSIOp>(loc, sub(x, c(1)), y), c(1));
    return select(cmp(arith::CmpIPredicate::sgt, x, c(0)), quotient, c(0));
  }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return b.createOrFold<arith::CmpIOp>(loc, p, x, y);
  }
  Value select(Value cond, Value x, Value y) {
    return b.createOrFold<arith::SelectOp>(loc, cond, x, y);
  }
  /// x < 0 ? x + dim : x.
  Value fromEnd(Value x, Value dim) {
    return select(cmp(arith::CmpIPredicate::slt, x, c(0)), add(x, dim), x);
  }
};

/// Reassociation of `rank` dims where the dims flagged in `unit` (static 1s
/// being inserted or removed) join the group of the next kept dim, trailing
/// ones the last group. Empty when no dim is kept.
SmallVector<ReassociationIndices> unitDimGroups(ArrayRef<bool> unit) {
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices group;
  for (auto [i, isUnit] : llvm::enumerate(unit)) {
    group.push_back(i);
    if (!isUnit) {
      groups.push_back(group);
      group.clear();
    }
  }
  if (!groups.empty())
    groups.back().append(group.begin(), group.end());
  return groups;
}

/// Groups the dims of `big` into the dims of `small` (a collapse from big to
/// small, or an expansion read backwards): every small dim is a run of static
/// big dims with the same product, or one dynamic big dim that
/// `sameDynamic(bigDim, smallDim)` proves equal; static 1s join a neighbour.
std::optional<SmallVector<ReassociationIndices>>
groupDims(ArrayRef<int64_t> big, ArrayRef<int64_t> small,
          function_ref<bool(int64_t, int64_t)> sameDynamic) {
  // Zero-sized dims make products ambiguous.
  if (small.empty() || llvm::is_contained(big, 0) ||
      llvm::is_contained(small, 0))
    return std::nullopt;
  SmallVector<ReassociationIndices> groups;
  size_t i = 0;
  for (size_t j = 0; j < small.size(); ++j) {
    ReassociationIndices group;
    if (ShapedType::isDynamic(small[j])) {
      while (i < big.size() && big[i] == 1)
        group.push_back(i++);
      if (i == big.size() || !ShapedType::isDynamic(big[i]) ||
          !sameDynamic(i, j))
        return std::nullopt;
      group.push_back(i++);
    } else {
      int64_t product = 1;
      while (i < big.size() && !ShapedType::isDynamic(big[i]) &&
             (group.empty() || product < small[j])) {
        product *= big[i];
        group.push_back(i++);
      }
      if (group.empty() || product != small[j])
        return std::nullopt;
    }
    groups.push_back(group);
  }
  for (; i < big.size(); ++i) {
    if (big[i] != 1)
      return std::nullopt;
    groups.back().push_back(i);
  }
  return groups;
}

//===----------------------------------------------------------------------===//
// Shape queries
//===----------------------------------------------------------------------===//

/// tessel.shape -> tensor.from_elements of the dims.
struct ShapeLowering : OpConversionPattern<ShapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ShapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inputType = rankedType(adaptor.getData());
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!inputType || !resultType)
      return rewriter.notifyMatchFailure(op, "input or result is not ranked");
    int64_t rank = inputType.getRank();
    int64_t start = op.getStart();
    int64_t end = op.getEnd().value_or(rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    SmallVector<Value> dims;
    for (int64_t i = start; i < end; ++i) {
      if (!inputType.isDynamicDim(i)) {
        dims.push_back(rewriter.create<arith::ConstantIntOp>(
            loc, inputType.getDimSize(i), 64));
        continue;
      }
      dims.push_back(rewriter.create<arith::IndexCastOp>(
          loc, rewriter.getI64Type(),
          rewriter.create<tensor::DimOp>(loc, adaptor.getData(), i)));
    }
    Value shape = rewriter.create<tensor::FromElementsOp>(
        loc,
        RankedTensorType::get({(int64_t)dims.size()}, rewriter.getI64Type()),
        dims);
    rewriter.replaceOp(op, castToType(rewriter, loc, shape, resultType));
    return success();
  }
};

/// tessel.size -> the product of the dims in a 0-D tensor.
struct SizeLowering : OpConversionPattern<SizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    if (!rankedType(adaptor.getData()))
      return rewriter.notifyMatchFailure(op, "input is not ranked");
    IndexMath m{rewriter, loc};
    Value count = m.c(1);
    for (OpFoldResult d : dimsOf(rewriter, loc, adaptor.getData()))
      count = m.mul(count, m.v(d));
    Value size = rewriter.createOrFold<arith::IndexCastOp>(
        loc, rewriter.getI64Type(), count);
    rewriter.replaceOpWithNewOp<tensor::FromElementsOp>(
        op, RankedTensorType::get({}, rewriter.getI64Type()), size);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Reshapes
//===----------------------------------------------------------------------===//

/// `input` (all of whose dims are 1 at run time) as a rank-0 tensor.
Value collapseToScalar(OpBuilder &b, Location loc, Value input) {
  auto type = cast<RankedTensorType>(input.getType());
  auto ones = RankedTensorType::get(SmallVector<int64_t>(type.getRank(), 1),
                                    type.getElementType());
  return b.create<tensor::CollapseShapeOp>(loc, castToType(b, loc, input, ones),
                                           ArrayRef<ReassociationIndices>{});
}

/// A rank-0 `input` as a tensor of `rank` dims of 1.
Value expandFromScalar(OpBuilder &b, Location loc, Value input, int64_t rank) {
  auto type = cast<RankedTensorType>(input.getType());
  auto ones = RankedTensorType::get(SmallVector<int64_t>(rank, 1),
                                    type.getElementType());
  return b.create<tensor::ExpandShapeOp>(
      loc, ones, input, ArrayRef<ReassociationIndices>{},
      SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)));
}

/// tessel.reshape -> collapse/expand_shape when the grouping of dims is
/// provable, else tensor.reshape with the runtime shape (0 copies the input
/// dim unless allowzero, -1 takes the remaining element count).
struct ReshapeLowering : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getData();
    auto inputType = rankedType(input);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!inputType || !resultType)
      return rewriter.notifyMatchFailure(op, "input or result is not ranked");
    auto shapeType = rankedType(adaptor.getShape());
    int64_t inRank = inputType.getRank(), outRank = resultType.getRank();
    if (!shapeType || shapeType.getRank() != 1 ||
        shapeType.getDimSize(0) != outRank)
      return rewriter.notifyMatchFailure(
          op, "shape must be 1-D with one entry per result dim");

    if (outRank == 0) {
      rewriter.replaceOp(op, collapseToScalar(rewriter, loc, input));
      return success();
    }
    if (inRank == 0) {
      Value ones = expandFromScalar(rewriter, loc, input, outRank);
      rewriter.replaceOp(op, castToType(rewriter, loc, ones, resultType));
      return success();
    }

    bool allowZero = op.getAllowzero() != 0;
    SmallVector<int64_t> known =
        getKnownShapeValues(op.getShape()).value_or(SmallVector<int64_t>());
    if ((int64_t)known.size() != outRank)
      known.assign(outRank, kDyn);
    // Result dim q is input dim q when its shape entry is a known 0.
    auto copiesInput = [&](int64_t q) {
      return !allowZero && known[q] == 0 && q < inRank;
    };
    // A dim the declared type leaves dynamic is static when its entry is a
    // known positive size (the result is cast back to the declared type).
    RankedTensorType declaredType = resultType;
    {
      SmallVector<int64_t> shape(resultType.getShape());
      for (int64_t q = 0; q < outRank; ++q)
        if (ShapedType::isDynamic(shape[q]) && known[q] > 0)
          shape[q] = known[q];
      resultType = RankedTensorType::get(shape, resultType.getElementType(),
                                         resultType.getEncoding());
    }

    // Dynamic dims not copied from a same-index dim must pair up one to one:
    // with a single such dim on each side, the element count proves them
    // equal.
    SmallVector<int64_t> freeIn, freeOut;
    for (int64_t p = 0; p < inRank; ++p)
      if (inputType.isDynamicDim(p) &&
          !(p < outRank && copiesInput(p) && resultType.isDynamicDim(p)))
        freeIn.push_back(p);
    for (int64_t q = 0; q < outRank; ++q)
      if (resultType.isDynamicDim(q) && !copiesInput(q))
        freeOut.push_back(q);
    auto sameDynamic = [&](int64_t p, int64_t q) {
      if (p == q && copiesInput(q))
        return true;
      return freeIn.size() == 1 && freeOut.size() == 1 && freeIn[0] == p &&
             freeOut[0] == q;
    };

    ArrayRef<int64_t> inShape = inputType.getShape();
    ArrayRef<int64_t> outShape = resultType.getShape();
    Value result;
    if (outRank <= inRank) {
      if (auto groups = groupDims(inShape, outShape, sameDynamic)) {
        result =
            outRank == inRank
                ? input
                : rewriter.create<tensor::CollapseShapeOp>(loc, input, *groups);
        rewriter.replaceOp(op,
                           castToType(rewriter, loc, result, declaredType));
        return success();
      }
    }
    SmallVector<OpFoldResult> sizes = resultSizes(
        rewriter, loc, input, adaptor.getShape(), resultType, known, allowZero);
    if (outRank > inRank) {
      auto swapped = [&](int64_t q, int64_t p) { return sameDynamic(p, q); };
      if (auto groups = groupDims(outShape, inShape, swapped))
        result = rewriter.create<tensor::ExpandShapeOp>(loc, resultType, input,
                                                        *groups, sizes);
    }
    // No grouping, but at most one dynamic result dim: through 1-D.
    if (!result && llvm::count(outShape, kDyn) <= 1)
      result = reshapeThroughFlat(rewriter, loc, input, resultType, sizes);
    if (!result) {
      SmallVector<Value> values;
      for (OpFoldResult s : sizes)
        values.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, s));
      Value shape = rewriter.create<tensor::FromElementsOp>(loc, values);
      result =
          rewriter.create<tensor::ReshapeOp>(loc, resultType, input, shape);
    }
    rewriter.replaceOp(op, castToType(rewriter, loc, result, declaredType));
    return success();
  }

  /// collapse_shape of all dims, then expand_shape into `resultType`
  /// (which has at most one dynamic dim; static when the input is).
  static Value reshapeThroughFlat(OpBuilder &b, Location loc, Value input,
                                  RankedTensorType resultType,
                                  ArrayRef<OpFoldResult> sizes) {
    auto inputType = cast<RankedTensorType>(input.getType());
    Value flat = input;
    if (inputType.getRank() > 1) {
      ReassociationIndices all(inputType.getRank());
      std::iota(all.begin(), all.end(), 0);
      flat = b.create<tensor::CollapseShapeOp>(
          loc, input, ArrayRef<ReassociationIndices>{all});
    }
    int64_t outRank = resultType.getRank();
    if (outRank == 1)
      return flat;
    SmallVector<int64_t> shape(resultType.getShape());
    int64_t total = cast<RankedTensorType>(flat.getType()).getDimSize(0);
    int64_t others = 1;
    for (int64_t d : shape)
      others *= ShapedType::isDynamic(d) ? 1 : d;
    auto dynamicDim = llvm::find(shape, kDyn);
    if (dynamicDim == shape.end()) {
      // A static result: the flat dim is its element count.
      flat = castToType(
          b, loc, flat,
          RankedTensorType::get({others}, resultType.getElementType()));
    } else if (!ShapedType::isDynamic(total) && others != 0 &&
               total % others == 0) {
      // A static input: so is the result.
      *dynamicDim = total / others;
    }
    ReassociationIndices all(outRank);
    std::iota(all.begin(), all.end(), 0);
    return b.create<tensor::ExpandShapeOp>(
        loc, RankedTensorType::get(shape, resultType.getElementType()), flat,
        ArrayRef<ReassociationIndices>{all},
        withStaticDims(b, RankedTensorType::get(shape, b.getI8Type()), sizes));
  }

  /// The runtime result dims: shape values with 0 and -1 resolved.
  static SmallVector<OpFoldResult> resultSizes(OpBuilder &b, Location loc,
                                               Value input, Value shape,
                                               RankedTensorType resultType,
                                               ArrayRef<int64_t> known,
                                               bool allowZero) {
    IndexMath m{b, loc};
    int64_t inRank = cast<RankedTensorType>(input.getType()).getRank();
    int64_t outRank = resultType.getRank();
    SmallVector<Value> sizes;
    SmallVector<Value> isInferred(outRank);
    bool anyInferred = false;
    for (int64_t q = 0; q < outRank; ++q) {
      if (!resultType.isDynamicDim(q)) {
        sizes.push_back(m.c(resultType.getDimSize(q)));
        continue;
      }
      if (known[q] == -1) {
        sizes.push_back(m.c(-1));
        isInferred[q] = b.create<arith::ConstantIntOp>(loc, 1, 1);
        anyInferred = true;
        continue;
      }
      if (known[q] == 0 && !allowZero && q < inRank) {
        sizes.push_back(dimValue(b, loc, input, q));
        continue;
      }
      Value s = extractIndex(b, loc, shape, q);
      if (!allowZero && q < inRank)
        s = m.select(m.cmp(arith::CmpIPredicate::eq, s, m.c(0)),
                     dimValue(b, loc, input, q), s);
      isInferred[q] = m.cmp(arith::CmpIPredicate::eq, s, m.c(-1));
      anyInferred = true;
      sizes.push_back(s);
    }
    if (anyInferred) {
      // -1 takes total / (product of the other dims).
      Value total = m.c(1);
      for (OpFoldResult d : dimsOf(b, loc, input))
        total = m.mul(total, m.v(d));
      Value others = m.c(1);
      for (int64_t q = 0; q < outRank; ++q)
        others = m.mul(others, isInferred[q]
                                   ? m.select(isInferred[q], m.c(1), sizes[q])
                                   : sizes[q]);
      Value inferred =
          b.createOrFold<arith::DivSIOp>(loc, total, m.max(others, m.c(1)));
      for (int64_t q = 0; q < outRank; ++q)
        if (isInferred[q])
          sizes[q] = m.select(isInferred[q], inferred, sizes[q]);
    }
    return getAsOpFoldResult(sizes);
  }
};

/// tessel.flatten -> collapse_shape into [front, back] (through a 1-D
/// collapse and an expand when one side is empty).
struct FlattenLowering : OpConversionPattern<FlattenOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(FlattenOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inputType = rankedType(input);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!inputType || !resultType || resultType.getRank() != 2)
      return rewriter.notifyMatchFailure(op, "input or result is not ranked");
    int64_t rank = inputType.getRank();
    int64_t axis = op.getAxis();
    if (axis < -rank || axis > rank)
      return rewriter.notifyMatchFailure(op, "axis is out of range");
    if (axis < 0)
      axis += rank;

    Value result;
    if (rank == 0) {
      result = expandFromScalar(rewriter, loc, input, 2);
    } else if (axis == 0 || axis == rank) {
      Value flat = input;
      if (rank > 1) {
        ReassociationIndices all;
        for (int64_t i = 0; i < rank; ++i)
          all.push_back(i);
        flat = rewriter.create<tensor::CollapseShapeOp>(
            loc, input, ArrayRef<ReassociationIndices>{all});
      }
      int64_t n = cast<RankedTensorType>(flat.getType()).getDimSize(0);
      SmallVector<int64_t> shape =
          axis == 0 ? SmallVector<int64_t>{1, n} : SmallVector<int64_t>{n, 1};
      OpFoldResult one = rewriter.getIndexAttr(1);
      OpFoldResult size = dimOf(rewriter, loc, flat, 0);
      SmallVector<OpFoldResult> sizes =
          axis == 0 ? SmallVector<OpFoldResult>{one, size}
                    : SmallVector<OpFoldResult>{size, one};
      result = rewriter.create<tensor::ExpandShapeOp>(
          loc, RankedTensorType::get(shape, inputType.getElementType()), flat,
          ArrayRef<ReassociationIndices>{{0, 1}}, sizes);
    } else {
      ReassociationIndices front, back;
      for (int64_t i = 0; i < rank; ++i)
        (i < axis ? front : back).push_back(i);
      result = rewriter.create<tensor::CollapseShapeOp>(
          loc, input, ArrayRef<ReassociationIndices>{front, back});
    }
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }
};

/// tessel.squeeze -> collapse_shape (squeezed `?` dims are cast to 1 first).
struct SqueezeLowering : OpConversionPattern<SqueezeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SqueezeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getData();
    auto inputType = rankedType(input);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!inputType || !resultType)
      return rewriter.notifyMatchFailure(op, "input or result is not ranked");
    int64_t rank = inputType.getRank();
    SmallVector<bool> squeezed(rank, false);
    if (auto axes = op.getAxes()) {
      for (int64_t axis : *axes) {
        auto a = normalizeAxis(axis, rank);
        if (!a)
          return rewriter.notifyMatchFailure(op, "axis is out of range");
        squeezed[*a] = true;
      }
    } else {
      for (int64_t i = 0; i < rank; ++i)
        squeezed[i] = inputType.getDimSize(i) == 1;
    }
    SmallVector<int64_t> unitShape(inputType.getShape());
    int64_t kept = 0;
    for (int64_t i = 0; i < rank; ++i) {
      if (!squeezed[i]) {
        ++kept;
        continue;
      }
      if (!inputType.isDynamicDim(i) && inputType.getDimSize(i) != 1)
        return rewriter.notifyMatchFailure(op, "squeezed dim is not 1");
      unitShape[i] = 1;
    }
    if (kept != resultType.getRank())
      return rewriter.notifyMatchFailure(
          op, "result rank does not match the squeezed dims (dynamic dims "
              "without axes?)");
    Value unit = castToType(
        rewriter, loc, input,
        RankedTensorType::get(unitShape, inputType.getElementType()));
    Value result = kept == 0 ? collapseToScalar(rewriter, loc, unit)
                             : rewriter
                                   .create<tensor::CollapseShapeOp>(
                                       loc, unit, unitDimGroups(squeezed))
                                   .getResult();
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }
};

/// tessel.unsqueeze -> expand_shape.
struct UnsqueezeLowering : OpConversionPattern<UnsqueezeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(UnsqueezeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getData();
    auto inputType = rankedType(input);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!inputType || !resultType)
      return rewriter.notifyMatchFailure(op, "input or result is not ranked");
    int64_t outRank = inputType.getRank() + op.getAxes().size();
    if (resultType.getRank() != outRank)
      return rewriter.notifyMatchFailure(op, "result rank mismatch");
    SmallVector<bool> inserted(outRank, false);
    for (int64_t axis : op.getAxes()) {
      auto a = normalizeAxis(axis, outRank);
      if (!a || inserted[*a])
        return rewriter.notifyMatchFailure(op, "axes are out of range or "
                                               "repeated");
      inserted[*a] = true;
    }
    if (inputType.getRank() == 0) {
      Value ones = expandFromScalar(rewriter, loc, input, outRank);
      rewriter.replaceOp(op, castToType(rewriter, loc, ones, resultType));
      return success();
    }
    SmallVector<int64_t> shape;
    SmallVector<OpFoldResult> sizes;
    int64_t next = 0;
    for (int64_t i = 0; i < outRank; ++i) {
      if (inserted[i]) {
        shape.push_back(1);
        sizes.push_back(rewriter.getIndexAttr(1));
        continue;
      }
      shape.push_back(inputType.getDimSize(next));
      sizes.push_back(dimOf(rewriter, loc, input, next++));
    }
    Value result = rewriter.create<tensor::ExpandShapeOp>(
        loc, RankedTensorType::get(shape, inputType.getElementType()), input,
        unitDimGroups(inserted), sizes);
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

/// tessel.transpose -> linalg.transpose.
struct TransposeLowering : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getData();
    auto inputType = rankedType(input);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!inputType || !resultType)
      return rewriter.notifyMatchFailure(op, "input or result is not ranked");
    int64_t rank = inputType.getRank();
    SmallVector<int64_t> perm;
    if (auto p = op.getPerm())
      perm.assign(p->begin(), p->end());
    else
      for (int64_t i = rank - 1; i >= 0; --i)
        perm.push_back(i);
    if (!isPermutationVector(perm) || (int64_t)perm.size() != rank)
      return rewriter.notifyMatchFailure(op, "perm is not a permutation");
    SmallVector<OpFoldResult> sizes;
    for (int64_t p : perm)
      sizes.push_back(dimOf(rewriter, loc, input, p));
    Value init = emptyTensor(rewriter, loc, sizes, inputType.getElementType());
    Value result = rewriter.create<linalg::TransposeOp>(loc, input, init, perm)
                       ->getResult(0);
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }
};

/// tessel.concat -> tensor.empty + one tensor.insert_slice per input.
struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ValueRange inputs = adaptor.getInputs();
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!resultType || inputs.empty())
      return rewriter.notifyMatchFailure(op, "result is not ranked");
    int64_t rank = resultType.getRank();
    for (Value v : inputs) {
      auto type = rankedType(v);
      if (!type || type.getRank() != rank)
        return rewriter.notifyMatchFailure(op, "inputs are not all ranked "
                                               "with the result's rank");
    }
    auto axis = normalizeAxis(op.getAxis(), rank);
    if (!axis)
      return rewriter.notifyMatchFailure(op, "axis is out of range");
    if (inputs.size() == 1) {
      rewriter.replaceOp(op, castToType(rewriter, loc, inputs[0], resultType));
      return success();
    }
    IndexMath m{rewriter, loc};
    SmallVector<OpFoldResult> sizes = dimsOf(rewriter, loc, inputs[0]);
    Value total = m.c(0);
    for (Value v : inputs)
      total = m.add(total, dimValue(rewriter, loc, v, *axis));
    sizes[*axis] = getAsOpFoldResult(total);
    Value result =
        emptyTensor(rewriter, loc, withStaticDims(rewriter, resultType, sizes),
                    resultType.getElementType());
    Value offset = m.c(0);
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    for (Value v : inputs) {
      if (cast<RankedTensorType>(v.getType()).getDimSize(*axis) == 0)
        continue;
      SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
      offsets[*axis] = getAsOpFoldResult(offset);
      result = rewriter.create<tensor::InsertSliceOp>(
          loc, v, result, offsets, dimsOf(rewriter, loc, v), strides);
      offset = m.add(offset, dimValue(rewriter, loc, v, *axis));
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// tessel.split -> one tensor.extract_slice per output.
struct SplitLowering : OpConversionPattern<SplitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SplitOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inputType = rankedType(input);
    if (!inputType)
      return rewriter.notifyMatchFailure(op, "input is not ranked");
    int64_t rank = inputType.getRank();
    auto axis = normalizeAxis(op.getAxis(), rank);
    if (!axis)
      return rewriter.notifyMatchFailure(op, "axis is out of range");
    SmallVector<RankedTensorType> resultTypes;
    for (Value r : op.getResults()) {
      auto type = convertedType(getTypeConverter(), r.getType());
      if (!type || type.getRank() != rank)
        return rewriter.notifyMatchFailure(op, "result is not ranked");
      resultTypes.push_back(type);
    }
    int64_t n = resultTypes.size();
    auto split = op.getSplit();
    if (split && (int64_t)split->size() != n)
      return rewriter.notifyMatchFailure(op, "split has one size per output");

    IndexMath m{rewriter, loc};
    Value total = dimValue(rewriter, loc, input, *axis);
    Value chunk = m.ceilDivOrZero(total, m.c(n));
    SmallVector<Value> results;
    Value offset = m.c(0);
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    for (int64_t i = 0; i < n; ++i) {
      Value size;
      if (!resultTypes[i].isDynamicDim(*axis))
        size = m.c(resultTypes[i].getDimSize(*axis));
      else if (split)
        size = m.c((*split)[i]);
      else // The last parts may be smaller (or empty).
        size = m.clamp(m.sub(total, m.mul(m.c(i), chunk)), m.c(0), chunk);
      SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes = dimsOf(rewriter, loc, input);
      offsets[*axis] = getAsOpFoldResult(offset);
      sizes[*axis] = getAsOpFoldResult(size);
      Value part = rewriter.create<tensor::ExtractSliceOp>(
          loc, input, offsets, withStaticDims(rewriter, resultTypes[i], sizes),
          strides);
      results.push_back(castToType(rewriter, loc, part, resultTypes[i]));
      offset = m.add(offset, size);
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// tessel.slice -> tensor.extract_slice when every step is a positive
/// constant, else a linalg.generic reading input[start + i * step].
struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;

  /// Clamped start and element count of one sliced dim (ONNX rules).
  struct Bounds {
    Value start, size;
  };

  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getData();
    auto inputType = rankedType(input);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!inputType || !resultType ||
        resultType.getRank() != inputType.getRank())
      return rewriter.notifyMatchFailure(op, "input or result is not ranked");
    int64_t rank = inputType.getRank();
    auto axes = getConstantIntValues(adaptor.getAxes());
    if (!axes)
      axes = getConstantIntValues(op.getAxes());
    if (!axes)
      return rewriter.notifyMatchFailure(op, "axes are not constant");
    for (Value v :
         {adaptor.getStarts(), adaptor.getEnds(), adaptor.getSteps()}) {
      auto type = rankedType(v);
      if (!type || type.getRank() != 1 ||
          (!type.isDynamicDim(0) &&
           type.getDimSize(0) != (int64_t)axes->size()))
        return rewriter.notifyMatchFailure(
            op, "starts/ends/steps must be 1-D with one entry per axis");
    }
    auto steps = getConstantIntValues(adaptor.getSteps());
    if (!steps)
      steps = getConstantIntValues(op.getSteps());
    if (steps && llvm::is_contained(*steps, 0))
      return rewriter.notifyMatchFailure(op, "a step is 0");

    IndexMath m{rewriter, loc};
    // Per input dim: start, size, step (identity for dims not sliced).
    SmallVector<OpFoldResult> starts(rank, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = dimsOf(rewriter, loc, input);
    SmallVector<OpFoldResult> stepSizes(rank, rewriter.getIndexAttr(1));
    SmallVector<bool> sliced(rank, false);
    for (auto [i, axis] : llvm::enumerate(*axes)) {
      auto a = normalizeAxis(axis, rank);
      if (!a || sliced[*a])
        return rewriter.notifyMatchFailure(op, "axes are out of range or "
                                               "repeated");
      sliced[*a] = true;
      Value dim = dimValue(rewriter, loc, input, *a);
      Value start = extractIndex(rewriter, loc, adaptor.getStarts(), i);
      Value end = extractIndex(rewriter, loc, adaptor.getEnds(), i);
      Value step;
      Bounds bounds;
      if (steps) {
        step = m.c((*steps)[i]);
        bounds = (*steps)[i] > 0 ? forward(m, start, end, step, dim)
                                 : backward(m, start, end, step, dim);
      } else {
        step = extractIndex(rewriter, loc, adaptor.getSteps(), i);
        // A 0 step is invalid; keep it from dividing by zero.
        step = m.select(m.cmp(arith::CmpIPredicate::eq, step, m.c(0)), m.c(1),
                        step);
        Bounds fw = forward(m, start, end, step, dim);
        Bounds bw = backward(m, start, end, step, dim);
        Value positive = m.cmp(arith::CmpIPredicate::sgt, step, m.c(0));
        bounds = {m.select(positive, fw.start, bw.start),
                  m.select(positive, fw.size, bw.size)};
      }
      starts[*a] = getAsOpFoldResult(bounds.start);
      sizes[*a] = getAsOpFoldResult(bounds.size);
      stepSizes[*a] = getAsOpFoldResult(step);
    }
    sizes = withStaticDims(rewriter, resultType, sizes);

    Value result;
    if (steps && llvm::all_of(*steps, [](int64_t s) { return s > 0; })) {
      result = rewriter.create<tensor::ExtractSliceOp>(loc, input, starts,
                                                       sizes, stepSizes);
    } else {
      result = buildIndexedGeneric(
          rewriter, loc, sizes, resultType.getElementType(), {}, {},
          [&](OpBuilder &b, Location l, ValueRange ivs, ValueRange) -> Value {
            IndexMath bm{b, l};
            SmallVector<Value> coords;
            for (int64_t d = 0; d < rank; ++d)
              coords.push_back(sliced[d]
                                   ? bm.add(bm.v(starts[d]),
                                            bm.mul(ivs[d], bm.v(stepSizes[d])))
                                   : ivs[d]);
            return b.create<tensor::ExtractOp>(l, input, coords);
          });
    }
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }

  static Bounds forward(IndexMath &m, Value start, Value end, Value step,
                        Value dim) {
    Value s = m.clamp(m.fromEnd(start, dim), m.c(0), dim);
    Value e = m.clamp(m.fromEnd(end, dim), m.c(0), dim);
    return {s, m.ceilDivOrZero(m.sub(e, s), step)};
  }

  static Bounds backward(IndexMath &m, Value start, Value end, Value step,
                         Value dim) {
    Value last = m.sub(dim, m.c(1));
    Value s = m.clamp(m.fromEnd(start, dim), m.c(0), last);
    Value e = m.clamp(m.fromEnd(end, dim), m.c(-1), last);
    Value negStep = m.sub(m.c(0), step);
    return {s, m.ceilDivOrZero(m.sub(s, e), negStep)};
  }
};

/// tessel.expand -> a broadcasting linalg.generic into the runtime shape.
struct ExpandLowering : OpConversionPattern<ExpandOp> {
  using OpConversionPattern::OpConversionPattern;

  enum class Access { Broadcast, Identity, Ambiguous };

  LogicalResult
  matchAndRewrite(ExpandOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inputType = rankedType(input);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    auto shapeType = rankedType(adaptor.getShape());
    if (!inputType || !resultType)
      return rewriter.notifyMatchFailure(op, "input or result is not ranked");
    if (!shapeType || shapeType.getRank() != 1 || shapeType.isDynamicDim(0))
      return rewriter.notifyMatchFailure(op, "shape must have a static length");
    int64_t inRank = inputType.getRank();
    int64_t n = shapeType.getDimSize(0);
    int64_t rank = std::max(inRank, n);
    if (resultType.getRank() != rank)
      return rewriter.notifyMatchFailure(op, "result rank mismatch");
    SmallVector<int64_t> known =
        getKnownShapeValues(op.getShape()).value_or(SmallVector<int64_t>());
    if ((int64_t)known.size() != n)
      known.assign(n, kDyn);

    IndexMath m{rewriter, loc};
    int64_t inOffset = rank - inRank, shapeOffset = rank - n;
    SmallVector<OpFoldResult> sizes;
    SmallVector<Access> access(inRank);
    for (int64_t i = 0; i < rank; ++i) {
      int64_t k = i - inOffset;
      int64_t a = k < 0 ? 1 : inputType.getDimSize(k);
      int64_t j = i - shapeOffset;
      int64_t s = j < 0 ? 1 : known[j];
      if (k >= 0)
        access[k] = a == 1                                ? Access::Broadcast
                    : !ShapedType::isDynamic(a) || s == 1 ? Access::Identity
                                                          : Access::Ambiguous;
      if (!resultType.isDynamicDim(i)) {
        sizes.push_back(rewriter.getIndexAttr(resultType.getDimSize(i)));
        continue;
      }
      // The broadcast of a and s: s where a is 1, else a.
      Value sv = j < 0 ? m.c(1)
                 : !ShapedType::isDynamic(s)
                     ? m.c(s)
                     : extractIndex(rewriter, loc, adaptor.getShape(), j);
      if (a == 1) {
        sizes.push_back(getAsOpFoldResult(sv));
      } else if (!ShapedType::isDynamic(a) || s == 1) {
        sizes.push_back(dimOf(rewriter, loc, input, k));
      } else {
        Value av = dimValue(rewriter, loc, input, k);
        sizes.push_back(getAsOpFoldResult(
            m.select(m.cmp(arith::CmpIPredicate::eq, av, m.c(1)), sv, av)));
      }
    }

    Type elementType = resultType.getElementType();
    MLIRContext *ctx = rewriter.getContext();
    // Reads the input through affine maps, ambiguous dims as identity.
    auto mapped = [&](OpBuilder &b, Location l) {
      SmallVector<AffineExpr> exprs;
      for (int64_t k = 0; k < inRank; ++k)
        exprs.push_back(access[k] == Access::Broadcast
                            ? getAffineConstantExpr(0, ctx)
                            : getAffineDimExpr(k + inOffset, ctx));
      AffineMap map = AffineMap::get(rank, 0, exprs, ctx);
      return buildIndexedGeneric(b, l, sizes, elementType, input, map,
                                 [](OpBuilder &, Location, ValueRange,
                                    ValueRange args) { return args[0]; });
    };
    if (!llvm::is_contained(access, Access::Ambiguous)) {
      rewriter.replaceOp(
          op, castToType(rewriter, loc, mapped(rewriter, loc), resultType));
      return success();
    }
    // Reads the input with tensor.extract, a dim of 1 read at 0.
    SmallVector<Value> isOne(inRank);
    for (int64_t k = 0; k < inRank; ++k)
      if (access[k] == Access::Ambiguous)
        isOne[k] = m.cmp(arith::CmpIPredicate::eq,
                         dimValue(rewriter, loc, input, k), m.c(1));
    auto indexed = [&](OpBuilder &b, Location l) {
      return buildIndexedGeneric(
          b, l, sizes, elementType, {}, {},
          [&](OpBuilder &bb, Location bl, ValueRange ivs, ValueRange) -> Value {
            IndexMath bm{bb, bl};
            SmallVector<Value> coords;
            for (int64_t k = 0; k < inRank; ++k) {
              Value iv = ivs[k + inOffset];
              if (access[k] == Access::Broadcast) {
                coords.push_back(bm.c(0));
              } else if (access[k] == Access::Identity) {
                coords.push_back(iv);
              } else {
                coords.push_back(bm.select(isOne[k], bm.c(0), iv));
              }
            }
            return bb.create<tensor::ExtractOp>(bl, input, coords);
          });
    };
    // The common case (no run-time broadcast) keeps a plain, fusable generic.
    Value noBroadcast;
    for (int64_t k = 0; k < inRank; ++k) {
      if (access[k] != Access::Ambiguous)
        continue;
      Value eq =
          m.cmp(arith::CmpIPredicate::eq, dimValue(rewriter, loc, input, k),
                m.v(sizes[k + inOffset]));
      noBroadcast = noBroadcast
                        ? rewriter.create<arith::AndIOp>(loc, noBroadcast, eq)
                        : eq;
    }
    auto ifOp = rewriter.create<scf::IfOp>(
        loc, noBroadcast,
        [&](OpBuilder &b, Location l) {
          b.create<scf::YieldOp>(l, mapped(b, l));
        },
        [&](OpBuilder &b, Location l) {
          b.create<scf::YieldOp>(l, indexed(b, l));
        });
    rewriter.replaceOp(
        op, castToType(rewriter, loc, ifOp.getResult(0), resultType));
    return success();
  }
};

/// tessel.tile -> linalg.generic reading input[i mod dim].
struct TileLowering : OpConversionPattern<TileOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TileOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inputType = rankedType(input);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    auto repeatsType = rankedType(adaptor.getRepeats());
    if (!inputType || !resultType)
      return rewriter.notifyMatchFailure(op, "input or result is not ranked");
    int64_t rank = inputType.getRank();
    if (resultType.getRank() != rank || !repeatsType ||
        repeatsType.getRank() != 1 ||
        (!repeatsType.isDynamicDim(0) && repeatsType.getDimSize(0) != rank))
      return rewriter.notifyMatchFailure(op, "repeats must have one entry per "
                                             "dim");
    SmallVector<int64_t> known =
        getKnownShapeValues(op.getRepeats()).value_or(SmallVector<int64_t>());
    if ((int64_t)known.size() != rank)
      known.assign(rank, kDyn);
    IndexMath m{rewriter, loc};
    SmallVector<OpFoldResult> sizes;
    SmallVector<Value> dims;
    for (int64_t i = 0; i < rank; ++i) {
      dims.push_back(dimValue(rewriter, loc, input, i));
      Value r = ShapedType::isDynamic(known[i])
                    ? extractIndex(rewriter, loc, adaptor.getRepeats(), i)
                    : m.c(known[i]);
      sizes.push_back(getAsOpFoldResult(m.mul(dims[i], r)));
    }
    Value result = buildIndexedGeneric(
        rewriter, loc, withStaticDims(rewriter, resultType, sizes),
        resultType.getElementType(), {}, {},
        [&](OpBuilder &b, Location l, ValueRange ivs, ValueRange) -> Value {
          SmallVector<Value> coords;
          for (int64_t i = 0; i < rank; ++i) {
            if (known[i] == 1)
              coords.push_back(ivs[i]);
            else if (inputType.getDimSize(i) == 1)
              coords.push_back(b.create<arith::ConstantIndexOp>(l, 0));
            else
              coords.push_back(b.create<arith::RemUIOp>(l, ivs[i], dims[i]));
          }
          return b.create<tensor::ExtractOp>(l, input, coords);
        });
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }
};

/// tessel.pad (constant mode) -> tensor.pad; negative pads crop with
/// tensor.extract_slice first.
struct PadLowering : OpConversionPattern<PadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    if (op.getMode() != "constant")
      return rewriter.notifyMatchFailure(op, "pad mode " + op.getMode() +
                                                 " is not supported on the "
                                                 "CPU target");
    Value input = adaptor.getData();
    auto inputType = rankedType(input);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    auto padsType = rankedType(adaptor.getPads());
    auto valueType = rankedType(adaptor.getConstantValue());
    if (!inputType || !resultType || !valueType)
      return rewriter.notifyMatchFailure(op, "input or result is not ranked");
    int64_t rank = inputType.getRank();
    if (!padsType || padsType.getRank() != 1 ||
        (!padsType.isDynamicDim(0) && padsType.getDimSize(0) != 2 * rank))
      return rewriter.notifyMatchFailure(op, "pads must have 2 * rank entries");

    auto known = getConstantIntValues(op.getPads());
    IndexMath m{rewriter, loc};
    auto pad = [&](int64_t i) -> Value {
      if (known && (int64_t)known->size() == 2 * rank)
        return m.c((*known)[i]);
      return extractIndex(rewriter, loc, adaptor.getPads(), i);
    };
    SmallVector<OpFoldResult> low, high, offsets, sizes;
    bool crops = false;
    for (int64_t i = 0; i < rank; ++i) {
      Value lo = pad(i), hi = pad(i + rank);
      Value cropLo = m.max(m.sub(m.c(0), lo), m.c(0));
      Value cropHi = m.max(m.sub(m.c(0), hi), m.c(0));
      low.push_back(getAsOpFoldResult(m.max(lo, m.c(0))));
      high.push_back(getAsOpFoldResult(m.max(hi, m.c(0))));
      offsets.push_back(getAsOpFoldResult(cropLo));
      OpFoldResult dim = dimOf(rewriter, loc, input, i);
      if (isConstantIntValue(cropLo, 0) && isConstantIntValue(cropHi, 0)) {
        sizes.push_back(dim);
        continue;
      }
      crops = true;
      sizes.push_back(
          getAsOpFoldResult(m.sub(m.sub(m.v(dim), cropLo), cropHi)));
    }
    if (crops) {
      SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
      input = rewriter.create<tensor::ExtractSliceOp>(loc, input, offsets,
                                                      sizes, strides);
    }
    Value padValue =
        valueType.hasStaticShape() && valueType.getNumElements() == 0
            ? scalarConstant(rewriter, loc, resultType.getElementType(), 0)
            : extractScalar(rewriter, loc, adaptor.getConstantValue());
    Value result =
        rewriter.create<tensor::PadOp>(loc, Type(), input, low, high, padValue);
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Generators
//===----------------------------------------------------------------------===//

/// tessel.range -> linalg.generic of start + i * delta over a runtime count.
struct RangeLowering : OpConversionPattern<RangeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RangeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!resultType || resultType.getRank() != 1)
      return rewriter.notifyMatchFailure(op, "result is not 1-D");
    for (Value v : adaptor.getOperands()) {
      auto type = rankedType(v);
      if (!type || !type.hasStaticShape() || type.getNumElements() != 1)
        return rewriter.notifyMatchFailure(op, "operands must be scalars");
    }
    Type elementType = resultType.getElementType();
    if (!elementType.isIntOrFloat() || elementType.isInteger(1))
      return rewriter.notifyMatchFailure(op, "element type is not numeric");
    Value start = extractScalar(rewriter, loc, adaptor.getStart());
    Value limit = extractScalar(rewriter, loc, adaptor.getLimit());
    Value delta = extractScalar(rewriter, loc, adaptor.getDelta());
    bool isFloat = isa<FloatType>(elementType);

    OpFoldResult count = rewriter.getIndexAttr(
        resultType.isDynamicDim(0) ? 0 : resultType.getDimSize(0));
    if (resultType.isDynamicDim(0))
      count = isFloat ? floatCount(rewriter, loc, start, limit, delta)
                      : intCount(rewriter, loc, start, limit, delta);

    Value result = buildIndexedGeneric(
        rewriter, loc, {count}, elementType, {}, {},
        [&](OpBuilder &b, Location l, ValueRange ivs, ValueRange) -> Value {
          if (isFloat) {
            Value i = b.create<arith::IndexCastOp>(l, b.getI64Type(), ivs[0]);
            Value fi = b.create<arith::SIToFPOp>(l, elementType, i);
            return b.create<arith::AddFOp>(
                l, start, b.create<arith::MulFOp>(l, fi, delta));
          }
          Value i = b.create<arith::IndexCastOp>(l, elementType, ivs[0]);
          return b.create<arith::AddIOp>(l, start,
                                         b.create<arith::MulIOp>(l, i, delta));
        });
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }

  /// max(ceil((limit - start) / delta), 0), in f64 like the ONNX reference.
  static OpFoldResult floatCount(OpBuilder &b, Location loc, Value start,
                                 Value limit, Value delta) {
    Type f64 = b.getF64Type();
    auto wide = [&](Value v) {
      return convertScalar(b, loc, v, f64, false, false);
    };
    Value span = b.create<arith::SubFOp>(loc, wide(limit), wide(start));
    Value steps = b.create<math::CeilOp>(
        loc, b.create<arith::DivFOp>(loc, span, wide(delta)));
    Value clamped =
        b.create<arith::MaximumFOp>(loc, steps, scalarConstant(b, loc, f64, 0));
    Value n = b.create<arith::FPToSIOp>(loc, b.getI64Type(), clamped);
    return b.create<arith::IndexCastOp>(loc, b.getIndexType(), n).getResult();
  }

  /// max(ceil((limit - start) / delta), 0), as (|span| + |delta| - 1) /
  /// |delta| with the span's sign flipped for a negative delta; a 0 delta
  /// (invalid) counts as 1.
  static OpFoldResult intCount(OpBuilder &b, Location loc, Value start,
                               Value limit, Value delta) {
    Type type = start.getType();
    Value zero = scalarConstant(b, loc, type, 0);
    Value one = scalarConstant(b, loc, type, 1);
    Value isZero =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, delta, zero);
    delta = b.create<arith::SelectOp>(loc, isZero, one, delta);
    Value negative =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, delta, zero);
    Value span = b.create<arith::SubIOp>(loc, limit, start);
    auto negate = [&](Value v) {
      return b.create<arith::SelectOp>(
          loc, negative, b.create<arith::SubIOp>(loc, zero, v), v);
    };
    Value magnitude = negate(delta);
    Value numerator = b.create<arith::SubIOp>(
        loc, b.create<arith::AddIOp>(loc, negate(span), magnitude), one);
    Value steps = b.create<arith::DivSIOp>(loc, numerator, magnitude);
    Value clamped = b.create<arith::MaxSIOp>(loc, steps, zero);
    return b.create<arith::IndexCastOp>(loc, b.getIndexType(), clamped)
        .getResult();
  }
};

/// tessel.constant_of_shape -> tensor.empty + linalg.fill.
struct ConstantOfShapeLowering : OpConversionPattern<ConstantOfShapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConstantOfShapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = convertedType(getTypeConverter(), op.getType());
    auto shapeType = rankedType(adaptor.getInput());
    if (!resultType)
      return rewriter.notifyMatchFailure(op, "result is not ranked");
    int64_t rank = resultType.getRank();
    if (!shapeType || shapeType.getRank() != 1 ||
        (!shapeType.isDynamicDim(0) && shapeType.getDimSize(0) != rank))
      return rewriter.notifyMatchFailure(op, "shape length must be the result "
                                             "rank");
    Type elementType = resultType.getElementType();
    TypedAttr value;
    if (auto attr = op.getValueAttr()) {
      auto dense = dyn_cast<DenseElementsAttr>(attr);
      if (!dense || dense.getNumElements() != 1)
        return rewriter.notifyMatchFailure(op, "value is not a one-element "
                                               "dense attribute");
      Attribute element = *dense.getValues<Attribute>().begin();
      if (auto i = dyn_cast<IntegerAttr>(element);
          i && isa<IntegerType>(elementType))
        value = IntegerAttr::get(elementType, i.getValue());
      else if (auto f = dyn_cast<FloatAttr>(element);
               f && f.getType() == elementType)
        value = f;
    } else if (isa<FloatType>(elementType)) {
      value = rewriter.getFloatAttr(elementType, 0.0);
    }
    if (!value)
      return rewriter.notifyMatchFailure(op, "value does not match the result "
                                             "element type");
    SmallVector<OpFoldResult> sizes;
    for (int64_t i = 0; i < rank; ++i)
      sizes.push_back(
          resultType.isDynamicDim(i)
              ? OpFoldResult(extractIndex(rewriter, loc, adaptor.getInput(), i))
              : rewriter.getIndexAttr(resultType.getDimSize(i)));
    Value scalar = rewriter.create<arith::ConstantOp>(loc, value);
    rewriter.replaceOp(op, filledTensor(rewriter, loc, sizes, scalar));
    return success();
  }
};

/// tessel.trilu -> linalg.generic selecting x or 0 by (col - row) vs k.
struct TriluLowering : OpConversionPattern<TriluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TriluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inputType = rankedType(input);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!inputType || !resultType || inputType.getRank() < 2)
      return rewriter.notifyMatchFailure(op, "input must be ranked, rank >= 2");
    int64_t rank = inputType.getRank();
    Value k = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    if (Value kTensor = adaptor.getK()) {
      auto kType = rankedType(kTensor);
      if (!kType || !kType.hasStaticShape() || kType.getNumElements() != 1)
        return rewriter.notifyMatchFailure(op, "k must be a scalar");
      k = rewriter.create<arith::IndexCastOp>(
          loc, rewriter.getIndexType(), extractScalar(rewriter, loc, kTensor));
    }
    bool upper = op.getUpper() != 0;
    Type elementType = resultType.getElementType();
    AffineMap identity =
        AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext());
    Value result = buildIndexedGeneric(
        rewriter, loc, dimsOf(rewriter, loc, input), elementType, input,
        identity,
        [&](OpBuilder &b, Location l, ValueRange ivs,
            ValueRange args) -> Value {
          Value diff = b.create<arith::SubIOp>(l, ivs[rank - 1], ivs[rank - 2]);
          Value keep = b.create<arith::CmpIOp>(
              l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
              diff, k);
          return b.create<arith::SelectOp>(
              l, keep, args[0], scalarConstant(b, l, elementType, 0));
        });
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }
};

} // namespace

void mlir::tessel::populateShapeOpsToLinalgPatterns(
    TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<ShapeLowering, SizeLowering, ReshapeLowering, FlattenLowering,
               SqueezeLowering, UnsqueezeLowering, TransposeLowering,
               ConcatLowering, SplitLowering, SliceLowering, ExpandLowering,
               TileLowering, PadLowering, RangeLowering,
               ConstantOfShapeLowering, TriluLowering>(converter,
                                                       patterns.getContext());
  populateGatherScatterToLinalgPatterns(converter, patterns);
}
