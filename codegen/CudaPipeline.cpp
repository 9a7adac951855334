//===- CudaPipeline.cpp - the CUDA code generation pipeline ---------------===//
//
// The first CUDA path: every linalg op becomes an scf.parallel loop nest,
// mapped to a GPU grid and outlined into its own kernel, compiled to PTX by
// LLVM's NVPTX backend; reductions along the innermost dim (norms) get a
// warp or block per row instead (tessel-launch-row-reductions). Host code keeps the loops that are not parallel
// (the attention tile loops, scalar shape arithmetic), allocates with the
// runtime's managed allocator (finalize-memref-to-llvm with generic
// functions: `_mlir_memref_to_llvm_alloc`), and launches through the
// runtime's mgpu* entry points. Correct for every op the CPU target runs;
// the fast paths (cuBLASLt products, the tensor-core attention kernel,
// fused element-wise kernels) replace pieces of it.
//
//===----------------------------------------------------------------------===//

#include "codegen/CudaPipeline.h"
#include "codegen/CpuPipeline.h"
#include "codegen/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::tessel;

std::string mlir::tessel::findLibdevice() {
  SmallVector<std::string> roots;
  for (const char *var : {"CUDA_HOME", "CUDA_PATH"})
    if (const char *v = std::getenv(var); v && *v)
      roots.push_back(v);
  if (auto nvcc = llvm::sys::findProgramByName("nvcc")) {
    SmallString<256> root(*nvcc);
    llvm::sys::path::remove_filename(root); // bin
    llvm::sys::path::remove_filename(root); // the toolkit
    roots.push_back(root.str().str());
  }
  roots.push_back("/usr/local/cuda");
  for (const std::string &root : roots) {
    SmallString<256> path(root);
    llvm::sys::path::append(path, "nvvm", "libdevice", "libdevice.10.bc");
    if (llvm::sys::fs::exists(path))
      return path.str().str();
  }
  return "";
}

void mlir::tessel::buildCudaLinalgPipeline(OpPassManager &pm) {
  // First, while tessel.attention is whole: the tiled loop lowering of the
  // CPU pipeline takes what is left.
  pm.addPass(createConvertTesselAttentionToCudaKernelPass());
  // Attention over the paged cache: the runtime's CUDA cache and kernels.
  ConvertTesselKvAttentionToRuntimePassOptions kv;
  kv.target = "cuda";
  pm.addPass(createConvertTesselKvAttentionToRuntimePass(kv));
  buildCpuLinalgPipeline(pm);
}

void mlir::tessel::buildCudaLLVMPipeline(OpPassManager &pm,
                                         const CudaPipelineOptions &options) {
  buildBufferizationPipeline(pm);
  // Matrix products (f32, and f16/bf16 operands into f32): cuBLAS, through
  // the runtime.
  if (options.useCublas) {
    TesselLinalgToBlasPassOptions blas;
    blas.gemm = "tessel_cuda_sgemm";
    blas.mixedGemm = "tessel_cuda_gemm_mixed";
    pm.addPass(createTesselLinalgToBlasPass(blas));
  }

  // Reductions along the innermost dim: a warp or block per row.
  pm.addNestedPass<func::FuncOp>(createTesselLaunchRowReductionsPass());
  // Every other linalg op: parallel loops, tiled into blocks of threads, ->
  // a GPU grid (other reductions stay loops inside the kernel).
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createTesselTileGpuLoopsPass());
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createParallelLoopToGpuPass());
  // Constants the kernels read move to device-reachable memory.
  pm.addNestedPass<func::FuncOp>(createTesselStageGpuConstantsPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addNestedPass<func::FuncOp>(createTesselApproximateMathPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createGpuKernelOutliningPass());

  // Kernels -> NVVM.
  static std::vector<std::string> linkLibs;
  linkLibs.clear();
  if (!options.libdevice.empty())
    linkLibs.push_back(options.libdevice);
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = "+ptx70";
  target.optLevel = 3;
  target.linkLibs = linkLibs;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());

  // Host: launches without a wait each; the host waits where it touches
  // memory.
  if (options.asyncLaunches)
    pm.addPass(createTesselAsyncGpuLaunchesPass());
  // Host: managed allocations through the runtime, launches through mgpu*.
  FinalizeMemRefToLLVMConversionPassOptions memrefs;
  memrefs.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefs));
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
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
  // PTX text: the driver compiles it for the GPU it runs on.
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void mlir::tessel::registerCudaPipelines() {
  PassPipelineRegistration<>(
      "tessel-cuda-linalg",
      "tessel -> linalg on tensors (CUDA target: f16/bf16 attention calls "
      "the runtime's FlashAttention kernel)",
      buildCudaLinalgPipeline);
  PassPipelineRegistration<>(
      "tessel-cuda-llvm",
      "linalg on tensors -> GPU kernels (PTX) + host LLVM dialect (CUDA)",
      [](OpPassManager &pm) {
        CudaPipelineOptions options;
        options.libdevice = findLibdevice();
        buildCudaLLVMPipeline(pm, options);
      });
}
