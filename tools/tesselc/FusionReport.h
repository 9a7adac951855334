//===- FusionReport.h - what the graph pipeline fused, as JSON --*- C++ -*-===//
//
// `tesselc --report=FILE.json` writes:
//
//   {
//     "model": "<input path>", "opt_level": 2, "target": "cpu",
//     "ops": [                                  // in program order
//       {"kind": "rms_normalization", "fused": true, "layer": 0,
//        "node": "/m/model/layers.0/input_layernorm/Pow",
//        "nodes": ["/m/model/layers.0/input_layernorm/Pow", ...],
//        "attributes": {"axis": -1, "epsilon": 1e-06, "stash_type": 1}},
//       {"kind": "attention", "fused": true, "layer": 0, "node": ...,
//        "nodes": [...], "attributes": {"heads": 4, "kv_heads": 2,
//        "scale": 0.25, "causal": false, "window": [-1, -1],
//        "fully_masked_rows": "nan", "mask": true, "softcap": 0.0,
//        "tile_q": 16, "tile_kv": 128}},
//       {"kind": "attention", "fused": false, "layer": 1, "node": ...,
//        "nodes": [...], "reason": "..."},
//       ...
//     ],
//     "layers": [{"layer": 0, "fused": ["rms_normalization", ...],
//                 "unfused": []}, ...],
//     "summary": {"attention": {"fused": 2, "unfused": 0}, ...}
//   }
//
// One entry per tessel.attention / layer_normalization / rms_normalization /
// gelu / silu / rotary_embedding op, and one ("fused": false) per op that a
// fusion pass marked with the discardable attribute `tessel.unfused =
// "<reason>"`; its kind is `tessel.unfused_kind` when set, else "attention"
// (tessel-fuse-attention marks the softmax of a block it could not fuse).
// "nodes" are the ONNX node names in the op's location (a fused location
// lists every node the op replaced), "node" is the first of them, "layer"
// the block index found in the names (`layers.N`, `layer.N`, `h.N`,
// `blocks.N`), null when the names carry none (dynamo exports name nodes
// `node_<op>_<n>`).
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_TOOLS_TESSELC_FUSIONREPORT_H
#define TESSEL_TOOLS_TESSELC_FUSIONREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

namespace mlir::tessel {

/// The report of `module` (the graph after the pipeline; attention tile
/// sizes are reported where the ops carry them).
llvm::json::Object buildFusionReport(ModuleOp module, llvm::StringRef model,
                                     int optLevel, llvm::StringRef target);

} // namespace mlir::tessel

#endif // TESSEL_TOOLS_TESSELC_FUSIONREPORT_H
