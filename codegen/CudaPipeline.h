//===- CudaPipeline.h - the CUDA code generation pipeline -------*- C++ -*-===//
//
// linalg on tensors (the same form the CPU target starts from, see
// CpuPipeline.h) -> GPU kernels (PTX) + host code in the LLVM dialect.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_CODEGEN_CUDAPIPELINE_H
#define TESSEL_CODEGEN_CUDAPIPELINE_H

#include "mlir/Pass/PassManager.h"

#include <string>

namespace mlir::tessel {

struct CudaPipelineOptions {
  /// The oldest GPU the PTX must run on; the driver compiles PTX for newer
  /// ones (sm_90 included) when the model is loaded.
  std::string chip = "sm_80";
  /// libdevice bitcode, linked into every kernel module that calls the
  /// CUDA math library; empty: none (f32 math is approximated by
  /// tessel-approximate-math before the kernels are outlined).
  std::string libdevice;
  /// Matrix products call the runtime's `tessel_cuda_sgemm` (f32) and
  /// `tessel_cuda_gemm_mixed` (f16/bf16 operands into f32), both cuBLAS,
  /// instead of becoming generated kernels.
  bool useCublas = true;
  /// Kernel launches do not wait for the kernel; the host waits where it
  /// touches memory (tessel-async-gpu-launches).
  bool asyncLaunches = true;
};

/// tessel -> linalg on tensors for the CUDA target: f16/bf16 attention the
/// runtime's tensor-core kernel computes becomes a call to it
/// (convert-tessel-attention-to-cuda-kernel), the rest as on the CPU
/// (buildCpuLinalgPipeline).
void buildCudaLinalgPipeline(OpPassManager &pm);

/// linalg on tensors -> bufferized -> one kernel per loop nest (PTX) + host
/// code calling the runtime's mgpu* entry points (`--emit=llvm`).
void buildCudaLLVMPipeline(OpPassManager &pm,
                           const CudaPipelineOptions &options = {});

/// The libdevice bitcode of the CUDA toolkit, when one is found ($CUDA_HOME,
/// $CUDA_PATH, the directory of `nvcc` on PATH, /usr/local/cuda).
std::string findLibdevice();

/// Registers `tessel-cuda-linalg` and `tessel-cuda-llvm`.
void registerCudaPipelines();

} // namespace mlir::tessel

#endif // TESSEL_CODEGEN_CUDAPIPELINE_H
