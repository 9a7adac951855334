//===- ShapeUtils.h - shape helpers shared by inference and passes -*- C++ -*-//

#ifndef TESSEL_DIALECT_SHAPEUTILS_H
#define TESSEL_DIALECT_SHAPEUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"
#include <optional>

namespace mlir::tessel {

/// Numpy broadcast of two shapes; std::nullopt when two static dims differ
/// and neither is 1. A dynamic dim against 1 stays dynamic.
std::optional<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                    ArrayRef<int64_t> b);

/// The integer values of a constant 1-D/0-D tensor, if `v` is one.
std::optional<SmallVector<int64_t>> getConstantIntValues(Value v);

/// What is known of the values of a 1-D i64 "shape" tensor: one entry per
/// element, ShapedType::kDynamic where unknown. Looks through constants,
/// `tessel.shape`, `tessel.concat`, `tessel.unsqueeze`, `tessel.cast`,
/// `tessel.gather` of shapes. std::nullopt when even the length is unknown.
std::optional<SmallVector<int64_t>> getKnownShapeValues(Value v);

/// Normalises a possibly negative axis for `rank`; std::nullopt if out of
/// [-rank, rank).
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);

} // namespace mlir::tessel

#endif // TESSEL_DIALECT_SHAPEUTILS_H
