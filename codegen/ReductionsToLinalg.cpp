//===- ReductionsToLinalg.cpp - reductions and normalisations -> linalg ---===//
//
// A reduction is a linalg.generic with reduction iterators into a filled init
// holding the kept dims; keepdims re-inserts the unit dims with
// tensor.expand_shape. Softmax, log-softmax and the normalisations are short
// chains of such reductions and element-wise generics. Half-precision floats
// are summed (and normalised) in f32 so long rows do not lose their low bits.
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "dialect/ShapeUtils.h"
#include "dialect/TesselOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// Builds a generic's yielded values from its block arguments (inputs first,
/// then outputs).
using GenericBodyBuilder = function_ref<SmallVector<Value>(
    OpBuilder &b, Location loc, ValueRange args)>;

bool isFloat(Type t) { return isa<FloatType>(t); }

/// Unsigned and boolean elements compare as unsigned once signless.
bool comparesUnsigned(Value original) {
  Type t = getElementTypeOrSelf(original.getType());
  return t.isUnsignedInteger() || t.isInteger(1);
}

/// The type sums are accumulated in: f32 for floats narrower than f32.
Type accumulatorType(Type t) {
  if (auto f = dyn_cast<FloatType>(t); f && f.getWidth() < 32)
    return Float32Type::get(t.getContext());
  return t;
}

/// `v` converted between float widths (a no-op when the type is `to`).
Value toType(OpBuilder &b, Location loc, Value v, Type to) {
  if (v.getType() == to)
    return v;
  return convertScalar(b, loc, v, to, /*fromUnsigned=*/false,
                       /*toUnsigned=*/false);
}

/// `v` as a tensor of `type` (a tensor.cast when only the static info
/// differs).
Value castTo(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType() == type)
    return v;
  return b.create<tensor::CastOp>(loc, type, v);
}

Value add(OpBuilder &b, Location loc, Value x, Value y) {
  if (isFloat(x.getType()))
    return b.create<arith::AddFOp>(loc, x, y);
  return b.create<arith::AddIOp>(loc, x, y);
}

Value sub(OpBuilder &b, Location loc, Value x, Value y) {
  return b.create<arith::SubFOp>(loc, x, y);
}

Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  return b.create<arith::MulFOp>(loc, x, y);
}

Value maximum(OpBuilder &b, Location loc, Value x, Value y, bool isUnsigned) {
  if (isFloat(x.getType()))
    return b.create<arith::MaximumFOp>(loc, x, y);
  if (isUnsigned)
    return b.create<arith::MaxUIOp>(loc, x, y);
  return b.create<arith::MaxSIOp>(loc, x, y);
}

Value minimum(OpBuilder &b, Location loc, Value x, Value y, bool isUnsigned) {
  if (isFloat(x.getType()))
    return b.create<arith::MinimumFOp>(loc, x, y);
  if (isUnsigned)
    return b.create<arith::MinUIOp>(loc, x, y);
  return b.create<arith::MinSIOp>(loc, x, y);
}

/// The identity of max (`highest` = false) or min over `type`.
Value extremeOf(OpBuilder &b, Location loc, Type type, bool highest,
                bool isUnsigned) {
  if (isUnsigned && !type.isInteger(1))
    // 0 is the lowest unsigned value, all ones the highest.
    return scalarConstant(b, loc, type, highest ? -1 : 0);
  return extremeConstant(b, loc, type, highest);
}

/// The map over `rank` loop dims reading the dims not in `reduced`.
AffineMap keptDimsMap(int64_t rank, ArrayRef<int64_t> reduced,
                      MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(reduced, d))
      exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// The sizes of the dims of `v` not in `reduced`.
SmallVector<OpFoldResult> keptSizes(OpBuilder &b, Location loc, Value v,
                                    ArrayRef<int64_t> reduced) {
  SmallVector<OpFoldResult> sizes;
  for (auto [d, size] : llvm::enumerate(dimsOf(b, loc, v)))
    if (!llvm::is_contained(reduced, (int64_t)d))
      sizes.push_back(size);
  return sizes;
}

/// A linalg.generic over a rank-`rank` loop nest where the `reduced` loops
/// are reductions; `inputs` and `outputs` are read through `maps` (inputs'
/// first). Returns the results.
SmallVector<Value> buildGeneric(OpBuilder &b, Location loc, int64_t rank,
                                ArrayRef<int64_t> reduced, ValueRange inputs,
                                ValueRange outputs, ArrayRef<AffineMap> maps,
                                GenericBodyBuilder body) {
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  for (int64_t d : reduced)
    iterators[d] = utils::IteratorType::reduction;
  auto generic = b.create<linalg::GenericOp>(
      loc, TypeRange(outputs), inputs, outputs, maps, iterators,
      [&](OpBuilder &bb, Location bl, ValueRange args) {
        bb.create<linalg::YieldOp>(bl, body(bb, bl, args));
      });
  return SmallVector<Value>(generic.getResults());
}

/// An element-wise generic over the dims of `like`-shaped `inputs` (each read
/// through its map) into a fresh tensor of `elementType` shaped like `like`.
Value buildMap(OpBuilder &b, Location loc, Value like, ValueRange inputs,
               ArrayRef<AffineMap> inputMaps, Type elementType,
               function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  int64_t rank = cast<RankedTensorType>(like.getType()).getRank();
  Value init = emptyTensor(b, loc, dimsOf(b, loc, like), elementType);
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(rank));
  return buildGeneric(b, loc, rank, {}, inputs, init, maps,
                      [&](OpBuilder &bb, Location bl, ValueRange args) {
                        return SmallVector<Value>{
                            body(bb, bl, args.drop_back())};
                      })[0];
}

/// Reduces the `reduced` dims of `x` into a tensor of the kept dims, of
/// `accType`, starting from `identity`; `combine(x, acc)` gets `x`'s element
/// as it is (extra `inputs` read through `inputMaps` come after it).
Value reduce(
    OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> reduced,
    Value identity, ValueRange extraInputs, ArrayRef<AffineMap> extraMaps,
    function_ref<Value(OpBuilder &, Location, ValueRange, Value)> combine) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  Value init = filledTensor(b, loc, keptSizes(b, loc, x, reduced), identity);
  SmallVector<Value> inputs{x};
  inputs.append(extraInputs.begin(), extraInputs.end());
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx)};
  maps.append(extraMaps.begin(), extraMaps.end());
  maps.push_back(keptDimsMap(rank, reduced, ctx));
  return buildGeneric(b, loc, rank, reduced, inputs, init, maps,
                      [&](OpBuilder &bb, Location bl, ValueRange args) {
                        return SmallVector<Value>{
                            combine(bb, bl, args.drop_back(), args.back())};
                      })[0];
}

/// The number of elements in the `reduced` dims of `x`, as a scalar of
/// `type` (float or integer).
Value reducedCount(OpBuilder &b, Location loc, Value x,
                   ArrayRef<int64_t> reduced, Type type) {
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t staticCount = 1;
  Value dynamicCount;
  for (int64_t d : reduced) {
    if (!xType.isDynamicDim(d)) {
      staticCount *= xType.getDimSize(d);
      continue;
    }
    Value size = b.create<tensor::DimOp>(loc, x, d);
    dynamicCount =
        dynamicCount ? b.create<arith::MulIOp>(loc, dynamicCount, size) : size;
  }
  if (!dynamicCount)
    return scalarConstant(b, loc, type, (double)staticCount);
  if (staticCount != 1)
    dynamicCount = b.create<arith::MulIOp>(
        loc, dynamicCount, b.create<arith::ConstantIndexOp>(loc, staticCount));
  if (auto intType = dyn_cast<IntegerType>(type))
    return b.create<arith::IndexCastOp>(loc, intType, dynamicCount);
  Value asInt = b.create<arith::IndexCastOp>(loc, b.getI64Type(), dynamicCount);
  return b.create<arith::SIToFPOp>(loc, type, asInt);
}

/// Reassociation grouping the dims of a rank-`rank` shape around the dims not
/// in `unitDims`: each kept dim takes the unit dims after it, the first also
/// those before it. Empty when every dim is a unit dim.
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

/// Re-inserts the unit dims `reduced` into `v`, which holds the other dims of
/// a rank-`rank` shape.
Value insertUnitDims(OpBuilder &b, Location loc, Value v, int64_t rank,
                     ArrayRef<int64_t> reduced) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape;
  SmallVector<OpFoldResult> sizes;
  int64_t next = 0;
  for (int64_t d = 0; d < rank; ++d) {
    if (llvm::is_contained(reduced, d)) {
      shape.push_back(1);
      sizes.push_back(b.getIndexAttr(1));
      continue;
    }
    shape.push_back(type.getDimSize(next));
    sizes.push_back(dimOf(b, loc, v, next++));
  }
  auto expandedType = RankedTensorType::get(shape, type.getElementType());
  return b.create<tensor::ExpandShapeOp>(
      loc, expandedType, v, groupsAroundUnitDims(rank, reduced), sizes);
}

/// The result type of `op` after conversion, if a ranked tensor.
template <typename OpTy>
RankedTensorType convertedResultType(const TypeConverter *converter, OpTy op) {
  return dyn_cast_or_null<RankedTensorType>(
      converter->convertType(op->getResult(0).getType()));
}

/// Resolves an `axis` attribute against `rank`, rejecting duplicates.
FailureOr<SmallVector<int64_t>> resolveAxes(ArrayRef<int64_t> axes,
                                            int64_t rank) {
  SmallVector<int64_t> resolved;
  for (int64_t axis : axes) {
    std::optional<int64_t> a = normalizeAxis(axis, rank);
    if (!a || llvm::is_contained(resolved, *a))
      return failure();
    resolved.push_back(*a);
  }
  llvm::sort(resolved);
  return resolved;
}

//===----------------------------------------------------------------------===//
// reduce_sum / reduce_mean / reduce_max / reduce_min
//===----------------------------------------------------------------------===//

enum class ReduceKind { Sum, Mean, Max, Min };

template <typename OpTy, ReduceKind Kind>
struct ReduceLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = adaptor.getData();
    auto dataType = dyn_cast<RankedTensorType>(data.getType());
    RankedTensorType resultType =
        convertedResultType(this->getTypeConverter(), op);
    if (!dataType || !resultType)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Type element = dataType.getElementType();
    if (resultType.getElementType() != element)
      return rewriter.notifyMatchFailure(op, "result element type differs");
    if (!isa<FloatType, IntegerType>(element))
      return rewriter.notifyMatchFailure(op, "element type is not a number");
    bool isSum = Kind == ReduceKind::Sum || Kind == ReduceKind::Mean;
    if (isSum && element.isInteger(1))
      return rewriter.notifyMatchFailure(op, "sum/mean of booleans");

    int64_t rank = dataType.getRank();
    SmallVector<int64_t> reduced;
    std::optional<ArrayRef<int64_t>> axes = op.getAxes();
    if (axes && !axes->empty()) {
      auto resolved = resolveAxes(*axes, rank);
      if (failed(resolved))
        return rewriter.notifyMatchFailure(op, "axes out of range or repeated");
      reduced = *resolved;
    } else if (!op.getNoopWithEmptyAxes()) {
      reduced = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    }
    // Nothing to reduce (noop_with_empty_axes, or a 0-D input).
    if (reduced.empty()) {
      if (resultType.getRank() != rank)
        return rewriter.notifyMatchFailure(op, "result rank mismatch");
      rewriter.replaceOp(op, castTo(rewriter, loc, data, resultType));
      return success();
    }
    int64_t expectedRank =
        op.getKeepdims() ? rank : rank - (int64_t)reduced.size();
    if (resultType.getRank() != expectedRank)
      return rewriter.notifyMatchFailure(op, "result rank mismatch");

    bool isUnsigned = comparesUnsigned(op.getData());
    Type accType = isSum ? accumulatorType(element) : element;
    Value identity;
    if (isSum)
      identity = scalarConstant(rewriter, loc, accType, 0);
    else
      identity = extremeOf(rewriter, loc, element, Kind == ReduceKind::Min,
                           isUnsigned);
    Value result =
        reduce(rewriter, loc, data, reduced, identity, {}, {},
               [&](OpBuilder &b, Location l, ValueRange x, Value acc) -> Value {
                 if (Kind == ReduceKind::Max)
                   return maximum(b, l, x[0], acc, isUnsigned);
                 if (Kind == ReduceKind::Min)
                   return minimum(b, l, x[0], acc, isUnsigned);
                 return add(b, l, toType(b, l, x[0], accType), acc);
               });

    if (Kind == ReduceKind::Mean || accType != element) {
      Value count;
      if (Kind == ReduceKind::Mean)
        count = reducedCount(rewriter, loc, data, reduced, accType);
      int64_t keptRank = rank - (int64_t)reduced.size();
      result =
          buildMap(rewriter, loc, result, result,
                   rewriter.getMultiDimIdentityMap(keptRank), element,
                   [&](OpBuilder &b, Location l, ValueRange args) -> Value {
                     Value v = args[0];
                     if (count && isFloat(accType))
                       v = b.create<arith::DivFOp>(l, v, count);
                     else if (count && isUnsigned)
                       v = b.create<arith::DivUIOp>(l, v, count);
                     else if (count)
                       v = b.create<arith::DivSIOp>(l, v, count);
                     return toType(b, l, v, element);
                   });
    }
    if (op.getKeepdims())
      result = insertUnitDims(rewriter, loc, result, rank, reduced);
    rewriter.replaceOp(op, castTo(rewriter, loc, result, resultType));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// arg_max
//===----------------------------------------------------------------------===//

/// One generic with two outputs: the running maximum and its index.
struct ArgMaxLowering : OpConversionPattern<ArgMaxOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ArgMaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    Value data = adaptor.getData();
    auto dataType = dyn_cast<RankedTensorType>(data.getType());
    RankedTensorType resultType = convertedResultType(getTypeConverter(), op);
    if (!dataType || !resultType)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Type element = dataType.getElementType();
    if (!isa<FloatType, IntegerType>(element))
      return rewriter.notifyMatchFailure(op, "element type is not a number");
    if (!resultType.getElementType().isInteger(64))
      return rewriter.notifyMatchFailure(op, "result is not i64");
    int64_t rank = dataType.getRank();
    std::optional<int64_t> axis = normalizeAxis(op.getAxis(), rank);
    if (!axis)
      return rewriter.notifyMatchFailure(op, "axis out of range");
    if (resultType.getRank() != (op.getKeepdims() ? rank : rank - 1))
      return rewriter.notifyMatchFailure(op, "result rank mismatch");

    bool isUnsigned = comparesUnsigned(op.getData());
    bool last = op.getSelectLastIndex() != 0;
    SmallVector<int64_t> reduced{*axis};
    SmallVector<OpFoldResult> sizes = keptSizes(rewriter, loc, data, reduced);
    Value bestInit = filledTensor(
        rewriter, loc, sizes,
        extremeOf(rewriter, loc, element, /*highest=*/false, isUnsigned));
    Value indexInit =
        filledTensor(rewriter, loc, sizes,
                     scalarConstant(rewriter, loc, rewriter.getI64Type(), 0));
    AffineMap kept = keptDimsMap(rank, reduced, ctx);
    SmallVector<Value> results = buildGeneric(
        rewriter, loc, rank, reduced, data, ValueRange{bestInit, indexInit},
        {AffineMap::getMultiDimIdentityMap(rank, ctx), kept, kept},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value x = args[0], best = args[1], bestIndex = args[2];
          Value better;
          if (isFloat(element))
            better = b.create<arith::CmpFOp>(
                l, last ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OGT,
                x, best);
          else if (isUnsigned)
            better = b.create<arith::CmpIOp>(
                l, last ? arith::CmpIPredicate::uge : arith::CmpIPredicate::ugt,
                x, best);
          else
            better = b.create<arith::CmpIOp>(
                l, last ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sgt,
                x, best);
          Value index = b.create<arith::IndexCastOp>(
              l, b.getI64Type(), b.create<linalg::IndexOp>(l, *axis));
          return SmallVector<Value>{
              b.create<arith::SelectOp>(l, better, x, best),
              b.create<arith::SelectOp>(l, better, index, bestIndex)};
        });
    Value result = results[1];
    if (op.getKeepdims())
      result = insertUnitDims(rewriter, loc, result, rank, reduced);
    rewriter.replaceOp(op, castTo(rewriter, loc, result, resultType));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// cum_sum
//===----------------------------------------------------------------------===//

/// An scf.for along the axis carrying the running sum of one slice and the
/// result; step p adds slice p of the input to the running sum and stores it
/// (exclusive: the sum before the add) in slice p of the result.
struct CumSumLowering : OpConversionPattern<CumSumOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CumSumOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    RankedTensorType resultType = convertedResultType(getTypeConverter(), op);
    if (!xType || !resultType)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Type element = xType.getElementType();
    if (!isa<FloatType, IntegerType>(element) || element.isInteger(1))
      return rewriter.notifyMatchFailure(op, "element type is not a number");
    auto axisValues = getConstantIntValues(op.getAxis());
    if (!axisValues)
      axisValues = getConstantIntValues(adaptor.getAxis());
    if (!axisValues || axisValues->size() != 1)
      return rewriter.notifyMatchFailure(op, "axis is not a constant scalar");
    int64_t rank = xType.getRank();
    std::optional<int64_t> axis = normalizeAxis((*axisValues)[0], rank);
    if (!axis)
      return rewriter.notifyMatchFailure(op, "axis out of range");
    bool exclusive = op.getExclusive() != 0;
    bool reverse = op.getReverse() != 0;

    SmallVector<OpFoldResult> sizes = dimsOf(rewriter, loc, x);
    SmallVector<OpFoldResult> sliceSizes(sizes);
    sliceSizes[*axis] = rewriter.getIndexAttr(1);
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    Value runningInit = filledTensor(rewriter, loc, sliceSizes,
                                     scalarConstant(rewriter, loc, element, 0));
    Value zero = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    Value length = dimValue(rewriter, loc, x, *axis);
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, getContext());

    // The result starts as a copy of x; step p turns its slice p from x[p]
    // into the (exclusive) sum in place. The generic only has outputs and
    // reads both, so no canonicalisation swaps the slice for a tensor.empty
    // (which would make the insert a strided copy).
    auto loop = rewriter.create<scf::ForOp>(
        loc, zero, length, one, ValueRange{runningInit, x},
        [&](OpBuilder &b, Location l, Value iv, ValueRange iterArgs) {
          Value position = iv;
          if (reverse)
            position = b.create<arith::SubIOp>(
                l, b.create<arith::SubIOp>(l, length, one), iv);
          SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
          offsets[*axis] = position;
          Value slice = b.create<tensor::ExtractSliceOp>(
              l, iterArgs[1], offsets, sliceSizes, strides);
          SmallVector<Value> updated = buildGeneric(
              b, l, rank, {}, {}, ValueRange{iterArgs[0], slice},
              {identity, identity},
              [&](OpBuilder &bb, Location bl, ValueRange args) {
                Value sum = add(bb, bl, args[0], args[1]);
                return SmallVector<Value>{sum, exclusive ? args[0] : sum};
              });
          Value result = b.create<tensor::InsertSliceOp>(
              l, updated[1], iterArgs[1], offsets, sliceSizes, strides);
          b.create<scf::YieldOp>(l, ValueRange{updated[0], result});
        });
    rewriter.replaceOp(op,
                       castTo(rewriter, loc, loop.getResult(1), resultType));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// softmax / log_softmax
//===----------------------------------------------------------------------===//

/// max-reduce, then exp(x - max) and its sum; softmax divides by the sum,
/// log-softmax subtracts its log. A row of -inf gives exp(-inf - -inf) = NaN
/// like ONNX Runtime.
template <typename OpTy, bool IsLog>
struct SoftmaxLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    RankedTensorType resultType =
        convertedResultType(this->getTypeConverter(), op);
    if (!xType || !resultType)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Type element = xType.getElementType();
    if (!isFloat(element) || resultType.getElementType() != element)
      return rewriter.notifyMatchFailure(op, "element type is not float");
    int64_t rank = xType.getRank();
    std::optional<int64_t> axis =
        normalizeAxis(op.getAxis(), std::max<int64_t>(rank, 1));
    if (!axis)
      return rewriter.notifyMatchFailure(op, "axis out of range");
    // A 0-D input is a row of one element.
    if (rank == 0) {
      x = rewriter.create<tensor::ExpandShapeOp>(
          loc, RankedTensorType::get({1}, element), x,
          ArrayRef<ReassociationIndices>{},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
      rank = 1;
    }

    Type accType = accumulatorType(element);
    SmallVector<int64_t> reduced{*axis};
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap kept = keptDimsMap(rank, reduced, ctx);
    Value rowMax = reduce(
        rewriter, loc, x, reduced,
        extremeConstant(rewriter, loc, element, /*highest=*/false), {}, {},
        [](OpBuilder &b, Location l, ValueRange args, Value acc) -> Value {
          return b.create<arith::MaximumFOp>(l, args[0], acc);
        });
    // x - max in the accumulator type.
    auto shifted = [&](OpBuilder &b, Location l, Value v, Value m) {
      return sub(b, l, toType(b, l, v, accType), toType(b, l, m, accType));
    };

    Value result;
    if (IsLog) {
      Value sum = reduce(
          rewriter, loc, x, reduced, scalarConstant(rewriter, loc, accType, 0),
          rowMax, kept,
          [&](OpBuilder &b, Location l, ValueRange args, Value acc) -> Value {
            Value e = b.create<math::ExpOp>(l, shifted(b, l, args[0], args[1]));
            return add(b, l, acc, e);
          });
      result = buildMap(
          rewriter, loc, x, {x, rowMax, sum}, {identity, kept, kept}, element,
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value logSum = b.create<math::LogOp>(l, args[2]);
            return toType(b, l,
                          sub(b, l, shifted(b, l, args[0], args[1]), logSum),
                          element);
          });
    } else {
      Value exps = buildMap(
          rewriter, loc, x, {x, rowMax}, {identity, kept}, accType,
          [&](OpBuilder &b, Location l, ValueRange args) -> Value {
            return b.create<math::ExpOp>(l, shifted(b, l, args[0], args[1]));
          });
      Value sum = reduce(rewriter, loc, exps, reduced,
                         scalarConstant(rewriter, loc, accType, 0), {}, {},
                         [](OpBuilder &b, Location l, ValueRange args,
                            Value acc) { return add(b, l, acc, args[0]); });
      result = buildMap(
          rewriter, loc, x, {exps, sum}, {identity, kept}, element,
          [&](OpBuilder &b, Location l, ValueRange args) {
            return toType(b, l, b.create<arith::DivFOp>(l, args[0], args[1]),
                          element);
          });
    }
    if (xType.getRank() == 0)
      result = rewriter.create<tensor::CollapseShapeOp>(
          loc, result, ArrayRef<ReassociationIndices>{});
    rewriter.replaceOp(op, castTo(rewriter, loc, result, resultType));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// layer_normalization / rms_normalization
//===----------------------------------------------------------------------===//

/// The map reading a `scale`/`bias` operand broadcast onto the trailing dims
/// of a rank-`rank` tensor of type `xType`; failure if a static dim does not
/// broadcast. A dynamic operand dim is read as equal to x's.
FailureOr<AffineMap> trailingBroadcastMap(RankedTensorType xType,
                                          RankedTensorType paramType,
                                          int64_t axis, MLIRContext *ctx) {
  int64_t rank = xType.getRank();
  int64_t offset = rank - paramType.getRank();
  if (offset < axis)
    return failure();
  SmallVector<AffineExpr> exprs;
  for (int64_t k = 0; k < paramType.getRank(); ++k) {
    int64_t p = paramType.getDimSize(k), d = xType.getDimSize(k + offset);
    if (p == 1 && d != 1) {
      exprs.push_back(getAffineConstantExpr(0, ctx));
      continue;
    }
    if (!ShapedType::isDynamic(p) && !ShapedType::isDynamic(d) && p != d)
      return failure();
    exprs.push_back(getAffineDimExpr(k + offset, ctx));
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// Shared by both norms: normalised dims [axis, rank), statistics in f32 for
/// half-precision inputs, `rstd = 1 / sqrt(sum / n + eps)` per row.
struct NormParts {
  Value x;
  RankedTensorType xType;
  int64_t rank, axis;
  SmallVector<int64_t> reduced;
  Type element, accType;
};

FailureOr<NormParts> normParts(Operation *op, Value x, int64_t axisAttr,
                               RankedTensorType resultType,
                               ConversionPatternRewriter &rewriter) {
  auto xType = dyn_cast<RankedTensorType>(x.getType());
  if (!xType || !resultType)
    return rewriter.notifyMatchFailure(op, "unranked operand or result");
  Type element = xType.getElementType();
  if (!isFloat(element) || resultType.getElementType() != element)
    return rewriter.notifyMatchFailure(op, "element type is not float");
  int64_t rank = xType.getRank();
  std::optional<int64_t> axis = normalizeAxis(axisAttr, rank);
  if (!axis)
    return rewriter.notifyMatchFailure(op, "axis out of range");
  NormParts parts{x, xType, rank, *axis, {}, element, accumulatorType(element)};
  parts.reduced = llvm::to_vector(llvm::seq<int64_t>(*axis, rank));
  return parts;
}

/// `1 / sqrt(sum / n + eps)` over the statistics tensor `sum`.
Value reciprocalStd(OpBuilder &b, Location loc, const NormParts &p, Value sum,
                    double epsilon) {
  Value count = reducedCount(b, loc, p.x, p.reduced, p.accType);
  Value eps = scalarConstant(b, loc, p.accType, epsilon);
  int64_t statRank = p.axis;
  return buildMap(b, loc, sum, sum, b.getMultiDimIdentityMap(statRank),
                  p.accType, [&](OpBuilder &bb, Location l, ValueRange args) {
                    Value mean = bb.create<arith::DivFOp>(l, args[0], count);
                    Value var = bb.create<arith::AddFOp>(l, mean, eps);
                    Value stddev = bb.create<math::SqrtOp>(l, var);
                    return bb
                        .create<arith::DivFOp>(
                            l, scalarConstant(bb, l, p.accType, 1), stddev)
                        .getResult();
                  });
}

struct LayerNormLowering : OpConversionPattern<LayerNormalizationOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LayerNormalizationOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    RankedTensorType resultType = convertedResultType(getTypeConverter(), op);
    FailureOr<NormParts> parts =
        normParts(op, adaptor.getX(), op.getAxis(), resultType, rewriter);
    if (failed(parts))
      return failure();
    const NormParts &p = *parts;
    SmallVector<Value> params{adaptor.getScale()};
    if (Value bias = adaptor.getBias())
      params.push_back(bias);
    SmallVector<AffineMap> paramMaps;
    for (Value param : params) {
      auto type = dyn_cast<RankedTensorType>(param.getType());
      if (!type || type.getElementType() != p.element)
        return rewriter.notifyMatchFailure(op, "scale/bias type mismatch");
      FailureOr<AffineMap> map =
          trailingBroadcastMap(p.xType, type, p.axis, ctx);
      if (failed(map))
        return rewriter.notifyMatchFailure(
            op, "scale/bias does not broadcast onto the normalized dims");
      paramMaps.push_back(*map);
    }

    Type acc = p.accType;
    AffineMap identity = AffineMap::getMultiDimIdentityMap(p.rank, ctx);
    AffineMap kept = keptDimsMap(p.rank, p.reduced, ctx);
    Value zero = scalarConstant(rewriter, loc, acc, 0);
    Value sum = reduce(rewriter, loc, p.x, p.reduced, zero, {}, {},
                       [&](OpBuilder &b, Location l, ValueRange args, Value a) {
                         return add(b, l, a, toType(b, l, args[0], acc));
                       });
    Value count = reducedCount(rewriter, loc, p.x, p.reduced, acc);
    Value mean = buildMap(
        rewriter, loc, sum, sum, rewriter.getMultiDimIdentityMap(p.axis), acc,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          return b.create<arith::DivFOp>(l, args[0], count);
        });
    // Two-pass variance: sum((x - mean)^2).
    Value squares =
        reduce(rewriter, loc, p.x, p.reduced, zero, mean, kept,
               [&](OpBuilder &b, Location l, ValueRange args, Value a) {
                 Value d = sub(b, l, toType(b, l, args[0], acc), args[1]);
                 return add(b, l, a, mul(b, l, d, d));
               });
    Value rstd = reciprocalStd(rewriter, loc, p, squares,
                               op.getEpsilon().convertToDouble());

    SmallVector<Value> inputs{p.x, mean, rstd};
    inputs.append(params);
    SmallVector<AffineMap> maps{identity, kept, kept};
    maps.append(paramMaps);
    Value result = buildMap(rewriter, loc, p.x, inputs, maps, p.element,
                            [&](OpBuilder &b, Location l, ValueRange args) {
                              Value centered = sub(
                                  b, l, toType(b, l, args[0], acc), args[1]);
                              Value y = mul(b, l, mul(b, l, centered, args[2]),
                                            toType(b, l, args[3], acc));
                              if (args.size() > 4)
                                y = add(b, l, y, toType(b, l, args[4], acc));
                              return toType(b, l, y, p.element);
                            });
    rewriter.replaceOp(op, castTo(rewriter, loc, result, resultType));
    return success();
  }
};

struct RMSNormLowering : OpConversionPattern<RMSNormalizationOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RMSNormalizationOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    RankedTensorType resultType = convertedResultType(getTypeConverter(), op);
    FailureOr<NormParts> parts =
        normParts(op, adaptor.getX(), op.getAxis(), resultType, rewriter);
    if (failed(parts))
      return failure();
    const NormParts &p = *parts;
    Value scale = adaptor.getScale();
    auto scaleType = dyn_cast<RankedTensorType>(scale.getType());
    if (!scaleType || scaleType.getElementType() != p.element)
      return rewriter.notifyMatchFailure(op, "scale type mismatch");
    FailureOr<AffineMap> scaleMap =
        trailingBroadcastMap(p.xType, scaleType, p.axis, ctx);
    if (failed(scaleMap))
      return rewriter.notifyMatchFailure(
          op, "scale does not broadcast onto the normalized dims");

    Type acc = p.accType;
    AffineMap identity = AffineMap::getMultiDimIdentityMap(p.rank, ctx);
    AffineMap kept = keptDimsMap(p.rank, p.reduced, ctx);
    Value squares = reduce(
        rewriter, loc, p.x, p.reduced, scalarConstant(rewriter, loc, acc, 0),
        {}, {}, [&](OpBuilder &b, Location l, ValueRange args, Value a) {
          Value v = toType(b, l, args[0], acc);
          return add(b, l, a, mul(b, l, v, v));
        });
    Value rstd = reciprocalStd(rewriter, loc, p, squares,
                               op.getEpsilon().convertToDouble());
    Value result = buildMap(
        rewriter, loc, p.x, {p.x, rstd, scale}, {identity, kept, *scaleMap},
        p.element, [&](OpBuilder &b, Location l, ValueRange args) {
          Value y = mul(b, l, toType(b, l, args[0], acc), args[1]);
          y = mul(b, l, y, toType(b, l, args[2], acc));
          return toType(b, l, y, p.element);
        });
    rewriter.replaceOp(op, castTo(rewriter, loc, result, resultType));
    return success();
  }
};

} // namespace

void mlir::tessel::populateReductionsToLinalgPatterns(
    TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<ReduceLowering<ReduceSumOp, ReduceKind::Sum>,
               ReduceLowering<ReduceMeanOp, ReduceKind::Mean>,
               ReduceLowering<ReduceMaxOp, ReduceKind::Max>,
               ReduceLowering<ReduceMinOp, ReduceKind::Min>, ArgMaxLowering,
               CumSumLowering, SoftmaxLowering<SoftmaxOp, /*IsLog=*/false>,
               SoftmaxLowering<LogSoftmaxOp, /*IsLog=*/true>, LayerNormLowering,
               RMSNormLowering>(converter, patterns.getContext());
}
