//===- TileAttention.cpp - the tessel-tile-attention pass -----------------===//
//
// Picks tile_q / tile_kv for each tessel.attention the loop lowering can
// take. One step of the online softmax touches, in the accumulator type
// (f32): the scaled q tile [tq, D], the accumulator [tq, Dv], m and l [tq],
// the scores / probabilities [tq, tk] (computed in place, plus the row max
// pass), and the k / v tiles [tk, D] / [tk, Dv]. The pass takes the largest
// tiles whose step fits in the cache budget, preferring key tiles of at least
// 128 (long rows amortise the per-tile row statistics and give the products
// OpenBLAS a useful size) and then query tiles up to 128.
//
//===----------------------------------------------------------------------===//

#include "codegen/AttentionLowering.h"
#include "codegen/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELTILEATTENTIONPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// Bytes one (tq, tk) step keeps live, elements of `bytes` bytes.
int64_t stepBytes(int64_t tq, int64_t tk, int64_t d, int64_t dv,
                  int64_t bytes) {
  return bytes * (tq * (d + dv + 2) + tq * tk + tk * (d + dv));
}

/// The static dim of `v`'s sequence axis, or 0 when dynamic.
int64_t staticSeq(Value v, bool threeD) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t d = type.getDimSize(threeD ? 1 : 2);
  return ShapedType::isDynamic(d) ? 0 : d;
}

struct TileSizes {
  int64_t q, kv;
};

/// The tiles for `plan` within `budget` bytes; `fixedQ` / `fixedKv` (> 0)
/// are taken as given.
TileSizes chooseTiles(const AttentionPlan &plan, int64_t seqQ, int64_t seqKv,
                      int64_t budget, int64_t fixedQ, int64_t fixedKv) {
  int64_t bytes =
      std::max<int64_t>(4, plan.accumulator.getIntOrFloatBitWidth() / 8);
  int64_t d = plan.headDim, dv = plan.vHeadDim;
  // No tile beyond a static sequence (rounded up to a power of two).
  auto cap = [](int64_t want, int64_t seq) {
    if (seq <= 0)
      return want;
    int64_t p = 1;
    while (p < seq && p < want)
      p *= 2;
    return std::min(want, p);
  };
  auto fits = [&](int64_t tq, int64_t tk) {
    return stepBytes(tq, tk, d, dv, bytes) <= budget;
  };
  const int64_t qChoices[] = {128, 64, 32, 16, 8, 4, 2, 1};
  const int64_t kvChoices[] = {512, 256, 128, 64, 32, 16, 8, 4, 2, 1};
  TileSizes best{fixedQ > 0 ? fixedQ : 1, fixedKv > 0 ? fixedKv : 1};
  if (fixedQ > 0 && fixedKv > 0)
    return best;
  // Key tiles of at least 128 first, then the largest query tile, then the
  // largest key tile.
  for (int64_t minKv : {128, 1}) {
    for (int64_t tqWant : qChoices) {
      int64_t tq = fixedQ > 0 ? fixedQ : cap(tqWant, seqQ);
      for (int64_t tkWant : kvChoices) {
        int64_t tk = fixedKv > 0 ? fixedKv : cap(tkWant, seqKv);
        if (tk < std::min(minKv, seqKv > 0 ? seqKv : minKv) && fixedKv <= 0)
          continue;
        if (fits(tq, tk))
          return {tq, tk};
      }
    }
  }
  return best;
}

struct TileAttention : OpRewritePattern<AttentionOp> {
  TileAttention(MLIRContext *context, int64_t tileQ, int64_t tileKv,
                int64_t cacheBytes)
      : OpRewritePattern(context), tileQ(tileQ), tileKv(tileKv),
        cacheBytes(cacheBytes) {}

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getTileQ() && op.getTileKv())
      return rewriter.notifyMatchFailure(op, "already tiled");
    AttentionPlan plan;
    std::string reason;
    if (failed(planAttentionLowering(op, plan, reason)))
      return rewriter.notifyMatchFailure(op, reason);
    int64_t fixedQ = op.getTileQ() ? (int64_t)*op.getTileQ() : tileQ;
    int64_t fixedKv = op.getTileKv() ? (int64_t)*op.getTileKv() : tileKv;
    TileSizes tiles = chooseTiles(plan, staticSeq(op.getQ(), plan.threeD),
                                  staticSeq(op.getK(), plan.threeD), cacheBytes,
                                  fixedQ, fixedKv);
    rewriter.modifyOpInPlace(op, [&] {
      op.setTileQ(tiles.q);
      op.setTileKv(tiles.kv);
    });
    return success();
  }

  int64_t tileQ, tileKv, cacheBytes;
};

struct TesselTileAttentionPass
    : tessel::impl::TesselTileAttentionPassBase<TesselTileAttentionPass> {
  using TesselTileAttentionPassBase::TesselTileAttentionPassBase;

  void runOnOperation() override {
    if (tileQ < 0 || tileKv < 0 || cacheBytes <= 0) {
      getOperation().emitError()
          << "tessel-tile-attention: tile-q (" << tileQ << ") and tile-kv ("
          << tileKv << ") must be >= 0 and cache-bytes (" << cacheBytes
          << ") > 0";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<TileAttention>(&getContext(), tileQ, tileKv, cacheBytes);
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingOps;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns),
                                            config)))
      signalPassFailure();
  }
};

} // namespace
