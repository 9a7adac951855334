//===- FuseElementwise.cpp - element-wise fusion that keeps named ops -----===//
//
// linalg's element-wise fusion and reshape propagation, controlled so that
// reshapes only fold into linalg.generic ops; transposes become generics
// first, so that they fuse like any other element-wise op. Folding an expand/collapse
// into a named contraction (batch_matmul of an unfused attention graph)
// rewrites it as a generic, which the BLAS lowering no longer recognises.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELFUSEELEMENTWISEPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// A linalg op other than linalg.generic (matmul, batch_matmul, fill ...).
bool isNamedLinalgOp(Operation *op) {
  return isa_and_nonnull<linalg::LinalgOp>(op) && !isa<linalg::GenericOp>(op);
}

/// A generic that reads at most one tensor and applies at most two cheap
/// scalar ops to it (a cast, a negation, a scale): recomputing it in each
/// consumer reads its input instead of its result, which saves writing the
/// result and never reads more than its input (a norm's bf16 -> f32 copy of
/// x, read by the reduction and by the normalisation, was a kernel and an
/// f32 tensor of its own).
bool isCheapUnary(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!generic || generic.getNumDpsInputs() > 1 ||
      generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return false;
  int64_t ops = 0;
  for (Operation &inner : generic.getBody()->without_terminator()) {
    if (!isa<arith::ArithDialect>(inner.getDialect()) ||
        isa<arith::DivFOp, arith::RemFOp, arith::DivSIOp, arith::DivUIOp>(
            inner))
      return false;
    ++ops;
  }
  return ops <= 2;
}

/// Fuse through `operand` when neither side is a named linalg op and the
/// producer has no other user, or is cheap enough to recompute in each.
bool allowFusion(OpOperand *operand) {
  Operation *producer = operand->get().getDefiningOp();
  if (!producer || !(producer->hasOneUse() || isCheapUnary(producer)))
    return false;
  return !isNamedLinalgOp(producer) && !isNamedLinalgOp(operand->getOwner());
}

/// Reshape propagation keeps the single-use rule: moving a reshape past a
/// producer with other users would duplicate the producer's loop nest.
bool allowReshapeFolding(OpOperand *operand) {
  Operation *producer = operand->get().getDefiningOp();
  if (!producer || !producer->hasOneUse())
    return false;
  return !isNamedLinalgOp(producer) && !isNamedLinalgOp(operand->getOwner());
}

struct TesselFuseElementwisePass
    : tessel::impl::TesselFuseElementwisePassBase<TesselFuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    // A transpose is a permuted copy: as a linalg.generic it fuses with the
    // element-wise op that produces or reads it (a projection's f32 -> bf16
    // conversion and the [B, S, H, D] -> [B, H, S, D] transpose after it
    // become one pass over memory, one kernel on the GPU).
    IRRewriter rewriter(context);
    getOperation().walk([&](linalg::TransposeOp op) {
      rewriter.setInsertionPoint(op);
      (void)linalg::generalizeNamedOp(rewriter, op);
    });
    RewritePatternSet patterns(context);
    linalg::populateElementwiseOpsFusionPatterns(patterns, allowFusion);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns,
                                                      allowReshapeFolding);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(),
                                            std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
