//===- GatherScatterToLinalg.cpp - gathers and scatters -> linalg ---------===//
//
// Gathers are a linalg.generic over the output whose body reads the index,
// wraps a negative one around the indexed dim and reads the data with
// tensor.extract. ScatterND copies the data and then, in an scf.for nest over
// the index tuples, inserts (or combines) one update slice per tuple; the
// tensors are updated in place by one-shot bufferization.
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "dialect/ShapeUtils.h"
#include "dialect/TesselOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {

RankedTensorType rankedType(Value v) {
  return dyn_cast<RankedTensorType>(v.getType());
}

RankedTensorType convertedType(const TypeConverter *converter, Type t) {
  return dyn_cast_or_null<RankedTensorType>(converter->convertType(t));
}

/// tessel.gather -> out[pre, i..., post] =
///   data[pre, wrap(indices[i...]), post].
struct GatherLowering : OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    auto dataType = rankedType(data);
    auto indicesType = rankedType(indices);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!dataType || !indicesType || !resultType || dataType.getRank() == 0)
      return rewriter.notifyMatchFailure(op, "operands or result not ranked");
    int64_t r = dataType.getRank(), q = indicesType.getRank();
    int64_t rank = r + q - 1;
    if (resultType.getRank() != rank)
      return rewriter.notifyMatchFailure(op, "result rank mismatch");
    auto axis = normalizeAxis(op.getAxis(), r);
    if (!axis)
      return rewriter.notifyMatchFailure(op, "axis is out of range");

    SmallVector<OpFoldResult> sizes;
    SmallVector<AffineExpr> indexExprs;
    for (int64_t i = 0; i < *axis; ++i)
      sizes.push_back(dimOf(rewriter, loc, data, i));
    for (int64_t i = 0; i < q; ++i) {
      sizes.push_back(dimOf(rewriter, loc, indices, i));
      indexExprs.push_back(rewriter.getAffineDimExpr(*axis + i));
    }
    for (int64_t i = *axis + 1; i < r; ++i)
      sizes.push_back(dimOf(rewriter, loc, data, i));
    AffineMap indexMap =
        AffineMap::get(rank, 0, indexExprs, rewriter.getContext());
    Value axisDim = dimValue(rewriter, loc, data, *axis);

    Value result = buildIndexedGeneric(
        rewriter, loc, withStaticDims(rewriter, resultType, sizes),
        resultType.getElementType(), indices, indexMap,
        [&](OpBuilder &b, Location l, ValueRange ivs,
            ValueRange args) -> Value {
          SmallVector<Value> coords(ivs.take_front(*axis));
          coords.push_back(wrapNegativeIndex(b, l, args[0], axisDim));
          coords.append(ivs.begin() + *axis + q, ivs.end());
          return b.create<tensor::ExtractOp>(l, data, coords);
        });
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }
};

/// tessel.gather_elements -> out[i] = data[i with i[axis] = indices[i]].
struct GatherElementsLowering : OpConversionPattern<GatherElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    auto dataType = rankedType(data);
    auto indicesType = rankedType(indices);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!dataType || !indicesType || !resultType)
      return rewriter.notifyMatchFailure(op, "operands or result not ranked");
    int64_t rank = dataType.getRank();
    if (indicesType.getRank() != rank || resultType.getRank() != rank ||
        rank == 0)
      return rewriter.notifyMatchFailure(op, "ranks of data, indices and "
                                             "result differ");
    auto axis = normalizeAxis(op.getAxis(), rank);
    if (!axis)
      return rewriter.notifyMatchFailure(op, "axis is out of range");
    Value axisDim = dimValue(rewriter, loc, data, *axis);
    Value result = buildIndexedGeneric(
        rewriter, loc,
        withStaticDims(rewriter, resultType, dimsOf(rewriter, loc, indices)),
        resultType.getElementType(), indices,
        AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext()),
        [&](OpBuilder &b, Location l, ValueRange ivs,
            ValueRange args) -> Value {
          SmallVector<Value> coords(ivs);
          coords[*axis] = wrapNegativeIndex(b, l, args[0], axisDim);
          return b.create<tensor::ExtractOp>(l, data, coords);
        });
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }
};

/// tessel.gather_nd -> out[batch, i..., rest] =
///   data[batch, wrap(indices[batch, i..., 0..k-1]), rest].
struct GatherNDLowering : OpConversionPattern<GatherNDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    auto dataType = rankedType(data);
    auto indicesType = rankedType(indices);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!dataType || !indicesType || !resultType)
      return rewriter.notifyMatchFailure(op, "operands or result not ranked");
    int64_t r = dataType.getRank(), q = indicesType.getRank();
    int64_t batch = op.getBatchDims();
    // The ranks give the index tuple length when the type does not.
    int64_t k = q - 1 + r - batch - resultType.getRank();
    if (q == 0 || (!indicesType.isDynamicDim(q - 1) &&
                   indicesType.getDimSize(q - 1) != k))
      return rewriter.notifyMatchFailure(op, "index tuple length does not "
                                             "match the ranks");
    if (batch < 0 || batch >= std::min(r, q) || k < 1 || batch + k > r)
      return rewriter.notifyMatchFailure(op, "batch_dims, index tuple length "
                                             "and ranks are inconsistent");
    SmallVector<OpFoldResult> sizes;
    for (int64_t i = 0; i < q - 1; ++i)
      sizes.push_back(dimOf(rewriter, loc, indices, i));
    for (int64_t i = batch + k; i < r; ++i)
      sizes.push_back(dimOf(rewriter, loc, data, i));
    SmallVector<Value> indexedDims;
    for (int64_t j = 0; j < k; ++j)
      indexedDims.push_back(dimValue(rewriter, loc, data, batch + j));

    Value result = buildIndexedGeneric(
        rewriter, loc, withStaticDims(rewriter, resultType, sizes),
        resultType.getElementType(), {}, {},
        [&](OpBuilder &b, Location l, ValueRange ivs, ValueRange) -> Value {
          SmallVector<Value> coords(ivs.take_front(batch));
          SmallVector<Value> tuple(ivs.take_front(q - 1));
          tuple.push_back(Value());
          for (int64_t j = 0; j < k; ++j) {
            tuple.back() = b.create<arith::ConstantIndexOp>(l, j);
            Value index = b.create<tensor::ExtractOp>(l, indices, tuple);
            coords.push_back(wrapNegativeIndex(b, l, index, indexedDims[j]));
          }
          coords.append(ivs.begin() + (q - 1), ivs.end());
          return b.create<tensor::ExtractOp>(l, data, coords);
        });
    rewriter.replaceOp(op, castToType(rewriter, loc, result, resultType));
    return success();
  }
};

/// `current` combined with `update` by a ScatterND reduction.
Value combine(OpBuilder &b, Location loc, StringRef reduction, Value current,
              Value update, bool isUnsigned) {
  Type type = current.getType();
  bool isFloat = isa<FloatType>(type);
  bool isBool = type.isInteger(1);
  if (reduction == "add") {
    if (isFloat)
      return b.create<arith::AddFOp>(loc, current, update);
    if (isBool)
      return b.create<arith::OrIOp>(loc, current, update);
    return b.create<arith::AddIOp>(loc, current, update);
  }
  if (reduction == "mul") {
    if (isFloat)
      return b.create<arith::MulFOp>(loc, current, update);
    if (isBool)
      return b.create<arith::AndIOp>(loc, current, update);
    return b.create<arith::MulIOp>(loc, current, update);
  }
  if (reduction == "max") {
    if (isFloat)
      return b.create<arith::MaximumFOp>(loc, current, update);
    if (isBool)
      return b.create<arith::OrIOp>(loc, current, update);
    if (isUnsigned)
      return b.create<arith::MaxUIOp>(loc, current, update);
    return b.create<arith::MaxSIOp>(loc, current, update);
  }
  if (reduction == "min") {
    if (isFloat)
      return b.create<arith::MinimumFOp>(loc, current, update);
    if (isBool)
      return b.create<arith::AndIOp>(loc, current, update);
    if (isUnsigned)
      return b.create<arith::MinUIOp>(loc, current, update);
    return b.create<arith::MinSIOp>(loc, current, update);
  }
  return update;
}

/// tessel.scatter_nd -> linalg.copy of the data, then an scf.for nest over
/// the index tuples writing (or combining) update slices.
struct ScatterNDLowering : OpConversionPattern<ScatterNDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScatterNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = adaptor.getData(), indices = adaptor.getIndices(),
          updates = adaptor.getUpdates();
    auto dataType = rankedType(data);
    auto indicesType = rankedType(indices);
    auto updatesType = rankedType(updates);
    auto resultType = convertedType(getTypeConverter(), op.getType());
    if (!dataType || !indicesType || !updatesType || !resultType)
      return rewriter.notifyMatchFailure(op, "operands or result not ranked");
    int64_t r = dataType.getRank(), q = indicesType.getRank();
    // The ranks give the index tuple length when the type does not.
    int64_t k = q - 1 + r - updatesType.getRank();
    if (q == 0 || (!indicesType.isDynamicDim(q - 1) &&
                   indicesType.getDimSize(q - 1) != k))
      return rewriter.notifyMatchFailure(op, "index tuple length does not "
                                             "match the ranks");
    if (k < 1 || k > r)
      return rewriter.notifyMatchFailure(op, "index tuple length and ranks "
                                             "are inconsistent");
    // updates = indices[:-1] + data[k:]; dims both types know must agree.
    auto agree = [](int64_t a, int64_t b) {
      return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
    };
    for (int64_t i = 0; i < updatesType.getRank(); ++i)
      if (!agree(updatesType.getDimSize(i),
                 i < q - 1 ? indicesType.getDimSize(i)
                           : dataType.getDimSize(i - (q - 1) + k)))
        return rewriter.notifyMatchFailure(op, "updates shape does not match "
                                               "indices and data");
    StringRef reduction = op.getReduction();
    if (!llvm::is_contained(
            ArrayRef<StringRef>{"none", "add", "mul", "max", "min"}, reduction))
      return rewriter.notifyMatchFailure(op, "unknown reduction");
    Type elementType = dataType.getElementType();
    if (reduction != "none" && !elementType.isIntOrFloat())
      return rewriter.notifyMatchFailure(op, "reduction needs numbers");
    bool isUnsigned =
        getElementTypeOrSelf(op.getData().getType()).isUnsignedInteger();

    // The data may be an input or a weight: update a copy of it.
    SmallVector<OpFoldResult> dataSizes = dimsOf(rewriter, loc, data);
    Value init = emptyTensor(rewriter, loc, dataSizes, elementType);
    Value copy = rewriter.create<linalg::CopyOp>(loc, data, init).getResult(0);

    Value zero = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    SmallVector<Value> lbs(q - 1, zero), steps(q - 1, one), ubs;
    for (int64_t i = 0; i < q - 1; ++i)
      ubs.push_back(dimValue(rewriter, loc, indices, i));
    SmallVector<Value> indexedDims;
    for (int64_t j = 0; j < k; ++j)
      indexedDims.push_back(dimValue(rewriter, loc, data, j));

    // The slice one tuple addresses: data[idx..., :...] without the k dims.
    auto sliceType =
        RankedTensorType::get(dataType.getShape().drop_front(k), elementType);
    auto updateSliceType = RankedTensorType::get(
        updatesType.getShape().drop_front(q - 1), elementType);

    scf::LoopNest nest = scf::buildLoopNest(
        rewriter, loc, lbs, ubs, steps, ValueRange{copy},
        [&](OpBuilder &b, Location l, ValueRange ivs,
            ValueRange iterArgs) -> scf::ValueVector {
          Value acc = iterArgs[0];
          SmallVector<Value> position;
          SmallVector<Value> tuple(ivs);
          tuple.push_back(Value());
          for (int64_t j = 0; j < k; ++j) {
            tuple.back() = b.create<arith::ConstantIndexOp>(l, j);
            Value index = b.create<tensor::ExtractOp>(l, indices, tuple);
            position.push_back(wrapNegativeIndex(b, l, index, indexedDims[j]));
          }
          if (k == r) {
            Value update = b.create<tensor::ExtractOp>(l, updates, ivs);
            if (reduction != "none") {
              Value current = b.create<tensor::ExtractOp>(l, acc, position);
              update = combine(b, l, reduction, current, update, isUnsigned);
            }
            return {b.create<tensor::InsertOp>(l, update, acc, position)};
          }
          OpFoldResult zeroAttr = b.getIndexAttr(0),
                       oneAttr = b.getIndexAttr(1);
          SmallVector<OpFoldResult> offsets(getAsOpFoldResult(position));
          offsets.append(r - k, zeroAttr);
          SmallVector<OpFoldResult> sizes(k, oneAttr);
          sizes.append(dataSizes.begin() + k, dataSizes.end());
          SmallVector<OpFoldResult> strides(r, oneAttr);

          SmallVector<OpFoldResult> updateOffsets(getAsOpFoldResult(ivs));
          updateOffsets.append(r - k, zeroAttr);
          SmallVector<OpFoldResult> updateSizes(q - 1, oneAttr);
          for (int64_t i = q - 1; i < updatesType.getRank(); ++i)
            updateSizes.push_back(dimOf(b, l, updates, i));
          SmallVector<OpFoldResult> updateStrides(updatesType.getRank(),
                                                  oneAttr);
          Value update = b.create<tensor::ExtractSliceOp>(
              l, updateSliceType, updates, updateOffsets, updateSizes,
              updateStrides);
          update = castToType(b, l, update, sliceType);
          if (reduction != "none") {
            Value current = b.create<tensor::ExtractSliceOp>(
                l, sliceType, acc, offsets, sizes, strides);
            int64_t rank = sliceType.getRank();
            AffineMap id = b.getMultiDimIdentityMap(rank);
            update = b.create<linalg::GenericOp>(
                          l, TypeRange{sliceType}, update, current,
                          ArrayRef<AffineMap>{id, id},
                          SmallVector<utils::IteratorType>(
                              rank, utils::IteratorType::parallel),
                          [&](OpBuilder &bb, Location bl, ValueRange args) {
                            bb.create<linalg::YieldOp>(
                                bl, combine(bb, bl, reduction, args[1], args[0],
                                            isUnsigned));
                          })
                         .getResult(0);
          }
          return {b.create<tensor::InsertSliceOp>(l, update, acc, offsets,
                                                  sizes, strides)};
        });
    rewriter.replaceOp(
        op, castToType(rewriter, loc, nest.results.front(), resultType));
    return success();
  }
};

} // namespace

void mlir::tessel::populateGatherScatterToLinalgPatterns(
    TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<GatherLowering, GatherElementsLowering, GatherNDLowering,
               ScatterNDLowering>(converter, patterns.getContext());
}
