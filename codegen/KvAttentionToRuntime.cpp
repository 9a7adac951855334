//===- KvAttentionToRuntime.cpp - tessel.kv_attention -> runtime call -----===//
//
// The paged KV cache belongs to libtessel_rt; attention over it is a runtime
// kernel that the model calls through a C-interface declaration.
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_CONVERTTESSELKVATTENTIONTORUNTIMEPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

static constexpr StringLiteral kKernel = "tessel_rt_kv_attention";

/// The kernel's declaration (created once per module).
static func::FuncOp getOrDeclareKernel(ModuleOp module, OpBuilder &builder) {
  if (auto fn = module.lookupSymbol<func::FuncOp>(kKernel))
    return fn;
  MLIRContext *ctx = module.getContext();
  Type i64 = builder.getI64Type(), f32 = builder.getF32Type();
  MemRefType t4 = dynamicStridedMemRef(ctx, 4, f32);
  MemRefType lens = dynamicStridedMemRef(ctx, 1, i64);
  auto type = FunctionType::get(
      ctx, {i64, i64, t4, t4, t4, lens, t4, f32, f32, i64}, {});
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  auto fn = builder.create<func::FuncOp>(module.getLoc(), kKernel, type);
  fn.setPrivate();
  fn->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
  return fn;
}

namespace {

struct LowerKvAttention : OpRewritePattern<KvAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(KvAttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto q = dyn_cast<RankedTensorType>(op.getQ().getType());
    auto k = dyn_cast<RankedTensorType>(op.getK().getType());
    auto v = dyn_cast<RankedTensorType>(op.getV().getType());
    auto past = dyn_cast<RankedTensorType>(op.getPastLens().getType());
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!q || !k || !v || !past || !out)
      return rewriter.notifyMatchFailure(op, "operands must be ranked");
    if (!q.getElementType().isF32())
      return rewriter.notifyMatchFailure(
          op, "only f32 has a runtime kernel on this target");
    auto module = op->getParentOfType<ModuleOp>();
    func::FuncOp kernel = getOrDeclareKernel(module, rewriter);
    Location loc = op.getLoc();

    Value qm = readOnlyKernelOperand(rewriter, loc, op.getQ());
    Value km = readOnlyKernelOperand(rewriter, loc, op.getK());
    Value vm = readOnlyKernelOperand(rewriter, loc, op.getV());
    Value pm = readOnlyKernelOperand(rewriter, loc, op.getPastLens());
    auto [resultBuffer, om] =
        allocAttentionResult(rewriter, loc, out, op.getQ(), op.getV());

    auto i64 = [&](int64_t x) -> Value {
      return rewriter.create<arith::ConstantIntOp>(loc, x, 64);
    };
    auto f32 = [&](float x) -> Value {
      return rewriter.create<arith::ConstantFloatOp>(loc, APFloat(x),
                                                     rewriter.getF32Type());
    };
    int64_t mode = op.getMode() == "decode" ? 1 : 0;
    rewriter.create<func::CallOp>(
        loc, kernel,
        ValueRange{i64((int64_t)op.getLayer()), i64(mode), qm, km, vm, pm, om,
                   f32(op.getScale().convertToFloat()),
                   f32(op.getSoftcap().convertToFloat()),
                   i64((int64_t)op.getWindowLeft())});
    replaceWithBuffer(rewriter, op, resultBuffer);
    return success();
  }
};

struct ConvertTesselKvAttentionToRuntimePass
    : tessel::impl::ConvertTesselKvAttentionToRuntimePassBase<
          ConvertTesselKvAttentionToRuntimePass> {
  void runOnOperation() override {
    // A module pass: the kernel's declaration goes into the module.
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerKvAttention>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    getOperation().walk([&](KvAttentionOp op) {
      op.emitOpError("was not lowered to the runtime kernel (only f32 is "
                     "supported on the CPU target)");
      signalPassFailure();
    });
  }
};

} // namespace
