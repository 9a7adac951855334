//===- AttentionToLoops.cpp - tiled online-softmax attention --------------===//
//
// A `tessel.attention` with tile sizes becomes a loop nest on tensors: per
// batch, query head and query tile, an inner loop over key/value tiles keeps
// the running row max m, row sum l and the output accumulator acc
// (FlashAttention's online softmax):
//
//   s    = (scale * q_tile) x k_tile^T, softcapped, masked
//   m'   = max(m, rowmax(s))
//   p    = exp(s - m')          a = exp(m - m')
//   l'   = l * a + rowsum(p)    acc' = acc * a + p x v_tile
//   out  = acc / l
//
// so only [tile_q, tile_kv] scores ever exist. The causal / window bounds of
// a query tile become the inner loop's bounds: fully hidden key tiles are
// never visited, and only tiles crossing the mask's edge are masked element
// by element. While a row has seen no unmasked key, m is -inf and the
// exponentials use 0 in its place (exp(-inf) = 0, not exp(-inf - -inf) =
// NaN); a row with no unmasked key at all ends with l = 0 and acc = 0, and
// acc / l = NaN is what the softmax formula gives ("nan"), or 0 ("zero"),
// or the mean of v ("uniform", what a huge finite fill gives), computed
// only for query tiles that have such a row.
//
//===----------------------------------------------------------------------===//

#include "codegen/AttentionLowering.h"
#include "codegen/LoweringUtils.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::tessel {
#define GEN_PASS_DEF_CONVERTTESSELATTENTIONTOLOOPSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

LogicalResult mlir::tessel::planAttentionLowering(AttentionOp op,
                                                  AttentionPlan &plan,
                                                  std::string &reason) {
  auto fail = [&](const Twine &why) {
    reason = why.str();
    return failure();
  };
  auto qType = dyn_cast<RankedTensorType>(op.getQ().getType());
  auto kType = dyn_cast<RankedTensorType>(op.getK().getType());
  auto vType = dyn_cast<RankedTensorType>(op.getV().getType());
  auto yType = dyn_cast<RankedTensorType>(op.getType());
  if (!qType || !kType || !vType || !yType)
    return fail("q, k, v and the result must be ranked");
  int64_t rank = qType.getRank();
  if ((rank != 3 && rank != 4) || kType.getRank() != rank ||
      vType.getRank() != rank)
    return fail("q, k and v must all be 3-D or all 4-D");
  plan.threeD = rank == 3;
  plan.element = qType.getElementType();
  if (kType.getElementType() != plan.element ||
      vType.getElementType() != plan.element)
    return fail("q, k and v element types differ");
  auto floatType = dyn_cast<FloatType>(plan.element);
  if (!floatType)
    return fail("q, k and v must be floats");
  plan.accumulator = floatType.getWidth() < 32
                         ? Float32Type::get(op.getContext())
                         : plan.element;

  if (plan.threeD) {
    if (!op.getQNumHeads() || !op.getKvNumHeads())
      return fail("3-D q/k/v need q_num_heads and kv_num_heads");
    plan.qHeads = (int64_t)*op.getQNumHeads();
    plan.kvHeads = (int64_t)*op.getKvNumHeads();
    if (plan.qHeads <= 0 || plan.kvHeads <= 0)
      return fail("head counts must be positive");
    int64_t qHidden = qType.getDimSize(2), kHidden = kType.getDimSize(2),
            vHidden = vType.getDimSize(2);
    if (ShapedType::isDynamic(qHidden) || ShapedType::isDynamic(vHidden))
      return fail("3-D q and v need static hidden sizes");
    if (qHidden % plan.qHeads != 0 || vHidden % plan.kvHeads != 0)
      return fail("hidden sizes must be multiples of the head counts");
    plan.headDim = qHidden / plan.qHeads;
    plan.vHeadDim = vHidden / plan.kvHeads;
    if (!ShapedType::isDynamic(kHidden) &&
        kHidden != plan.kvHeads * plan.headDim)
      return fail("k's hidden size is not kv_num_heads x the head dim");
  } else {
    plan.qHeads = qType.getDimSize(1);
    plan.kvHeads = kType.getDimSize(1);
    if (ShapedType::isDynamic(plan.qHeads) ||
        ShapedType::isDynamic(plan.kvHeads))
      return fail("head counts must be static");
    if (!vType.isDynamicDim(1) && vType.getDimSize(1) != plan.kvHeads)
      return fail("k and v head counts differ");
    plan.headDim = qType.getDimSize(3);
    plan.vHeadDim = vType.getDimSize(3);
    if (ShapedType::isDynamic(plan.headDim) ||
        ShapedType::isDynamic(plan.vHeadDim))
      return fail("head dims must be static");
    if (!kType.isDynamicDim(3) && kType.getDimSize(3) != plan.headDim)
      return fail("q and k head dims differ");
  }
  if (plan.kvHeads <= 0 || plan.qHeads % plan.kvHeads != 0)
    return fail("q heads must be a multiple of kv heads");
  if (plan.headDim <= 0 || plan.vHeadDim <= 0)
    return fail("head dims must be positive");

  if (Value mask = op.getMask()) {
    auto maskType = dyn_cast<RankedTensorType>(mask.getType());
    if (!maskType)
      return fail("the mask must be ranked");
    if (maskType.getRank() < 1 || maskType.getRank() > 4)
      return fail("the mask must have rank 1 to 4");
    Type maskElement = maskType.getElementType();
    if (!maskElement.isInteger(1) && !isa<FloatType>(maskElement))
      return fail("the mask must be bool or float");
    int64_t maskKeys = maskType.getShape().back();
    int64_t keys = kType.getDimSize(rank - 2);
    if (!ShapedType::isDynamic(maskKeys) && !ShapedType::isDynamic(keys) &&
        maskKeys > keys)
      return fail("the mask is longer than the keys");
  }
  plan.scale = op.getScale() ? op.getScale()->convertToDouble()
                             : 1.0 / std::sqrt((double)plan.headDim);
  return success();
}

namespace {

using utils::IteratorType;

/// Builds the loop nest of one attention op. Region bodies are built with
/// `b` itself (scf.for / scf.if hand their body callbacks the builder they
/// were created with, positioned in the body).
class AttentionLoopBuilder {
public:
  AttentionLoopBuilder(OpBuilder &b, Location loc, AttentionOp op,
                       const AttentionPlan &plan, int64_t tileQ, int64_t tileKv)
      : b(b), loc(loc), op(op), plan(plan), tileQ(tileQ), tileKv(tileKv) {}

  Value build();

private:
  //===--- index arithmetic ----------------------------------------------===//
  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value add(Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubIOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulIOp>(loc, x, y); }
  Value min(Value x, Value y) { return b.create<arith::MinSIOp>(loc, x, y); }
  Value max(Value x, Value y) { return b.create<arith::MaxSIOp>(loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return b.create<arith::CmpIOp>(loc, p, x, y);
  }

  //===--- tensors -------------------------------------------------------===//
  Value fill(ArrayRef<OpFoldResult> sizes, Type type, double value) {
    return filledTensor(b, loc, sizes, scalarConstant(b, loc, type, value));
  }
  Value minusInf(OpBuilder &bb, Type type) {
    return extremeConstant(bb, loc, type, /*highest=*/false);
  }
  /// A linalg.generic over `numLoops` loops (those in `reduced` are
  /// reductions); `body` yields one value per output.
  SmallVector<Value>
  generic(ValueRange inputs, ValueRange outputs, ArrayRef<AffineMap> maps,
          int64_t numLoops, ArrayRef<int64_t> reduced,
          function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)>
              body) {
    SmallVector<IteratorType> iterators(numLoops, IteratorType::parallel);
    for (int64_t d : reduced)
      iterators[d] = IteratorType::reduction;
    auto g = b.create<linalg::GenericOp>(
        loc, TypeRange(outputs), inputs, outputs, maps, iterators,
        [&](OpBuilder &bb, Location bl, ValueRange args) {
          bb.create<linalg::YieldOp>(bl, body(bb, bl, args));
        });
    return SmallVector<Value>(g.getResults());
  }
  AffineMap identity(int64_t n) { return b.getMultiDimIdentityMap(n); }
  /// (i, j) -> (i): a per-row value of a tile.
  AffineMap rows() {
    return AffineMap::get(2, 0, b.getAffineDimExpr(0), b.getContext());
  }
  Value toAccumulator(OpBuilder &bb, Location l, Value x) {
    if (x.getType() == plan.accumulator)
      return x;
    return bb.create<arith::ExtFOp>(l, plan.accumulator, x);
  }

  /// The [rows, dim] slice of head `head` of batch `batch` of `x`, rows
  /// `row0` on.
  Value headRows(Value x, Value batch, Value head, Value row0,
                 OpFoldResult rows, int64_t dim);
  /// `headRows` converted to the accumulator type (a view when it is
  /// already).
  Value headRowsForCompute(Value x, Value batch, Value head, Value row0,
                           OpFoldResult rows, int64_t dim);
  /// The size of the tile at `start` of a loop up to `end` with step `tile`:
  /// static when every tile is full.
  OpFoldResult tileSize(Value start, Value end, int64_t tile, bool allFull) {
    if (allFull)
      return b.getIndexAttr(tile);
    return min(index(tile), sub(end, start));
  }
  int64_t staticOf(OpFoldResult size) {
    return getConstantIntValue(size).value_or(ShapedType::kDynamic);
  }

  /// Mask indexing, computed once before the loops.
  void prepareMask();
  /// `s` with softcap and the mask applied (query tile at `i0`, key tile at
  /// `j0`); `maskBatch` / `maskHead` index the mask's batch/head dims.
  Value applySoftcapAndMask(Value s, Value i0, Value j0, Value maskBatch,
                            Value maskHead);
  /// `s` with the causal / window bounds applied element-wise.
  Value applyBounds(Value s, Value i0, Value j0);

  /// The online-softmax update of rows of scores `s` ([tq, tk]) with the
  /// running max `m` and sum `l`: returns (p in place of s, m', l', a).
  SmallVector<Value> onlineSoftmaxRows(Value s, Value m, Value l,
                                       OpFoldResult tq, OpFoldResult tk);
  /// One key/value tile step: returns the new (m, l, acc).
  SmallVector<Value> kvStep(Value qs, ValueRange state, Value i0,
                            OpFoldResult tq, Value j0, OpFoldResult tk,
                            Value batch, Value kvHead, Value maskBatch,
                            Value maskHead);
  /// The output tile of one query tile.
  Value queryTile(Value batch, Value head, Value i0, OpFoldResult tq);
  /// For "uniform" rows: the mean of v over every key ([vHeadDim]), computed
  /// only when some row of `l` ([tq]) saw no key (zeros otherwise).
  Value meanOfValuesIfNeeded(Value l, OpFoldResult tq, Value batch,
                             Value kvHead);

  OpBuilder &b;
  Location loc;
  AttentionOp op;
  const AttentionPlan &plan;
  int64_t tileQ, tileKv;

  // Problem sizes and bounds (index values).
  Value seqQ, seqKv, offset; // offset = seqKv - seqQ
  int64_t left = -1, right = -1;
  bool kvTilesAllFull = false;

  // The mask, right-aligned to [B, Hq, Sq, Skv]: the dims it has, and per
  // dim whether it broadcasts (an i1 value, or null when it never does).
  Value mask;
  int64_t maskRank = 0;
  Value maskBroadcast[4];
  Value maskKeys; // the mask's key dim, when it may be padded
  bool maskPadded = false;
};

Value AttentionLoopBuilder::headRows(Value x, Value batch, Value head,
                                     Value row0, OpFoldResult rows,
                                     int64_t dim) {
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  SmallVector<OpFoldResult> offsets, sizes;
  if (plan.threeD) {
    offsets = {batch, row0, mul(head, index(dim))};
    sizes = {one, rows, b.getIndexAttr(dim)};
  } else {
    offsets = {batch, head, row0, zero};
    sizes = {one, one, rows, b.getIndexAttr(dim)};
  }
  SmallVector<OpFoldResult> strides(sizes.size(), one);
  auto type = RankedTensorType::get(
      {staticOf(rows), dim},
      cast<RankedTensorType>(x.getType()).getElementType());
  return b.create<tensor::ExtractSliceOp>(loc, type, x, offsets, sizes,
                                          strides);
}

Value AttentionLoopBuilder::headRowsForCompute(Value x, Value batch, Value head,
                                               Value row0, OpFoldResult rows,
                                               int64_t dim) {
  Value slice = headRows(x, batch, head, row0, rows, dim);
  if (plan.element == plan.accumulator)
    return slice;
  Value init =
      emptyTensor(b, loc, {rows, b.getIndexAttr(dim)}, plan.accumulator);
  return generic(slice, init, {identity(2), identity(2)}, 2, {},
                 [&](OpBuilder &bb, Location l, ValueRange args) {
                   return SmallVector<Value>{toAccumulator(bb, l, args[0])};
                 })[0];
}

void AttentionLoopBuilder::prepareMask() {
  mask = op.getMask();
  if (!mask)
    return;
  auto type = cast<RankedTensorType>(mask.getType());
  maskRank = type.getRank();
  for (int64_t d = 0; d < maskRank; ++d) {
    int64_t p = d + 4 - maskRank;
    if (p == 3)
      continue;
    if (type.isDynamicDim(d)) {
      Value size = b.create<tensor::DimOp>(loc, mask, d);
      maskBroadcast[p] = cmp(arith::CmpIPredicate::eq, size, index(1));
    } else if (type.getDimSize(d) == 1) {
      maskBroadcast[p] = b.create<arith::ConstantIntOp>(loc, 1, 1);
    }
  }
  // ONNX pads a mask shorter than the keys with false / -inf. A static key
  // dim shorter than static keys is padded (even a 1, as the expansion
  // does); otherwise a 1 broadcasts and anything shorter is padded.
  int64_t keys = type.getShape().back();
  auto kType = cast<RankedTensorType>(op.getK().getType());
  int64_t seqKvStatic = kType.getDimSize(kType.getRank() - 2);
  if (!ShapedType::isDynamic(keys) && !ShapedType::isDynamic(seqKvStatic)) {
    maskPadded = keys < seqKvStatic;
    if (maskPadded)
      maskKeys = index(keys);
    return;
  }
  maskKeys = dimValue(b, loc, mask, maskRank - 1);
  maskBroadcast[3] = cmp(arith::CmpIPredicate::eq, maskKeys, index(1));
  maskPadded = true;
}

/// The lowest finite value of the float type `type`.
static Value lowestFinite(OpBuilder &b, Location loc, Type type) {
  auto floatType = cast<FloatType>(type);
  return b.create<arith::ConstantOp>(
      loc, b.getFloatAttr(floatType,
                          APFloat::getLargest(floatType.getFloatSemantics(),
                                              /*Negative=*/true)));
}

Value AttentionLoopBuilder::applySoftcapAndMask(Value s, Value i0, Value j0,
                                                Value maskBatch,
                                                Value maskHead) {
  double softcap = op.getSoftcap().convertToDouble();
  if (softcap <= 0 && !mask)
    return s;
  Type acc = plan.accumulator;
  return generic(
      {}, s, {identity(2)}, 2, {},
      [&](OpBuilder &bb, Location l, ValueRange args) {
        Value x = args[0];
        if (softcap > 0) {
          Value cap = scalarConstant(bb, l, acc, softcap);
          Value t =
              bb.create<math::TanhOp>(l, bb.create<arith::DivFOp>(l, x, cap));
          x = bb.create<arith::MulFOp>(l, t, cap);
        }
        if (!mask)
          return SmallVector<Value>{x};
        Value zero = bb.create<arith::ConstantIndexOp>(l, 0);
        Value row =
            bb.create<arith::AddIOp>(l, i0, bb.create<linalg::IndexOp>(l, 0));
        Value col =
            bb.create<arith::AddIOp>(l, j0, bb.create<linalg::IndexOp>(l, 1));
        Value valid;
        if (maskPadded) {
          // Keys past the mask's end are masked; their index is clamped to stay
          // in bounds.
          valid = bb.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, col,
                                           maskKeys);
          Value last = bb.create<arith::SubIOp>(
              l, maskKeys, bb.create<arith::ConstantIndexOp>(l, 1));
          col = bb.create<arith::MinSIOp>(l, col, last);
        }
        auto broadcastOr = [&](int64_t p, Value i) -> Value {
          if (!maskBroadcast[p])
            return i;
          return bb.create<arith::SelectOp>(l, maskBroadcast[p], zero, i);
        };
        if (maskBroadcast[3] && valid)
          valid = bb.create<arith::OrIOp>(l, valid, maskBroadcast[3]);
        Value all[4] = {broadcastOr(0, maskBatch), broadcastOr(1, maskHead),
                        broadcastOr(2, row), broadcastOr(3, col)};
        SmallVector<Value> indices(std::begin(all) + (4 - maskRank),
                                   std::end(all));
        Value m = bb.create<tensor::ExtractOp>(l, mask, indices);
        Value ninf = minusInf(bb, acc);
        if (m.getType().isInteger(1)) {
          Value keep = valid ? bb.create<arith::AndIOp>(l, m, valid) : m;
          x = bb.create<arith::SelectOp>(l, keep, x, ninf);
        } else {
          x = bb.create<arith::AddFOp>(l, x, toAccumulator(bb, l, m));
          // "uniform": a score pushed to the lowest float by a huge fill is
          // masked (the row's final result says what a row of them gives).
          if (op.getFullyMaskedRows() == "uniform")
            x = bb.create<arith::SelectOp>(
                l,
                bb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OLE, x,
                                         lowestFinite(bb, l, acc)),
                ninf, x);
          if (valid)
            x = bb.create<arith::SelectOp>(l, valid, x, ninf);
        }
        return SmallVector<Value>{x};
      })[0];
}

Value AttentionLoopBuilder::applyBounds(Value s, Value i0, Value j0) {
  return generic(
      {}, s, {identity(2)}, 2, {},
      [&](OpBuilder &bb, Location l, ValueRange args) {
        // Query i is aligned to key i + offset.
        Value aligned =
            bb.create<arith::AddIOp>(l, bb.create<arith::AddIOp>(l, i0, offset),
                                     bb.create<linalg::IndexOp>(l, 0));
        Value col =
            bb.create<arith::AddIOp>(l, j0, bb.create<linalg::IndexOp>(l, 1));
        Value allowed;
        auto both = [&](Value c) {
          allowed = allowed ? bb.create<arith::AndIOp>(l, allowed, c) : c;
        };
        if (right >= 0) {
          Value last = bb.create<arith::AddIOp>(
              l, aligned, bb.create<arith::ConstantIndexOp>(l, right));
          both(bb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sle, col,
                                        last));
        }
        if (left >= 0) {
          Value first = bb.create<arith::SubIOp>(
              l, aligned, bb.create<arith::ConstantIndexOp>(l, left));
          both(bb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge, col,
                                        first));
        }
        Value x = bb.create<arith::SelectOp>(l, allowed, args[0],
                                             minusInf(bb, plan.accumulator));
        return SmallVector<Value>{x};
      })[0];
}

SmallVector<Value> AttentionLoopBuilder::onlineSoftmaxRows(Value s, Value m,
                                                           Value l,
                                                           OpFoldResult tq,
                                                           OpFoldResult tk) {
  Type acc = plan.accumulator;
  // Sums may be reassociated: LLVM then vectorises them (partial sums).
  auto reassoc = arith::FastMathFlagsAttr::get(b.getContext(),
                                               arith::FastMathFlags::reassoc);
  Value zero = index(0), one = index(1);
  Value rowsEnd = getValueOrCreateConstantIndexOp(b, loc, tq);
  Value colsEnd = getValueOrCreateConstantIndexOp(b, loc, tk);
  Value ninf = minusInf(b, acc), fzero = scalarConstant(b, loc, acc, 0.0);
  Value alpha0 = emptyTensor(b, loc, {tq}, acc);
  auto rowsLoop = b.create<scf::ForOp>(
      loc, zero, rowsEnd, one, ValueRange{s, m, l, alpha0},
      [&](OpBuilder &rb, Location rl, Value i, ValueRange state) {
        Value sT = state[0];
        Value mOld = rb.create<tensor::ExtractOp>(rl, state[1], i);
        Value lOld = rb.create<tensor::ExtractOp>(rl, state[2], i);
        auto rowMax = rb.create<scf::ForOp>(
            rl, zero, colsEnd, one, ValueRange{ninf},
            [&](OpBuilder &cb, Location cl, Value j, ValueRange r) {
              Value x = cb.create<tensor::ExtractOp>(cl, sT, ValueRange{i, j});
              cb.create<scf::YieldOp>(
                  cl, ValueRange{
                          cb.create<arith::MaximumFOp>(cl, r[0], x, reassoc)});
            });
        Value mNew =
            rb.create<arith::MaximumFOp>(rl, mOld, rowMax.getResult(0));
        // While the row has seen no key, m' is -inf: shift by 0 instead
        // (exp(-inf - 0) = 0) so nothing becomes NaN.
        Value isNegInf =
            rb.create<arith::CmpFOp>(rl, arith::CmpFPredicate::OEQ, mNew, ninf);
        Value shift = rb.create<arith::SelectOp>(rl, isNegInf, fzero, mNew);
        Value alpha = rb.create<math::ExpOp>(
            rl, rb.create<arith::SubFOp>(rl, mOld, shift));
        auto expSum = rb.create<scf::ForOp>(
            rl, zero, colsEnd, one, ValueRange{sT, fzero},
            [&](OpBuilder &cb, Location cl, Value j, ValueRange r) {
              Value x =
                  cb.create<tensor::ExtractOp>(cl, r[0], ValueRange{i, j});
              Value e = cb.create<math::ExpOp>(
                  cl, cb.create<arith::SubFOp>(cl, x, shift));
              Value pT =
                  cb.create<tensor::InsertOp>(cl, e, r[0], ValueRange{i, j});
              Value sum = cb.create<arith::AddFOp>(cl, r[1], e, reassoc);
              cb.create<scf::YieldOp>(cl, ValueRange{pT, sum});
            });
        Value lNew = rb.create<arith::AddFOp>(
            rl, rb.create<arith::MulFOp>(rl, lOld, alpha), expSum.getResult(1));
        Value mT = rb.create<tensor::InsertOp>(rl, mNew, state[1], i);
        Value lT = rb.create<tensor::InsertOp>(rl, lNew, state[2], i);
        Value aT = rb.create<tensor::InsertOp>(rl, alpha, state[3], i);
        rb.create<scf::YieldOp>(rl,
                                ValueRange{expSum.getResult(0), mT, lT, aT});
      });
  return SmallVector<Value>(rowsLoop.getResults());
}

SmallVector<Value> AttentionLoopBuilder::kvStep(Value qs, ValueRange state,
                                                Value i0, OpFoldResult tq,
                                                Value j0, OpFoldResult tk,
                                                Value batch, Value kvHead,
                                                Value maskBatch,
                                                Value maskHead) {
  Type acc = plan.accumulator;
  Value m = state[0], l = state[1], out = state[2];
  Value k = headRowsForCompute(op.getK(), batch, kvHead, j0, tk, plan.headDim);
  Value v = headRowsForCompute(op.getV(), batch, kvHead, j0, tk, plan.vHeadDim);

  // s = (scale * q) x k^T, then softcap and mask.
  Value s0 = fill({tq, tk}, acc, 0.0);
  Value s =
      b.create<linalg::MatmulTransposeBOp>(loc, TypeRange{s0.getType()},
                                           ValueRange{qs, k}, ValueRange{s0})
          .getResult(0);
  s = applySoftcapAndMask(s, i0, j0, maskBatch, maskHead);

  // Only tiles crossing the causal / window edge need the bounds per
  // element: the last key of the tile is past the first row's right bound,
  // or its first key before the last row's left bound.
  if (right >= 0 || left >= 0) {
    Value crosses;
    Value firstRow = add(i0, offset);
    auto orWith = [&](Value c) {
      crosses = crosses ? b.create<arith::OrIOp>(loc, crosses, c) : c;
    };
    if (right >= 0)
      orWith(cmp(arith::CmpIPredicate::sgt,
                 add(j0, getValueOrCreateConstantIndexOp(b, loc, tk)),
                 add(firstRow, index(right + 1))));
    if (left >= 0)
      orWith(cmp(arith::CmpIPredicate::slt, j0,
                 sub(add(firstRow, getValueOrCreateConstantIndexOp(b, loc, tq)),
                     index(left + 1))));
    auto ifOp = b.create<scf::IfOp>(
        loc, crosses,
        [&](OpBuilder &bb, Location l) {
          bb.create<scf::YieldOp>(l, applyBounds(s, i0, j0));
        },
        [&](OpBuilder &bb, Location l) { bb.create<scf::YieldOp>(l, s); });
    s = ifOp.getResult(0);
  }

  // Per row: m', a, p (in place of s) and l'.
  SmallVector<Value> stats = onlineSoftmaxRows(s, m, l, tq, tk);
  Value p = stats[0], mNew = stats[1], lNew = stats[2], alpha = stats[3];

  // acc' = acc * a + p x v.
  Value outScaled =
      generic(alpha, out, {rows(), identity(2)}, 2, {},
              [&](OpBuilder &bb, Location loc2, ValueRange args) {
                return SmallVector<Value>{
                    bb.create<arith::MulFOp>(loc2, args[1], args[0])};
              })[0];
  Value outNew =
      b.create<linalg::MatmulOp>(loc, TypeRange{out.getType()},
                                 ValueRange{p, v}, ValueRange{outScaled})
          .getResult(0);
  return {mNew, lNew, outNew};
}

Value AttentionLoopBuilder::meanOfValuesIfNeeded(Value l, OpFoldResult tq,
                                                  Value batch, Value kvHead) {
  Type acc = plan.accumulator;
  OpFoldResult dim = b.getIndexAttr(plan.vHeadDim);
  // any(l == 0) over the tile's rows.
  Value noneInit = filledTensor(b, loc, {},
                                b.create<arith::ConstantIntOp>(loc, 0, 1));
  Value anyEmpty =
      generic(l, noneInit,
              {b.getMultiDimIdentityMap(1), AffineMap::get(1, 0, {},
                                                           b.getContext())},
              1, {0},
              [&](OpBuilder &bb, Location l2, ValueRange args) {
                Value empty = bb.create<arith::CmpFOp>(
                    l2, arith::CmpFPredicate::OEQ, args[0],
                    scalarConstant(bb, l2, acc, 0.0));
                return SmallVector<Value>{
                    bb.create<arith::OrIOp>(l2, args[1], empty)};
              })[0];
  Value flag = b.create<tensor::ExtractOp>(loc, anyEmpty, ValueRange{});
  auto ifOp = b.create<scf::IfOp>(
      loc, flag,
      [&](OpBuilder &, Location) {
        Value v = headRowsForCompute(op.getV(), batch, kvHead, index(0),
                                     getAsOpFoldResult(seqKv), plan.vHeadDim);
        Value sum = generic(
            v, fill({dim}, acc, 0.0),
            {identity(2), AffineMap::get(2, 0, b.getAffineDimExpr(1),
                                         b.getContext())},
            2, {0}, [&](OpBuilder &bb, Location l2, ValueRange args) {
              return SmallVector<Value>{
                  bb.create<arith::AddFOp>(l2, args[1], args[0])};
            })[0];
        Value count = b.create<arith::UIToFPOp>(
            loc, acc,
            b.create<arith::IndexCastOp>(loc, b.getI64Type(), seqKv));
        Value mean = generic(
            sum, emptyTensor(b, loc, {dim}, acc),
            {b.getMultiDimIdentityMap(1), b.getMultiDimIdentityMap(1)}, 1, {},
            [&](OpBuilder &bb, Location l2, ValueRange args) {
              return SmallVector<Value>{
                  bb.create<arith::DivFOp>(l2, args[0], count)};
            })[0];
        b.create<scf::YieldOp>(loc, mean);
      },
      [&](OpBuilder &, Location) {
        b.create<scf::YieldOp>(loc, fill({dim}, acc, 0.0));
      });
  return ifOp.getResult(0);
}

Value AttentionLoopBuilder::queryTile(Value batch, Value head, Value i0,
                                      OpFoldResult tq) {
  Type acc = plan.accumulator;
  int64_t group = plan.qHeads / plan.kvHeads;
  Value kvHead =
      group == 1 ? head : b.create<arith::DivUIOp>(loc, head, index(group));
  Value maskBatch = batch, maskHead = head;

  // scale * q, in the accumulator type.
  Value q = headRows(op.getQ(), batch, head, i0, tq, plan.headDim);
  Value qs =
      generic(q, emptyTensor(b, loc, {tq, b.getIndexAttr(plan.headDim)}, acc),
              {identity(2), identity(2)}, 2, {},
              [&](OpBuilder &bb, Location l, ValueRange args) {
                Value x = toAccumulator(bb, l, args[0]);
                if (plan.scale != 1.0)
                  x = bb.create<arith::MulFOp>(
                      l, x, scalarConstant(bb, l, acc, plan.scale));
                return SmallVector<Value>{x};
              })[0];

  // The keys this query tile may see: [lo, hi).
  Value lo = index(0), hi = seqKv;
  Value tqValue = getValueOrCreateConstantIndexOp(b, loc, tq);
  if (left >= 0)
    lo = max(lo, sub(add(i0, offset), index(left)));
  if (right >= 0)
    hi = min(hi, add(add(add(i0, tqValue), offset), index(right)));

  SmallVector<Value> init = {
      fill({tq}, acc, -INFINITY), fill({tq}, acc, 0.0),
      fill({tq, b.getIndexAttr(plan.vHeadDim)}, acc, 0.0)};
  auto kvLoop = b.create<scf::ForOp>(
      loc, lo, hi, index(tileKv), init,
      [&](OpBuilder &bb, Location l, Value j0, ValueRange state) {
        OpFoldResult tk = tileSize(j0, hi, tileKv, kvTilesAllFull);
        SmallVector<Value> next = kvStep(qs, state, i0, tq, j0, tk, batch,
                                         kvHead, maskBatch, maskHead);
        b.create<scf::YieldOp>(loc, next);
      });
  Value l = kvLoop.getResult(1), out = kvLoop.getResult(2);

  // out / l: NaN (0 / 0), 0 or the mean of v for rows that saw no key.
  bool zeroRows = op.getFullyMaskedRows() == "zero";
  bool uniformRows = op.getFullyMaskedRows() == "uniform";
  SmallVector<Value> finalInputs = {out, l};
  SmallVector<AffineMap> finalMaps = {identity(2), rows()};
  if (uniformRows) {
    finalInputs.push_back(meanOfValuesIfNeeded(l, tq, batch, kvHead));
    finalMaps.push_back(AffineMap::get(2, 0, b.getAffineDimExpr(1),
                                       b.getContext()));
  }
  finalMaps.push_back(identity(2));
  Value init2 =
      emptyTensor(b, loc, {tq, b.getIndexAttr(plan.vHeadDim)}, plan.element);
  return generic(finalInputs, init2, finalMaps, 2, {},
                 [&](OpBuilder &bb, Location loc2, ValueRange args) {
                   Value y = bb.create<arith::DivFOp>(loc2, args[0], args[1]);
                   if (zeroRows || uniformRows) {
                     Value zero = scalarConstant(bb, loc2, acc, 0.0);
                     Value none = bb.create<arith::CmpFOp>(
                         loc2, arith::CmpFPredicate::OEQ, args[1], zero);
                     y = bb.create<arith::SelectOp>(
                         loc2, none, uniformRows ? args[2] : zero, y);
                   }
                   if (acc != plan.element)
                     y = bb.create<arith::TruncFOp>(loc2, plan.element, y);
                   return SmallVector<Value>{y};
                 })[0];
}

Value AttentionLoopBuilder::build() {
  Value q = op.getQ(), k = op.getK();
  auto qType = cast<RankedTensorType>(q.getType());
  auto kType = cast<RankedTensorType>(k.getType());
  int64_t seqDim = plan.threeD ? 1 : 2;
  seqQ = dimValue(b, loc, q, seqDim);
  seqKv = dimValue(b, loc, k, seqDim);
  offset = sub(seqKv, seqQ);

  // Causal is a right bound of 0 (a window's right bound >= 0 adds nothing
  // to it).
  left = (int64_t)op.getWindowLeft();
  right = (int64_t)op.getWindowRight();
  if (op.getIsCausal())
    right = 0;

  // Tiles never exceed a static sequence; static sequences that are
  // multiples of the tile keep static tile shapes.
  int64_t sqStatic = qType.getDimSize(seqDim);
  int64_t skvStatic = kType.getDimSize(seqDim);
  if (!ShapedType::isDynamic(sqStatic) && sqStatic > 0)
    tileQ = std::min(tileQ, sqStatic);
  if (!ShapedType::isDynamic(skvStatic) && skvStatic > 0)
    tileKv = std::min(tileKv, skvStatic);
  bool qTilesAllFull =
      !ShapedType::isDynamic(sqStatic) && sqStatic % tileQ == 0;
  kvTilesAllFull = !ShapedType::isDynamic(skvStatic) &&
                   skvStatic % tileKv == 0 && left < 0 && right < 0;

  prepareMask();

  // The result, filled tile by tile.
  SmallVector<OpFoldResult> outSizes;
  OpFoldResult batchSize = dimOf(b, loc, q, 0);
  OpFoldResult seqQSize = dimOf(b, loc, q, seqDim);
  if (plan.threeD)
    outSizes = {batchSize, seqQSize,
                b.getIndexAttr(plan.qHeads * plan.vHeadDim)};
  else
    outSizes = {batchSize, b.getIndexAttr(plan.qHeads), seqQSize,
                b.getIndexAttr(plan.vHeadDim)};
  Value result = emptyTensor(b, loc, outSizes, plan.element);

  Value zero = index(0), one = index(1);
  Value batches = getValueOrCreateConstantIndexOp(b, loc, batchSize);
  auto batchLoop = b.create<scf::ForOp>(
      loc, zero, batches, one, result,
      [&](OpBuilder &bb, Location, Value batch, ValueRange outB) {
        auto headLoop = b.create<scf::ForOp>(
            loc, zero, index(plan.qHeads), one, outB,
            [&](OpBuilder &hb, Location, Value head, ValueRange outH) {
              auto qLoop = b.create<scf::ForOp>(
                  loc, zero, seqQ, index(tileQ), outH,
                  [&](OpBuilder &qb, Location, Value i0, ValueRange outQ) {
                    OpFoldResult tq = tileSize(i0, seqQ, tileQ, qTilesAllFull);
                    Value tile = queryTile(batch, head, i0, tq);
                    OpFoldResult o = b.getIndexAttr(0), u = b.getIndexAttr(1);
                    SmallVector<OpFoldResult> offsets, sizes;
                    if (plan.threeD) {
                      offsets = {batch, i0, mul(head, index(plan.vHeadDim))};
                      sizes = {u, tq, b.getIndexAttr(plan.vHeadDim)};
                    } else {
                      offsets = {batch, head, i0, o};
                      sizes = {u, u, tq, b.getIndexAttr(plan.vHeadDim)};
                    }
                    SmallVector<OpFoldResult> strides(sizes.size(), u);
                    Value updated = b.create<tensor::InsertSliceOp>(
                        loc, tile, outQ[0], offsets, sizes, strides);
                    b.create<scf::YieldOp>(loc, updated);
                  });
              b.create<scf::YieldOp>(loc, qLoop.getResult(0));
            });
        b.create<scf::YieldOp>(loc, headLoop.getResult(0));
      });
  return castToType(b, loc, batchLoop.getResult(0), op.getType());
}

struct AttentionToLoops : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<uint64_t> tileQ = op.getTileQ(), tileKv = op.getTileKv();
    if (!tileQ || !tileKv)
      return rewriter.notifyMatchFailure(
          op, "no tile sizes (run tessel-tile-attention)");
    if ((int64_t)*tileQ <= 0 || (int64_t)*tileKv <= 0)
      return rewriter.notifyMatchFailure(op, "tile sizes must be positive");
    AttentionPlan plan;
    std::string reason;
    if (failed(planAttentionLowering(op, plan, reason)))
      return rewriter.notifyMatchFailure(op, reason);
    AttentionLoopBuilder builder(rewriter, op.getLoc(), op, plan,
                                 (int64_t)*tileQ, (int64_t)*tileKv);
    rewriter.replaceOp(op, builder.build());
    return success();
  }
};

struct ConvertTesselAttentionToLoopsPass
    : tessel::impl::ConvertTesselAttentionToLoopsPassBase<
          ConvertTesselAttentionToLoopsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<AttentionToLoops>(&getContext());
    // Only the attention ops themselves: the loop nests are built as wanted.
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingOps;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns),
                                            config)))
      signalPassFailure();
  }
};

} // namespace
