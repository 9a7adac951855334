//===- CpuPipeline.cpp - the CPU code generation pipeline -----------------===//

#include "codegen/CpuPipeline.h"
#include "codegen/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::tessel;

void mlir::tessel::buildCpuLinalgPipeline(OpPassManager &pm) {
  // Attention becomes a tiled online-softmax loop nest (no seq_q x seq_kv
  // scores); ops the lowering does not take get no tiles and stay for the
  // expansion below.
  pm.addNestedPass<func::FuncOp>(createTesselTileAttentionPass());
  pm.addNestedPass<func::FuncOp>(createConvertTesselAttentionToLoopsPass());
  // Ops the CPU target has no dedicated lowering for become primitive ops.
  pm.addNestedPass<func::FuncOp>(createTesselExpandCompositeOpsPass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  // Operands proven to have the result's shape skip the run-time broadcast
  // check (which would split element-wise chains into unfusable pieces).
  pm.addNestedPass<func::FuncOp>(createTesselMarkSameShapeOperandsPass());
  // Reshape targets the exporter computed from the input's own shape become
  // constants, so that the lowering emits expand/collapse_shape (which
  // fusion sees through) instead of tensor.reshape.
  pm.addNestedPass<func::FuncOp>(createTesselResolveReshapeShapesPass());
  // The model ABI: weights from a buffer argument, fresh result buffers.
  pm.addPass(createTesselOutlineWeightsPass());
  // Attention over the paged KV cache is a libtessel_rt kernel.
  pm.addPass(createConvertTesselKvAttentionToRuntimePass());
  pm.addNestedPass<func::FuncOp>(createConvertTesselToLinalgPass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createCSEPass());
  // Producer/consumer element-wise chains become one loop nest.
  pm.addNestedPass<func::FuncOp>(createTesselFuseElementwisePass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  // f16/bf16 (--precision): a fused loop nest computes in f32 and rounds
  // where it stores.
  pm.addNestedPass<func::FuncOp>(createTesselWidenNarrowFloatMathPass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createCSEPass());
}

void mlir::tessel::buildBufferizationPipeline(OpPassManager &pm) {
  bufferization::OneShotBufferizationOptions bufferization;
  bufferization.bufferizeFunctionBoundaries = true;
  bufferization.setFunctionBoundaryTypeConversion(
      bufferization::LayoutMapOption::IdentityLayoutMap);
  // Copies become linalg.copy, i.e. loops (or kernels): model.so needs no
  // MLIR runtime library (memref.copy would call memrefCopy from it).
  bufferization.memCpyFn = [](OpBuilder &b, Location loc, Value from,
                              Value to) {
    b.create<linalg::CopyOp>(loc, from, to);
    return success();
  };
  pm.addPass(bufferization::createOneShotBufferizePass(bufferization));
  bufferization::BufferDeallocationPipelineOptions deallocation;
  bufferization::buildBufferDeallocationPipeline(pm, deallocation);
}

void mlir::tessel::buildCpuLLVMPipeline(OpPassManager &pm,
                                        const CpuPipelineOptions &options) {
  buildBufferizationPipeline(pm);
  // f32 matrix products go to OpenBLAS; the rest becomes loops.
  if (options.useBlas)
    pm.addPass(createTesselLinalgToBlasPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addNestedPass<func::FuncOp>(createTesselApproximateMathPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertMathToFuncs());
  // bf16 <-> f32 conversions as integer arithmetic: LLVM would call
  // __truncsfbf2, which Debian 12's libgcc (GCC 12) lacks.
  {
    arith::ArithExpandOpsPassOptions expand;
    expand.includeBf16 = true;
    pm.addPass(arith::createArithExpandOpsPass(expand));
  }
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::tessel::registerCpuPipelines() {
  PassPipelineRegistration<>("tessel-cpu-linalg",
                             "tessel -> linalg on tensors (CPU target)",
                             buildCpuLinalgPipeline);
  PassPipelineRegistration<>("tessel-cpu-llvm",
                             "linalg on tensors -> LLVM dialect (CPU target)",
                             [](OpPassManager &pm) { buildCpuLLVMPipeline(pm); });
}
