//===- AttentionLowering.h - tiled attention lowering facts ----*- C++ -*-===//
//
// Shared by tessel-tile-attention (which only tiles ops the lowering takes)
// and convert-tessel-attention-to-loops.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_CODEGEN_ATTENTIONLOWERING_H
#define TESSEL_CODEGEN_ATTENTIONLOWERING_H

#include "dialect/TesselOps.h"

#include <string>

namespace mlir::tessel {

/// The static facts of a `tessel.attention` that the loop lowering relies on.
struct AttentionPlan {
  /// [B, S, H*D] operands (else [B, H, S, D]).
  bool threeD = false;
  int64_t qHeads = 0, kvHeads = 0;
  /// Head dims of q/k and of v.
  int64_t headDim = 0, vHeadDim = 0;
  /// The scale applied to q x k^T (the default 1/sqrt(headDim) resolved).
  double scale = 1.0;
  /// q/k/v's element type, and the one scores and sums are computed in
  /// (f32 for narrower floats).
  Type element, accumulator;
};

/// Checks that convert-tessel-attention-to-loops can lower `op` (tile sizes
/// aside) and fills `plan`; otherwise says why in `reason`.
LogicalResult planAttentionLowering(AttentionOp op, AttentionPlan &plan,
                                    std::string &reason);

} // namespace mlir::tessel

#endif // TESSEL_CODEGEN_ATTENTIONLOWERING_H
