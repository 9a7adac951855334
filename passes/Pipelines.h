//===- Pipelines.h - tessel pass pipelines ----------------------*- C++ -*-===//

#ifndef TESSEL_PASSES_PIPELINES_H
#define TESSEL_PASSES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

#include <string>

namespace mlir::tessel {

/// What the driver asks of the pipelines.
struct CompileOptions {
  /// 0: the raw import; 1+: clean-up (shape inference, constant folding,
  /// CSE, dead-code removal).
  int optLevel = 2;
  /// Add `prefill`/`decode` entry points over a paged KV cache
  /// (tessel-insert-kv-cache; needs optLevel >= 1 for fused attention).
  bool kvCache = false;
  /// "fp32", "fp16" or "bf16": the precision of weights and activations
  /// (tessel-convert-precision; applies at every optLevel).
  std::string precision = "fp32";
  /// With kvCache and a narrow precision: the cache (and its attention)
  /// holds the narrow type too (the CUDA target), instead of f32 (the CPU's
  /// cache kernel).
  bool narrowKvCache = false;
};

/// Shape inference, folding of shape subgraphs, CSE and dead-code removal on
/// every function of a module.
void buildCleanupPipeline(OpPassManager &pm);

/// The graph-level pipeline for `options`: the optimizations of
/// `options.optLevel`, then the precision conversion.
void buildGraphPipeline(OpPassManager &pm, const CompileOptions &options);

/// The optimizations of `options.optLevel` (empty at -O0).
void buildOptimizePipeline(OpPassManager &pm, const CompileOptions &options);

/// Registers the pipelines with the pass registry (`tessel-cleanup`).
void registerTesselPipelines();

} // namespace mlir::tessel

#endif // TESSEL_PASSES_PIPELINES_H
