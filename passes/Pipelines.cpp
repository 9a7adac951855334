//===- Pipelines.cpp - tessel pass pipelines ------------------------------===//

#include "passes/Pipelines.h"
#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::tessel;

void mlir::tessel::buildCleanupPipeline(OpPassManager &pm) {
  OpPassManager &fn = pm.nest<func::FuncOp>();
  // Types first: folding and the later passes see the most static shapes.
  fn.addPass(createTesselInferShapesPass());
  // Evaluate shape subgraphs and mask construction over constants.
  fn.addPass(createTesselFoldConstantsPass());
  // Remove what folding left dead, merge duplicate constants.
  fn.addPass(createCanonicalizerPass());
  fn.addPass(createCSEPass());
  // CSE exposes new folds (two Shape ops of one value, ...): one more round.
  fn.addPass(createTesselFoldConstantsPass());
  fn.addPass(createCanonicalizerPass());
}

void mlir::tessel::buildGraphPipeline(OpPassManager &pm,
                                      const CompileOptions &options) {
  buildOptimizePipeline(pm, options);
  if (options.precision != "fp32") {
    // Last: the fusion patterns match the exporters' f32 graphs.
    TesselConvertPrecisionPassOptions precision;
    precision.precision = options.precision;
    precision.narrowKvCache = options.narrowKvCache;
    pm.addPass(createTesselConvertPrecisionPass(precision));
    if (options.optLevel > 0)
      pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  }
}

void mlir::tessel::buildOptimizePipeline(OpPassManager &pm,
                                         const CompileOptions &options) {
  if (options.optLevel <= 0)
    return;
  buildCleanupPipeline(pm);
  // Spelled-out RMSNorm/LayerNorm, GELU/SiLU and rotate-half rotary
  // embeddings become single ops; canonicalize removes the dead chains.
  pm.addNestedPass<func::FuncOp>(createTesselFuseNormsPass());
  pm.addNestedPass<func::FuncOp>(createTesselFuseActivationsPass());
  pm.addNestedPass<func::FuncOp>(createTesselFuseRotaryPass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  // Each attention block becomes one tessel.attention; canonicalize removes
  // the q/k/v plumbing (transposes, repeat_kv) the fused op no longer reads.
  pm.addNestedPass<func::FuncOp>(createTesselFuseAttentionPass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  if (options.kvCache) {
    // prefill/decode over the paged cache; folding settles the types the
    // rebased positions changed and removes what the masks left.
    pm.addPass(createTesselInsertKvCachePass());
    pm.addNestedPass<func::FuncOp>(createTesselInferShapesPass());
    pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
    pm.addNestedPass<func::FuncOp>(createCSEPass());
  }
}

void mlir::tessel::registerTesselPipelines() {
  PassPipelineRegistration<>(
      "tessel-cleanup",
      "Shape inference, constant folding of shape subgraphs, CSE, DCE",
      [](OpPassManager &pm) { buildCleanupPipeline(pm); });
}
