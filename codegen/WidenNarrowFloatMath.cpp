//===- WidenNarrowFloatMath.cpp - f16/bf16 arithmetic computed in f32 -----===//
//
// tessel-widen-narrow-float-math: every arith/math op on f16 or bf16 values
// computes in f32 (extf its operands, truncf its results), and a truncf
// whose result only goes back to f32 is dropped. After element-wise fusion
// a fused kernel then rounds to the narrow type only where it stores: its
// intermediate values stay f32, as in hand-written mixed-precision kernels.
// (One rounding per op compounds: the trained tinylm in bf16 was 4% off its
// float32 logits with it.)
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELWIDENNARROWFLOATMATHPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

bool isNarrowFloat(Type t) { return t.isF16() || t.isBF16(); }

/// Rebuilds a scalar arith/math op with its narrow float operands and
/// results in f32.
struct WidenOp : RewritePattern {
  WidenOp(MLIRContext *ctx) : RewritePattern(MatchAnyOpTypeTag(), 1, ctx) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    Dialect *dialect = op->getDialect();
    if (!dialect || !isa<arith::ArithDialect, math::MathDialect>(dialect))
      return failure();
    // The conversions themselves, and constants (their users widen them).
    if (isa<arith::ExtFOp, arith::TruncFOp, arith::BitcastOp,
            arith::ConstantOp>(op) ||
        op->getNumRegions() != 0)
      return failure();
    auto narrow = [](Type t) { return isNarrowFloat(t); };
    bool operands = llvm::any_of(op->getOperandTypes(), narrow);
    bool results = llvm::any_of(op->getResultTypes(), narrow);
    if (!operands && !results)
      return failure();
    Location loc = op->getLoc();
    Type f32 = rewriter.getF32Type();
    SmallVector<Value> wideOperands;
    for (Value v : op->getOperands())
      wideOperands.push_back(isNarrowFloat(v.getType())
                                 ? rewriter.create<arith::ExtFOp>(loc, f32, v)
                                       .getResult()
                                 : v);
    SmallVector<Type> wideResults;
    for (Type t : op->getResultTypes())
      wideResults.push_back(isNarrowFloat(t) ? f32 : t);
    OperationState state(loc, op->getName().getStringRef(), wideOperands,
                         wideResults, op->getAttrs());
    Operation *wide = rewriter.create(state);
    SmallVector<Value> replacements;
    for (auto [old, now] : llvm::zip(op->getResults(), wide->getResults()))
      replacements.push_back(
          old.getType() == now.getType()
              ? now
              : rewriter.create<arith::TruncFOp>(loc, old.getType(), now)
                    .getResult());
    rewriter.replaceOp(op, replacements);
    return success();
  }
};

/// extf(truncf(x)) -> x for an f32 x: the rounding in between was an
/// intermediate value's, which stays in a register.
struct DropRoundTrip : OpRewritePattern<arith::ExtFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::ExtFOp ext,
                                PatternRewriter &rewriter) const override {
    auto trunc = ext.getIn().getDefiningOp<arith::TruncFOp>();
    if (!trunc || trunc.getIn().getType() != ext.getType() ||
        !isNarrowFloat(trunc.getType()))
      return failure();
    rewriter.replaceOp(ext, trunc.getIn());
    return success();
  }
};

struct TesselWidenNarrowFloatMathPass
    : tessel::impl::TesselWidenNarrowFloatMathPassBase<
          TesselWidenNarrowFloatMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<WidenOp, DropRoundTrip>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
