//===- LaunchRowReductions.cpp - one warp or block per reduced row --------===//
//
// The generic CUDA lowering gives each output element of a reduction one
// thread that walks the reduced dim alone: a norm over 2048 channels at
// batch 1 ran as a single thread issuing 2048 dependent loads. Here a
// linalg.generic (buffers) that reduces its innermost dim with one
// combining op becomes a gpu.launch in which the lanes of a warp (or of a
// block, when the dim is long and static) stride over that dim together,
// each accumulating from the combiner's neutral element, and combine their
// partial results through warp shuffles (and shared memory across warps);
// lane 0 then combines the total with the output's initial value, or just
// stores it when the output was filled with the neutral element right
// before (the fill, a kernel of its own, goes; so does bufferization's copy
// of a shared filled init).
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "codegen/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELLAUNCHROWREDUCTIONSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

constexpr int64_t kWarp = 32;
constexpr int64_t kBlockThreads = 256;

/// Warps that share one row: enough that each lane keeps at least 8
/// elements of a static reduced dim, at most a whole block; one when the
/// dim's size is known only at run time.
int64_t warpsPerRow(std::optional<int64_t> reduced) {
  if (!reduced)
    return 1;
  int64_t w = *reduced / (kWarp * 8);
  w = std::clamp<int64_t>(w, 1, kBlockThreads / kWarp);
  return int64_t(1) << llvm::Log2_64(w);
}

struct RowReductionToLaunch : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureBufferSemantics())
      return rewriter.notifyMatchFailure(op, "not on buffers");
    if (op->getParentOfType<gpu::LaunchOp>())
      return rewriter.notifyMatchFailure(op, "already inside a kernel");
    if (op.getNumDpsInits() != 1)
      return rewriter.notifyMatchFailure(op, "not exactly one output");
    unsigned loops = op.getNumLoops();
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    if (loops == 0 || iterators.back() != utils::IteratorType::reduction)
      return rewriter.notifyMatchFailure(op, "innermost dim is not reduced");
    for (unsigned d = 0; d + 1 < loops; ++d)
      if (iterators[d] != utils::IteratorType::parallel)
        return rewriter.notifyMatchFailure(op, "more than one reduced dim");
    OpOperand *init = op.getDpsInitOperand(0);
    auto outType = dyn_cast<MemRefType>(init->get().getType());
    Type element = outType ? outType.getElementType() : Type();
    if (!element || !(element.isF32() || element.isInteger(32)))
      return rewriter.notifyMatchFailure(
          op, "result is not f32 or i32 (what a warp shuffle moves)");
    AffineMap outMap = op.getMatchingIndexingMap(init);
    if (outMap.getNumResults() != loops - 1)
      return rewriter.notifyMatchFailure(op, "output map is not the rows");
    for (unsigned i = 0; i + 1 < loops; ++i)
      if (outMap.getResult(i) != rewriter.getAffineDimExpr(i))
        return rewriter.notifyMatchFailure(op, "output map is not the rows");
    AffineExpr reducedDim = rewriter.getAffineDimExpr(loops - 1);
    for (OpOperand *input : op.getDpsInputOperands()) {
      AffineMap map = op.getMatchingIndexingMap(input);
      if (!map.isProjectedPermutation(/*allowZeroInResults=*/true))
        return rewriter.notifyMatchFailure(op, "an input map is not a "
                                               "projected permutation");
      // Lanes walk the reduced dim: it must be the input's innermost.
      for (unsigned r = 0; r + 1 < map.getNumResults(); ++r)
        if (map.getResult(r) == reducedDim)
          return rewriter.notifyMatchFailure(
              op, "an input is not contiguous along the reduced dim");
    }
    SmallVector<Operation *> combiners;
    if (!matchReduction(op.getRegionOutputArgs(), 0, combiners) ||
        combiners.size() != 1 || combiners[0]->getNumOperands() != 2)
      return rewriter.notifyMatchFailure(op, "no single combining op");
    Operation *combiner = combiners[0];
    std::optional<TypedAttr> neutral = arith::getNeutralElement(combiner);
    if (!neutral)
      return rewriter.notifyMatchFailure(op, "combiner has no neutral element");
    for (Operation &inner : op.getBody()->without_terminator())
      if (!isa<linalg::IndexOp>(inner) && !isMemoryEffectFree(&inner))
        return rewriter.notifyMatchFailure(op, "body has side effects");

    // An output just filled with the neutral element needs no fill: the
    // total is the result (found before any op is built here).
    Operation *neutralFill =
        constantInitOf(op, init->get(), [&](Value v) {
          Attribute value;
          return matchPattern(v, m_Constant(&value)) && value == *neutral;
        });
    Location loc = op.getLoc();
    // Each loop's size: the first operand dim its map gives that loop.
    SmallVector<std::pair<Value, int64_t>> spans(loops);
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<MemRefType>(operand.get().getType()))
        continue;
      AffineMap map = op.getMatchingIndexingMap(&operand);
      for (auto [r, e] : llvm::enumerate(map.getResults()))
        if (auto dim = dyn_cast<AffineDimExpr>(e);
            dim && !spans[dim.getPosition()].first)
          spans[dim.getPosition()] = {operand.get(), int64_t(r)};
    }
    if (llvm::any_of(spans, [](auto &span) { return !span.first; }))
      return rewriter.notifyMatchFailure(op, "a loop no operand spans");
    SmallVector<OpFoldResult> ranges;
    for (auto [buffer, r] : spans) {
      auto type = cast<MemRefType>(buffer.getType());
      ranges.push_back(
          type.isDynamicDim(r)
              ? OpFoldResult(
                    rewriter.create<memref::DimOp>(loc, buffer, r).getResult())
              : OpFoldResult(rewriter.getIndexAttr(type.getDimSize(r))));
    }
    SmallVector<Value> sizes;
    for (OpFoldResult range : ranges)
      sizes.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, range));
    std::optional<int64_t> staticReduced = getConstantIntValue(ranges.back());
    int64_t warps = warpsPerRow(staticReduced);
    int64_t lanes = warps * kWarp;
    int64_t rowsPerBlock = kBlockThreads / lanes;

    auto index = [&](OpBuilder &b, int64_t v) -> Value {
      return b.create<arith::ConstantIndexOp>(loc, v);
    };
    Value rows = index(rewriter, 1);
    for (unsigned d = 0; d + 1 < loops; ++d)
      rows = rewriter.create<arith::MulIOp>(loc, rows, sizes[d]);
    Value grid = rewriter.create<arith::CeilDivUIOp>(
        loc, rows, index(rewriter, rowsPerBlock));
    // A launch of zero blocks is an error: skip empty reductions.
    Value any = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ugt,
                                               rows, index(rewriter, 0));
    auto guard = rewriter.create<scf::IfOp>(loc, any, /*withElse=*/false);
    rewriter.setInsertionPointToStart(&guard.getThenRegion().front());

    SmallVector<Type> workgroup;
    if (warps > 1)
      workgroup.push_back(MemRefType::get(
          {rowsPerBlock * warps}, element, AffineMap(),
          gpu::AddressSpaceAttr::get(rewriter.getContext(),
                                     gpu::AddressSpace::Workgroup)));
    Value one = index(rewriter, 1);
    auto launch = rewriter.create<gpu::LaunchOp>(
        loc, grid, one, one, index(rewriter, lanes),
        index(rewriter, rowsPerBlock), one, /*dynamicSharedMemorySize=*/nullptr,
        /*asyncTokenType=*/nullptr, ValueRange{}, workgroup);
    OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
    Value tx = launch.getThreadIds().x;
    Value ty = launch.getThreadIds().y;
    Value row = b.create<arith::AddIOp>(
        loc, b.create<arith::MulIOp>(loc, launch.getBlockIds().x,
                                     index(b, rowsPerBlock)),
        ty);
    Value active =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, row, rows);
    // The row's parallel indices, innermost dim fastest.
    SmallVector<Value> ivs(loops);
    Value rest = row;
    for (int d = int(loops) - 2; d >= 0; --d) {
      ivs[d] = b.create<arith::RemUIOp>(loc, rest, sizes[d]);
      rest = b.create<arith::DivUIOp>(loc, rest, sizes[d]);
    }
    Value identity = b.create<arith::ConstantOp>(loc, *neutral);
    auto combine = [&](OpBuilder &at, Value lhs, Value rhs) -> Value {
      Operation *c = at.clone(*combiner);
      c->setOperands({lhs, rhs});
      return c->getResult(0);
    };
    auto operandIndices = [&](OpBuilder &at, AffineMap map) {
      SmallVector<Value> indices;
      for (AffineExpr e : map.getResults()) {
        if (auto dim = dyn_cast<AffineDimExpr>(e))
          indices.push_back(ivs[dim.getPosition()]);
        else
          indices.push_back(
              index(at, cast<AffineConstantExpr>(e).getValue()));
      }
      return indices;
    };

    // Each lane's partial result over its strided share of the row: the
    // elements tx, tx + L, tx + 2L, ... (L lanes), four per iteration with
    // their loads issued before the combining (a chain of one load, one add
    // per element is latency-bound), then the rest one at a time.
    Block *region = op.getBody();
    auto loadAt = [&](OpBuilder &at, Value k) {
      ivs.back() = k;
      IRMapping mapping;
      for (OpOperand *input : op.getDpsInputOperands()) {
        Value v = input->get();
        if (isa<MemRefType>(v.getType()))
          v = at.create<memref::LoadOp>(
              loc, v, operandIndices(at, op.getMatchingIndexingMap(input)));
        mapping.map(region->getArgument(input->getOperandNumber()), v);
      }
      return mapping;
    };
    auto combineAt = [&](OpBuilder &at, Value k, IRMapping &mapping,
                         Value acc) -> Value {
      ivs.back() = k;
      mapping.map(op.getRegionOutputArgs()[0], acc);
      for (Operation &inner : region->without_terminator()) {
        if (auto idx = dyn_cast<linalg::IndexOp>(inner)) {
          mapping.map(idx.getResult(), ivs[idx.getDim()]);
          continue;
        }
        at.clone(inner, mapping);
      }
      return mapping.lookupOrDefault(
          cast<linalg::YieldOp>(region->getTerminator()).getOperand(0));
    };
    constexpr int64_t kUnroll = 4;
    auto partial = b.create<scf::IfOp>(loc, TypeRange{element}, active,
                                       /*withElse=*/true);
    {
      OpBuilder then = partial.getThenBodyBuilder();
      Value reduced = sizes.back();
      Value stride = index(then, lanes);
      Value zero = index(then, 0);
      Value mine = then.create<arith::SelectOp>(
          loc,
          then.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, tx,
                                     reduced),
          then.create<arith::SubIOp>(loc, reduced, tx), zero);
      Value count = then.create<arith::CeilDivUIOp>(loc, mine, stride);
      Value groups = then.create<arith::DivUIOp>(loc, count,
                                                 index(then, kUnroll));
      auto unrolled = then.create<scf::ForOp>(loc, zero, groups,
                                              index(then, 1),
                                              ValueRange{identity});
      {
        OpBuilder body = OpBuilder::atBlockBegin(unrolled.getBody());
        Value first = body.create<arith::AddIOp>(
            loc, tx,
            body.create<arith::MulIOp>(loc, unrolled.getInductionVar(),
                                       index(body, kUnroll * lanes)));
        SmallVector<Value> ks;
        SmallVector<IRMapping> loaded;
        for (int64_t u = 0; u < kUnroll; ++u) {
          ks.push_back(u == 0 ? first
                              : body.create<arith::AddIOp>(
                                    loc, first, index(body, u * lanes)));
          loaded.push_back(loadAt(body, ks.back()));
        }
        Value acc = unrolled.getRegionIterArg(0);
        for (int64_t u = 0; u < kUnroll; ++u)
          acc = combineAt(body, ks[u], loaded[u], acc);
        body.create<scf::YieldOp>(loc, acc);
      }
      auto rest = then.create<scf::ForOp>(
          loc,
          then.create<arith::MulIOp>(loc, groups, index(then, kUnroll)),
          count, index(then, 1), ValueRange{unrolled.getResult(0)});
      {
        OpBuilder body = OpBuilder::atBlockBegin(rest.getBody());
        Value k = body.create<arith::AddIOp>(
            loc, tx,
            body.create<arith::MulIOp>(loc, rest.getInductionVar(), stride));
        IRMapping mapping = loadAt(body, k);
        body.create<scf::YieldOp>(
            loc, combineAt(body, k, mapping, rest.getRegionIterArg(0)));
      }
      then.create<scf::YieldOp>(loc, rest.getResult(0));
      OpBuilder other = partial.getElseBodyBuilder();
      other.create<scf::YieldOp>(loc, identity);
    }
    ivs.back() = nullptr;

    // Across the warp: butterfly shuffles leave every lane with the total.
    auto warpReduce = [&](OpBuilder &at, Value v, int64_t width) {
      for (int64_t offset = width / 2; offset >= 1; offset /= 2) {
        auto shuffle = at.create<gpu::ShuffleOp>(
            loc, v, int32_t(offset), int32_t(kWarp), gpu::ShuffleMode::XOR);
        v = combine(at, v, shuffle.getShuffleResult());
      }
      return v;
    };
    Value total = warpReduce(b, partial.getResult(0), kWarp);
    Value lane = tx;
    Value first = index(b, 0);
    if (warps > 1) {
      // Across the row's warps: lane 0 of each leaves its total in shared
      // memory; the first warp combines them.
      Value scratch = launch.getWorkgroupAttributions()[0];
      Value warpSize = index(b, kWarp);
      lane = b.create<arith::RemUIOp>(loc, tx, warpSize);
      Value warp = b.create<arith::DivUIOp>(loc, tx, warpSize);
      Value base = b.create<arith::MulIOp>(loc, ty, index(b, warps));
      Value leader = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                             lane, first);
      auto store = b.create<scf::IfOp>(loc, leader, /*withElse=*/false);
      {
        OpBuilder then = store.getThenBodyBuilder();
        then.create<memref::StoreOp>(
            loc, total, scratch,
            ValueRange{then.create<arith::AddIOp>(loc, base, warp)});
      }
      b.create<gpu::BarrierOp>(loc);
      auto gather = b.create<scf::IfOp>(
          loc, TypeRange{element},
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, lane,
                                  index(b, warps)),
          /*withElse=*/true);
      {
        OpBuilder then = gather.getThenBodyBuilder();
        then.create<scf::YieldOp>(
            loc, then.create<memref::LoadOp>(
                     loc, scratch,
                     ValueRange{then.create<arith::AddIOp>(loc, base, lane)})
                     .getResult());
        OpBuilder other = gather.getElseBodyBuilder();
        other.create<scf::YieldOp>(loc, identity);
      }
      // Every warp reduces the gathered totals (all its lanes take part in
      // the shuffles); only the row's first lane writes.
      total = warpReduce(b, gather.getResult(0), warps);
    }
    Value writer = b.create<arith::AndIOp>(
        loc, active,
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, tx, first));
    auto write = b.create<scf::IfOp>(loc, writer, /*withElse=*/false);
    {
      OpBuilder then = write.getThenBodyBuilder();
      SmallVector<Value> outIndices = operandIndices(then, outMap);
      Value result = total;
      if (!neutralFill)
        result = combine(
            then, total,
            then.create<memref::LoadOp>(loc, init->get(), outIndices));
      then.create<memref::StoreOp>(loc, result, init->get(), outIndices);
    }
    b.create<gpu::TerminatorOp>(loc);
    rewriter.eraseOp(op);
    if (neutralFill)
      eraseConstantInit(neutralFill, rewriter);
    return success();
  }
};

struct TesselLaunchRowReductionsPass
    : tessel::impl::TesselLaunchRowReductionsPassBase<
          TesselLaunchRowReductionsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RowReductionToLaunch>(&getContext());
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingOps;
    // In program order: a reduction that drops the copy of a shared filled
    // init lets a later one, which reuses that init in place, drop the fill.
    config.useTopDownTraversal = true;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns),
                                            config)))
      return signalPassFailure();
  }
};

} // namespace
