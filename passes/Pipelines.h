//===- Pipelines.h - tessel pass pipelines ----------------------*- C++ -*-===//

#ifndef TESSEL_PASSES_PIPELINES_H
#define TESSEL_PASSES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::tessel {

/// What the driver asks of the pipelines.
struct CompileOptions {
  /// 0: the raw import; 1+: clean-up (shape inference, constant folding,
  /// CSE, dead-code removal).
  int optLevel = 2;
  /// Add `prefill`/`decode` entry points over a paged KV cache
  /// (tessel-insert-kv-cache; needs optLevel >= 1 for fused attention).
  bool kvCache = false;
};

/// Shape inference, folding of shape subgraphs, CSE and dead-code removal on
/// every function of a module.
void buildCleanupPipeline(OpPassManager &pm);

/// The graph-level pipeline for `options.optLevel` (empty at -O0).
void buildGraphPipeline(OpPassManager &pm, const CompileOptions &options);

/// Registers the pipelines with the pass registry (`tessel-cleanup`).
void registerTesselPipelines();

} // namespace mlir::tessel

#endif // TESSEL_PASSES_PIPELINES_H
