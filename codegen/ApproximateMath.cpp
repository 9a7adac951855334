//===- ApproximateMath.cpp - vectorisable f32 math ------------------------===//
//
// exp, tanh, erf, log, ... on f32 become polynomial approximations made of
// plain arithmetic. libm calls (expf, erff) are opaque to LLVM's loop
// vectoriser; the polynomials vectorise with the rest of the loop body.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELAPPROXIMATEMATHPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;

namespace {
struct TesselApproximateMathPass
    : tessel::impl::TesselApproximateMathPassBase<TesselApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
