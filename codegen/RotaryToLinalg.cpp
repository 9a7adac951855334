//===- RotaryToLinalg.cpp - tessel.rotary_embedding -> one linalg.generic -===//
//
// ONNX RotaryEmbedding as a single element-wise loop nest: output element
// (.., d) of a head reads its pair (x1, x2) of x (d and d +- D/2, or 2i and
// 2i + 1 when interleaved) and the caches' cos/sin at (batch, position, i)
// through tensor.extract, and stores cos*x1 - sin*x2 (first of the pair) or
// sin*x1 + cos*x2 (second). Spelled as split / mul / sub / add / concat, it
// was ~12 loop nests (kernels, on the GPU) per rotated tensor, each a pass
// over memory, with a rounding to the model's precision between each.
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "dialect/TesselOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {

struct RotaryEmbeddingLowering : OpConversionPattern<RotaryEmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RotaryEmbeddingOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value x = adaptor.getX();
    Value ids = adaptor.getPositionIds();
    auto type = dyn_cast<RankedTensorType>(x.getType());
    auto resultType = dyn_cast_or_null<RankedTensorType>(
        getTypeConverter()->convertType(op.getType()));
    if (!type || !resultType)
      return rewriter.notifyMatchFailure(op, "x must be ranked");
    int64_t rank = type.getRank();
    if (rank != 3 && rank != 4)
      return rewriter.notifyMatchFailure(op, "x must be 3-D or 4-D");
    int64_t cacheRank = ids ? 2 : 3;
    for (Value cache : {adaptor.getCosCache(), adaptor.getSinCache()}) {
      auto cacheType = dyn_cast<RankedTensorType>(cache.getType());
      if (!cacheType || cacheType.getRank() != cacheRank)
        return rewriter.notifyMatchFailure(
            op, ids ? "with position_ids the caches must be 2-D"
                    : "without position_ids the caches must be 3-D");
      if (!isa<FloatType>(cacheType.getElementType()))
        return rewriter.notifyMatchFailure(op, "the caches must be float");
    }
    if (ids && cast<RankedTensorType>(ids.getType()).getRank() != 2)
      return rewriter.notifyMatchFailure(op, "position_ids must be 2-D");
    int64_t headDim;
    if (rank == 4) {
      headDim = type.getDimSize(3);
    } else {
      int64_t numHeads = op.getNumHeads() ? *op.getNumHeads() : 0;
      if (numHeads <= 0)
        return rewriter.notifyMatchFailure(op, "3-D x needs num_heads");
      int64_t hidden = type.getDimSize(2);
      if (ShapedType::isDynamic(hidden) || hidden % numHeads != 0)
        return rewriter.notifyMatchFailure(
            op, "the hidden size must be static and a multiple of num_heads");
      headDim = hidden / numHeads;
    }
    if (ShapedType::isDynamic(headDim))
      return rewriter.notifyMatchFailure(op, "the head dim must be static");
    int64_t rotDim = op.getRotaryEmbeddingDim();
    if (rotDim == 0)
      rotDim = headDim;
    if (rotDim < 0 || rotDim > headDim || rotDim % 2 != 0)
      return rewriter.notifyMatchFailure(
          op, "rotary_embedding_dim must be even and at most the head dim");
    int64_t half = rotDim / 2;
    for (Value cache : {adaptor.getCosCache(), adaptor.getSinCache()}) {
      int64_t cacheDim =
          cast<RankedTensorType>(cache.getType()).getDimSize(cacheRank - 1);
      if (!ShapedType::isDynamic(cacheDim) && cacheDim < half)
        return rewriter.notifyMatchFailure(
            op, "the caches' last dim is less than rotary_embedding_dim / 2");
    }
    bool interleaved = op.getInterleaved() != 0;
    Type element = type.getElementType();

    Location loc = op.getLoc();
    auto index = [&](OpBuilder &b, int64_t v) -> Value {
      return b.create<arith::ConstantIndexOp>(loc, v);
    };
    // A broadcast dim (size 1) reads its element 0.
    auto broadcastIndex = [&](OpBuilder &b, Value tensor, int64_t dim,
                              Value i) -> Value {
      int64_t size = cast<RankedTensorType>(tensor.getType()).getDimSize(dim);
      if (size == 1)
        return index(b, 0);
      if (!ShapedType::isDynamic(size))
        return i;
      Value isOne = b.create<arith::CmpIOp>(
          loc, arith::CmpIPredicate::eq, dimValue(b, loc, tensor, dim),
          index(b, 1));
      return b.create<arith::SelectOp>(loc, isOne, index(b, 0), i);
    };
    Value cosCache = adaptor.getCosCache(), sinCache = adaptor.getSinCache();

    SmallVector<OpFoldResult> sizes =
        withStaticDims(rewriter, resultType, dimsOf(rewriter, loc, x));
    Value y = buildIndexedGeneric(
        rewriter, loc, sizes, element, {}, {},
        [&](OpBuilder &b, Location, ValueRange iv, ValueRange) -> Value {
          // [B, H, S, D] or [B, S, H*D]: batch, position, the index within
          // the head, and where the head starts along the last dim.
          Value batch = iv[0];
          Value pos = rank == 4 ? iv[2] : iv[1];
          Value last = iv[rank - 1];
          Value d = last, base = index(b, 0);
          if (rank == 3) {
            d = b.create<arith::RemUIOp>(loc, last, index(b, headDim));
            base = b.create<arith::SubIOp>(loc, last, d);
          }
          auto readX = [&](Value within) -> Value {
            SmallVector<Value> at(iv.begin(), iv.end());
            at.back() = b.create<arith::AddIOp>(loc, base, within);
            return b.create<tensor::ExtractOp>(loc, x, at);
          };
          // d past the rotated part: a pass-through; its pair index is
          // clamped to 0 so that every read below stays in bounds.
          Value rotated = b.create<arith::CmpIOp>(
              loc, arith::CmpIPredicate::ult, d, index(b, rotDim));
          Value dr = rotDim < headDim
                         ? b.create<arith::SelectOp>(loc, rotated, d,
                                                     index(b, 0))
                         : d;
          Value i, first, x1, x2;
          if (interleaved) {
            i = b.create<arith::DivUIOp>(loc, dr, index(b, 2));
            Value even = b.create<arith::MulIOp>(loc, i, index(b, 2));
            first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, dr,
                                            even);
            x1 = readX(even);
            x2 = readX(b.create<arith::AddIOp>(loc, even, index(b, 1)));
          } else {
            first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, dr,
                                            index(b, half));
            i = b.create<arith::SelectOp>(
                loc, first, dr,
                b.create<arith::SubIOp>(loc, dr, index(b, half)));
            x1 = readX(i);
            x2 = readX(b.create<arith::AddIOp>(loc, i, index(b, half)));
          }
          // Each cache's row: position_ids[b, s] or (b, s) itself.
          Value id;
          if (ids)
            id = b.create<tensor::ExtractOp>(
                loc, ids,
                ValueRange{broadcastIndex(b, ids, 0, batch),
                           broadcastIndex(b, ids, 1, pos)});
          auto readCache = [&](Value cache) -> Value {
            SmallVector<Value> at;
            if (ids) {
              at.push_back(
                  wrapNegativeIndex(b, loc, id, dimValue(b, loc, cache, 0)));
            } else {
              at.push_back(broadcastIndex(b, cache, 0, batch));
              at.push_back(broadcastIndex(b, cache, 1, pos));
            }
            at.push_back(i);
            Value v = b.create<tensor::ExtractOp>(loc, cache, at);
            return convertScalar(b, loc, v, element, false, false);
          };
          Value c = readCache(cosCache), s = readCache(sinCache);
          Value real = b.create<arith::SubFOp>(
              loc, b.create<arith::MulFOp>(loc, c, x1),
              b.create<arith::MulFOp>(loc, s, x2));
          Value imag = b.create<arith::AddFOp>(
              loc, b.create<arith::MulFOp>(loc, s, x1),
              b.create<arith::MulFOp>(loc, c, x2));
          Value out = b.create<arith::SelectOp>(loc, first, real, imag);
          if (rotDim < headDim)
            out = b.create<arith::SelectOp>(loc, rotated, out, readX(d));
          return out;
        });
    rewriter.replaceOp(op, castToType(rewriter, loc, y, resultType));
    return success();
  }
};

} // namespace

void mlir::tessel::populateRotaryToLinalgPatterns(TypeConverter &converter,
                                                   RewritePatternSet &patterns) {
  patterns.add<RotaryEmbeddingLowering>(converter, patterns.getContext());
}
