//===- MaskStructure.h - what an attention mask keeps -----------*- C++ -*-===//
//
// Exported decoders build their [batch, 1, seq_q, seq_kv] attention mask at
// run time: position ranges compared with each other (causal, sliding
// window) and the `attention_mask` input looked up per batch row and key
// (padding), combined with And and turned into an additive mask with
// Where(keep, 0, fill). Fusing attention with that materialised mask would
// keep a seq_q x seq_kv tensor alive and hide the causal structure from the
// tiled lowering. `analyzeMaskStructure` recovers the structure instead:
//
//   keep(b, h, i, j) = minOffset <= j - i <= maxOffset
//                      and every key term K[b, ..., j] is true
//
// by evaluating the mask's producers abstractly: integer tensors as affine
// functions of their own coordinates (Range, Unsqueeze, Expand, Add, Mul
// ...), boolean tensors as conjunctions of linear constraints on those
// coordinates and of "terms" (boolean tensors, such as the cast
// attention_mask, read at some of the coordinates). Every step that moves a
// coordinate through a broadcast proves, with ShapeFacts, that the dim it
// ranges over is the result's dim; what cannot be proved is not recovered,
// and the fused op then keeps the materialised mask.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_PASSES_MASKSTRUCTURE_H
#define TESSEL_PASSES_MASKSTRUCTURE_H

#include "passes/ShapeFacts.h"

#include <limits>
#include <string>

namespace mlir::tessel::fusion {

struct MaskStructure {
  /// Bounds on j - i (key index minus query index); none when unbounded.
  std::optional<int64_t> minOffset, maxOffset;
  /// A boolean tensor whose dims lie on the score axes `axes` (strictly
  /// increasing, never the query axis 2); keep needs it true (false when
  /// negated).
  struct Term {
    Value value;
    SmallVector<int64_t, 4> axes;
    bool negated = false;
  };
  SmallVector<Term, 2> terms;
  /// What a masked score becomes: -inf for boolean masks and -inf fills, or
  /// the finite fill (such as float32 lowest) of an additive mask.
  double fill = -std::numeric_limits<double>::infinity();
};

/// The structure of `mask` (bool: keeps true positions, or false ones when
/// `invert`; float: an additive 0 / fill mask) over scores with the 4 dims
/// `scoreDims`. Fails, saying why in `why`, where it cannot be proved.
FailureOr<MaskStructure> analyzeMaskStructure(Value mask, bool invert,
                                              ShapeFacts &facts,
                                              ArrayRef<Monomial> scoreDims,
                                              std::string &why);

} // namespace mlir::tessel::fusion

#endif // TESSEL_PASSES_MASKSTRUCTURE_H
