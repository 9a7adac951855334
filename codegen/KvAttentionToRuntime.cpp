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

/// The runtime kernel for `element` on the target (empty: none).
static std::string kernelName(bool cuda, Type element) {
  if (!cuda)
    return element.isF32() ? "tessel_rt_kv_attention" : "";
  if (element.isF32())
    return "tessel_rt_cuda_kv_attention_f32";
  if (element.isF16())
    return "tessel_rt_cuda_kv_attention_f16";
  if (element.isBF16())
    return "tessel_rt_cuda_kv_attention_bf16";
  return "";
}

/// The kernel's declaration (created once per module and name).
static func::FuncOp getOrDeclareKernel(ModuleOp module, OpBuilder &builder,
                                       StringRef name, Type element) {
  if (auto fn = module.lookupSymbol<func::FuncOp>(name))
    return fn;
  MLIRContext *ctx = module.getContext();
  Type i64 = builder.getI64Type(), f32 = builder.getF32Type();
  MemRefType t4 = dynamicStridedMemRef(ctx, 4, element);
  MemRefType lens = dynamicStridedMemRef(ctx, 1, i64);
  auto type = FunctionType::get(
      ctx, {i64, i64, t4, t4, t4, lens, t4, f32, f32, i64}, {});
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  auto fn = builder.create<func::FuncOp>(module.getLoc(), name, type);
  fn.setPrivate();
  fn->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
  return fn;
}

namespace {

struct LowerKvAttention : OpRewritePattern<KvAttentionOp> {
  LowerKvAttention(MLIRContext *ctx, bool cuda)
      : OpRewritePattern(ctx), cuda(cuda) {}
  bool cuda;

  LogicalResult matchAndRewrite(KvAttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto q = dyn_cast<RankedTensorType>(op.getQ().getType());
    auto k = dyn_cast<RankedTensorType>(op.getK().getType());
    auto v = dyn_cast<RankedTensorType>(op.getV().getType());
    auto past = dyn_cast<RankedTensorType>(op.getPastLens().getType());
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!q || !k || !v || !past || !out)
      return rewriter.notifyMatchFailure(op, "operands must be ranked");
    Type element = q.getElementType();
    std::string name = kernelName(cuda, element);
    if (name.empty() || k.getElementType() != element ||
        v.getElementType() != element || out.getElementType() != element)
      return rewriter.notifyMatchFailure(
          op, "no runtime kernel for this element type on this target");
    auto module = op->getParentOfType<ModuleOp>();
    func::FuncOp kernel = getOrDeclareKernel(module, rewriter, name, element);
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
  using Base::Base;

  void runOnOperation() override {
    // A module pass: the kernel's declaration goes into the module.
    if (target != "cpu" && target != "cuda") {
      getOperation().emitError("convert-tessel-kv-attention-to-runtime: "
                               "unknown target '")
          << target << "' (expected cpu or cuda)";
      return signalPassFailure();
    }
    bool cuda = target == "cuda";
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerKvAttention>(&getContext(), cuda);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    getOperation().walk([&](KvAttentionOp op) {
      if (cuda)
        op.emitOpError("was not lowered to the runtime kernel (the CUDA "
                       "target supports f32, f16 and bf16 with one element "
                       "type for q, k, v and the result)");
      else
        op.emitOpError("was not lowered to the runtime kernel (only f32 is "
                       "supported on the CPU target)");
      signalPassFailure();
    });
  }
};

} // namespace
