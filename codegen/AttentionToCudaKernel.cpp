//===- AttentionToCudaKernel.cpp - tessel.attention -> FlashAttention -----===//
//
// On the CUDA target, f16/bf16 attention that the runtime's tensor-core
// kernel (runtime/cuda/FlashAttention.cu) computes becomes a call to it;
// the rest keeps the tiled loop lowering (tessel-tile-attention,
// convert-tessel-attention-to-loops).
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "codegen/Passes.h"
#include "dialect/TesselOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::tessel {
#define GEN_PASS_DEF_CONVERTTESSELATTENTIONTOCUDAKERNELPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// The kernel's declaration for `element` (f16 or bf16), created once.
func::FuncOp getOrDeclareKernel(ModuleOp module, OpBuilder &builder,
                                Type element) {
  std::string name = element.isBF16() ? "tessel_rt_cuda_attention_bf16"
                                      : "tessel_rt_cuda_attention_f16";
  if (auto fn = module.lookupSymbol<func::FuncOp>(name))
    return fn;
  MLIRContext *ctx = module.getContext();
  Type i64 = builder.getI64Type(), f32 = builder.getF32Type();
  MemRefType t4 = dynamicStridedMemRef(ctx, 4, element);
  auto type = FunctionType::get(ctx, {t4, t4, t4, t4, f32, i64, i64, i64}, {});
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  auto fn = builder.create<func::FuncOp>(module.getLoc(), name, type);
  fn.setPrivate();
  fn->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
  return fn;
}

/// Why the kernel cannot compute `op` (empty: it can).
std::string unsupported(AttentionOp op) {
  auto q = dyn_cast<RankedTensorType>(op.getQ().getType());
  auto k = dyn_cast<RankedTensorType>(op.getK().getType());
  auto v = dyn_cast<RankedTensorType>(op.getV().getType());
  auto out = dyn_cast<RankedTensorType>(op.getType());
  if (!q || !k || !v || !out || q.getRank() != 4 || k.getRank() != 4 ||
      v.getRank() != 4 || out.getRank() != 4)
    return "operands are not 4-D [batch, heads, seq, head_dim]";
  Type element = q.getElementType();
  if (!(element.isF16() || element.isBF16()))
    return "element type is not f16 or bf16";
  if (k.getElementType() != element || v.getElementType() != element ||
      out.getElementType() != element)
    return "operands differ in element type";
  int64_t d = q.getDimSize(3);
  if (d != 64 && d != 80 && d != 96 && d != 128 && d != 256)
    return "head dim is not 64, 80, 96, 128 or 256";
  if (k.getDimSize(3) != d || v.getDimSize(3) != d)
    return "k/v head dims differ from q's";
  if (q.isDynamicDim(1) || k.isDynamicDim(1) ||
      q.getDimSize(1) % k.getDimSize(1) != 0)
    return "heads are not a static multiple of kv heads";
  if (op.getMask())
    return "it has a mask operand";
  if (op.getSoftcap().convertToFloat() != 0.0f)
    return "it has a softcap";
  // I64Attr getters return uint64_t: -1 ("unbounded") reads as 2^64 - 1.
  if ((int64_t)op.getWindowRight() >= 0 && !op.getIsCausal())
    return "it has a right window";
  return "";
}

struct LowerAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    std::string why = unsupported(op);
    if (!why.empty())
      return rewriter.notifyMatchFailure(op, why);
    auto q = cast<RankedTensorType>(op.getQ().getType());
    auto out = cast<RankedTensorType>(op.getType());
    Type element = q.getElementType();
    auto module = op->getParentOfType<ModuleOp>();
    func::FuncOp kernel = getOrDeclareKernel(module, rewriter, element);
    Location loc = op.getLoc();

    Value qm = readOnlyKernelOperand(rewriter, loc, op.getQ());
    Value km = readOnlyKernelOperand(rewriter, loc, op.getK());
    Value vm = readOnlyKernelOperand(rewriter, loc, op.getV());
    // 16-byte aligned: the kernel stores 16-byte vectors.
    auto [resultBuffer, om] = allocAttentionResult(
        rewriter, loc, out, op.getQ(), op.getV(), /*alignment=*/16);

    auto i64 = [&](int64_t x) -> Value {
      return rewriter.create<arith::ConstantIntOp>(loc, x, 64);
    };
    float scale = op.getScale()
                      ? op.getScale()->convertToFloat()
                      : 1.0f / std::sqrt((float)q.getDimSize(3));
    Value scaleValue = rewriter.create<arith::ConstantFloatOp>(
        loc, APFloat(scale), rewriter.getF32Type());
    bool causal = op.getIsCausal() != 0;
    rewriter.create<func::CallOp>(
        loc, kernel,
        ValueRange{qm, km, vm, om, scaleValue, i64(causal ? 1 : 0),
                   i64((int64_t)op.getWindowLeft() < 0
                           ? -1
                           : (int64_t)op.getWindowLeft()),
                   i64(op.getFullyMaskedRows() == "zero" ? 1 : 0)});
    replaceWithBuffer(rewriter, op, resultBuffer);
    return success();
  }
};

struct ConvertTesselAttentionToCudaKernelPass
    : tessel::impl::ConvertTesselAttentionToCudaKernelPassBase<
          ConvertTesselAttentionToCudaKernelPass> {
  void runOnOperation() override {
    // A module pass: the kernel's declaration goes into the module.
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerAttention>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
