//===- TileGpuLoops.cpp - block-sized tiles of parallel loops -------------===//
//
// Each outermost scf.parallel becomes a loop over tiles (the grid) around a
// loop within a tile (the threads of a block). Its dims are first reversed
// (innermost first: x threads walk contiguous memory). Tiles take up to
// `threads` iterations, from dim 0 on, within the x/y/z block limits: a dim
// of static size n takes the next power of two >= n (capped by what is left
// of the budget), a dynamic one all that is left.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELTILEGPULOOPSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// Reverses the dims of `op` in place, so that its innermost dim (the one
/// contiguous in memory, for row-major buffers) comes first: mapped to the
/// x threads, neighbouring threads then touch neighbouring elements.
void innermostFirst(scf::ParallelOp op) {
  size_t n = op.getNumLoops();
  if (n < 2)
    return;
  auto reversed = [](OperandRange range) {
    SmallVector<Value> values(range.begin(), range.end());
    std::reverse(values.begin(), values.end());
    return values;
  };
  SmallVector<Value> lbs = reversed(op.getLowerBound());
  SmallVector<Value> ubs = reversed(op.getUpperBound());
  SmallVector<Value> steps = reversed(op.getStep());
  op.getLowerBoundMutable().assign(lbs);
  op.getUpperBoundMutable().assign(ubs);
  op.getStepMutable().assign(steps);
  // Induction variable i now stands for the old n-1-i.
  Block *body = op.getBody();
  SmallVector<SmallVector<OpOperand *>> uses(n);
  for (size_t i = 0; i < n; ++i)
    for (OpOperand &use : body->getArgument(i).getUses())
      uses[i].push_back(&use);
  for (size_t i = 0; i < n; ++i)
    for (OpOperand *use : uses[i])
      use->set(body->getArgument(n - 1 - i));
}

struct TesselTileGpuLoopsPass
    : tessel::impl::TesselTileGpuLoopsPassBase<TesselTileGpuLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (threads < 1) {
      getOperation().emitError("tessel-tile-gpu-loops: threads must be >= 1");
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp op) {
      if (!op->getParentOfType<scf::ParallelOp>())
        outermost.push_back(op);
    });
    for (scf::ParallelOp op : outermost) {
      if (op.getNumResults() == 0)
        innermostFirst(op);
      size_t rank = op.getNumLoops();
      // gpu-map-parallel-loops maps dims 0, 1, 2 to x, y, z (at most 1024,
      // 1024 and 64 threads) and runs the others in sequence.
      const int64_t limits[3] = {1024, 1024, 64};
      SmallVector<int64_t> tiles(rank, 1);
      int64_t left = threads;
      for (size_t d = 0; d < std::min<size_t>(rank, 3) && left > 1; ++d) {
        std::optional<int64_t> lb = getConstantIntValue(op.getLowerBound()[d]);
        std::optional<int64_t> ub = getConstantIntValue(op.getUpperBound()[d]);
        std::optional<int64_t> step = getConstantIntValue(op.getStep()[d]);
        int64_t tile = std::min(left, limits[d]);
        if (lb && ub && step && *step > 0) {
          int64_t trips = (*ub - *lb + *step - 1) / *step;
          tile = std::min<int64_t>(
              tile, (int64_t)llvm::PowerOf2Ceil(std::max<int64_t>(trips, 1)));
        }
        tiles[d] = tile;
        left /= tile;
      }
      if (llvm::all_of(tiles, [](int64_t t) { return t == 1; }))
        continue;
      scf::tileParallelLoop(op, tiles, /*noMinMaxBounds=*/true);
    }
  }
};

} // namespace
