//===- ConstantEvaluator.h - evaluate tessel ops on constants ---*- C++ -*-===//
//
// A small interpreter for the ops that fill exported shape subgraphs and mask
// construction. Used by the constant folding pass; never by codegen.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_DIALECT_CONSTANTEVALUATOR_H
#define TESSEL_DIALECT_CONSTANTEVALUATOR_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"
#include "mlir/Support/LogicalResult.h"

namespace mlir::tessel {

/// Evaluates `op` on constant operands. `operands[i]` is the constant value
/// of operand i (a DenseElementsAttr) or null when that operand is not a
/// constant. Succeeds with one DenseElementsAttr per result, each with a
/// static shape; fails (without diagnostics) when the op is not supported, a
/// needed operand is not constant, or a result would hold more than
/// `maxElements` elements (splat results are always allowed).
/// `tessel.shape` and `tessel.size` need no constant operand: they evaluate
/// whenever the dims they read are static.
FailureOr<SmallVector<DenseElementsAttr>>
evaluateConstantOp(Operation *op, ArrayRef<Attribute> operands,
                   int64_t maxElements);

} // namespace mlir::tessel

#endif // TESSEL_DIALECT_CONSTANTEVALUATOR_H
