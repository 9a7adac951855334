//===- TileGpuLoops.cpp - block-sized tiles of parallel loops -------------===//
//
// Each outermost scf.parallel becomes a loop over tiles (the grid) around a
// loop within a tile (the threads of a block). Tiles take up to `threads`
// iterations, innermost dims first: a dim of static size n takes the next
// power of two >= n (capped by what is left of the budget), a dynamic one
// all that is left.
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
      size_t rank = op.getNumLoops();
      SmallVector<int64_t> tiles(rank, 1);
      int64_t left = threads;
      for (size_t d = rank; d-- > 0 && left > 1;) {
        std::optional<int64_t> lb = getConstantIntValue(op.getLowerBound()[d]);
        std::optional<int64_t> ub = getConstantIntValue(op.getUpperBound()[d]);
        std::optional<int64_t> step = getConstantIntValue(op.getStep()[d]);
        int64_t tile = left;
        if (lb && ub && step && *step > 0) {
          int64_t trips = (*ub - *lb + *step - 1) / *step;
          tile = std::min<int64_t>(
              left, (int64_t)llvm::PowerOf2Ceil(std::max<int64_t>(trips, 1)));
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
