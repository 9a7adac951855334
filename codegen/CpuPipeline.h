//===- CpuPipeline.h - the CPU code generation pipeline ---------*- C++ -*-===//

#ifndef TESSEL_CODEGEN_CPUPIPELINE_H
#define TESSEL_CODEGEN_CPUPIPELINE_H

#include "mlir/Pass/PassManager.h"

namespace mlir::tessel {

/// Optimised tessel IR -> linalg on tensors (the form `--emit=linalg` prints).
void buildCpuLinalgPipeline(OpPassManager &pm);

/// linalg on tensors -> buffers with identity layouts at function
/// boundaries, copies as linalg.copy, deallocations inserted. The first step
/// of both the CPU and the CUDA LLVM pipelines.
void buildBufferizationPipeline(OpPassManager &pm);

/// Options of the CPU lowering.
struct CpuPipelineOptions {
  /// f32 matrix products call OpenBLAS (else they become loops).
  bool useBlas = true;
};

/// linalg on tensors -> bufferized loops -> LLVM dialect (`--emit=llvm`).
void buildCpuLLVMPipeline(OpPassManager &pm,
                          const CpuPipelineOptions &options = {});

/// Registers `tessel-cpu-linalg` and `tessel-cpu-llvm` with the registry.
void registerCpuPipelines();

} // namespace mlir::tessel

#endif // TESSEL_CODEGEN_CPUPIPELINE_H
