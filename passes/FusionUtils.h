//===- FusionUtils.h - helpers shared by the fusion passes ------*- C++ -*-===//
//
// Small matchers the tessel-fuse-* passes share: scalar constants, float
// tolerances, fused locations.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_PASSES_FUSIONUTILS_H
#define TESSEL_PASSES_FUSIONUTILS_H

#include "dialect/TesselOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <optional>

namespace mlir::tessel::fusion {

/// The value of `v` if it is a splat float constant whose every dim is 1
/// (rank 0 included): broadcasting it never changes another operand's shape
/// unless its rank is larger.
inline std::optional<double> getScalarFloat(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !isa<FloatType>(type.getElementType()) ||
      llvm::any_of(type.getShape(), [](int64_t d) { return d != 1; }))
    return std::nullopt;
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// Rank of `v`'s type, or -1 when unranked.
inline int64_t rankOf(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type ? type.getRank() : -1;
}

/// `getScalarFloat(v)` when `v`'s rank is at most `maxRank`, i.e. when
/// broadcasting it against a rank-`maxRank` tensor keeps that tensor's shape.
inline std::optional<double> getScalarFloatUpToRank(Value v, int64_t maxRank) {
  if (rankOf(v) < 0 || rankOf(v) > maxRank)
    return std::nullopt;
  return getScalarFloat(v);
}

/// True when `value` is `expected` within two units of the last place of
/// `elementType` (1e-6 relative at least): what an exporter may have
/// rounded a constant such as sqrt(2/pi) to.
inline bool isCloseTo(double value, double expected, Type elementType) {
  double tolerance = 1e-6;
  if (auto floatType = dyn_cast<FloatType>(elementType))
    tolerance =
        std::max(tolerance,
                 2 * std::ldexp(1.0, 1 - (int)llvm::APFloat::semanticsPrecision(
                                             floatType.getFloatSemantics())));
  return std::fabs(value - expected) <= tolerance * std::fabs(expected);
}

/// The operand of the two-operand `op` that is not `v` (the first if both
/// are `v`).
inline Value otherOperand(Operation *op, Value v) {
  return op->getOperand(0) == v ? op->getOperand(1) : op->getOperand(0);
}

/// `v`'s defining op as `OpTy` when `v` has no other use.
template <typename OpTy> OpTy singleUseDef(Value v) {
  if (!v || !v.hasOneUse())
    return nullptr;
  return v.getDefiningOp<OpTy>();
}

/// The only user of `v`, if it has exactly one use.
inline Operation *singleUser(Value v) {
  if (!v.hasOneUse())
    return nullptr;
  return *v.getUsers().begin();
}

/// A location fusing the locations of `ops`, in block order, so that the
/// fused op keeps every ONNX node name it replaces.
inline Location fusedLocation(MLIRContext *context,
                              SmallVector<Operation *> ops) {
  llvm::sort(ops, [](Operation *a, Operation *b) {
    return a->getBlock() == b->getBlock() ? a->isBeforeInBlock(b) : a < b;
  });
  ops.erase(std::unique(ops.begin(), ops.end()), ops.end());
  SmallVector<Location> locs;
  for (Operation *op : ops)
    locs.push_back(op->getLoc());
  return FusedLoc::get(context, locs);
}

} // namespace mlir::tessel::fusion

#endif // TESSEL_PASSES_FUSIONUTILS_H
