//===- FuseElementwise.cpp - element-wise fusion that keeps named ops -----===//
//
// linalg's element-wise fusion and reshape propagation, controlled so that
// reshapes only fold into linalg.generic ops. Folding an expand/collapse
// into a named contraction (batch_matmul of an unfused attention graph)
// rewrites it as a generic, which the BLAS lowering no longer recognises.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
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

/// Fuse through `operand` when its producer has no other user and neither
/// side is a named linalg op.
bool allowFusion(OpOperand *operand) {
  Operation *producer = operand->get().getDefiningOp();
  if (!producer || !producer->hasOneUse())
    return false;
  return !isNamedLinalgOp(producer) && !isNamedLinalgOp(operand->getOwner());
}

struct TesselFuseElementwisePass
    : tessel::impl::TesselFuseElementwisePassBase<TesselFuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    linalg::populateElementwiseOpsFusionPatterns(patterns, allowFusion);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, allowFusion);
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
