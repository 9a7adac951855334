//===- ShapeUtils.cpp - shape helpers -------------------------------------===//

#include "dialect/ShapeUtils.h"
#include "dialect/TesselOps.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::tessel;

std::optional<SmallVector<int64_t>>
mlir::tessel::broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x == 1) {
      out[i] = y;
    } else if (y == 1) {
      out[i] = x;
    } else if (ShapedType::isDynamic(x)) {
      out[i] = y;
    } else if (ShapedType::isDynamic(y) || x == y) {
      out[i] = x;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<SmallVector<int64_t>>
mlir::tessel::getConstantIntValues(Value v) {
  if (!v)
    return std::nullopt;
  DenseIntElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  if (attr.getType().getRank() > 1)
    return std::nullopt;
  SmallVector<int64_t> values;
  for (const APInt &x : attr.getValues<APInt>())
    values.push_back(x.getBitWidth() == 1 ? x.getZExtValue() : x.getSExtValue());
  return values;
}

std::optional<int64_t> mlir::tessel::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

/// Length of a 1-D tensor (or 1 for a 0-D one) when the type says it.
static std::optional<int64_t> staticVectorLength(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() > 1)
    return std::nullopt;
  if (type.getRank() == 0)
    return 1;
  if (type.isDynamicDim(0))
    return std::nullopt;
  return type.getDimSize(0);
}

std::optional<SmallVector<int64_t>>
mlir::tessel::getKnownShapeValues(Value v) {
  if (auto values = getConstantIntValues(v))
    return values;
  Operation *def = v.getDefiningOp();
  if (auto shape = dyn_cast_or_null<ShapeOp>(def)) {
    auto type = dyn_cast<RankedTensorType>(shape.getData().getType());
    if (type) {
      int64_t rank = type.getRank();
      int64_t start = shape.getStart();
      int64_t end = shape.getEnd().value_or(rank);
      start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
      end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
      SmallVector<int64_t> dims;
      for (int64_t i = start; i < end; ++i)
        dims.push_back(type.getDimSize(i));
      return dims;
    }
  } else if (auto concat = dyn_cast_or_null<ConcatOp>(def)) {
    SmallVector<int64_t> all;
    for (Value part : concat.getInputs()) {
      auto known = getKnownShapeValues(part);
      if (!known)
        return std::nullopt;
      all.append(*known);
    }
    return all;
  } else if (auto unsqueeze = dyn_cast_or_null<UnsqueezeOp>(def)) {
    if (staticVectorLength(unsqueeze.getData()) == 1)
      return getKnownShapeValues(unsqueeze.getData());
  } else if (auto squeeze = dyn_cast_or_null<SqueezeOp>(def)) {
    if (staticVectorLength(squeeze.getData()) == 1)
      return getKnownShapeValues(squeeze.getData());
  } else if (auto cast = dyn_cast_or_null<CastOp>(def)) {
    // Integer casts map each known value; unknown ones stay unknown.
    auto from = dyn_cast<IntegerType>(
        getElementTypeOrSelf(cast.getInput().getType()));
    auto to = dyn_cast<IntegerType>(cast.getTo());
    if (from && to) {
      if (auto known = getKnownShapeValues(cast.getInput())) {
        for (int64_t &v : *known) {
          if (ShapedType::isDynamic(v))
            continue;
          APInt bits(64, v, /*isSigned=*/true);
          if (to.getWidth() == 1)
            v = v != 0;
          else if (to.isUnsigned())
            v = bits.trunc(to.getWidth()).getZExtValue();
          else
            v = bits.trunc(to.getWidth()).getSExtValue();
        }
        return known;
      }
    }
  } else if (auto slice = dyn_cast_or_null<SliceOp>(def)) {
    // Slices of shape vectors: pick the known entries.
    auto source = getKnownShapeValues(slice.getData());
    auto starts = getConstantIntValues(slice.getStarts());
    auto ends = getConstantIntValues(slice.getEnds());
    auto axes = getConstantIntValues(slice.getAxes());
    auto steps = getConstantIntValues(slice.getSteps());
    if (source && starts && ends && axes && steps && starts->size() == 1 &&
        ends->size() == 1 && axes->size() == 1 && steps->size() == 1 &&
        ((*axes)[0] == 0 || (*axes)[0] == -1) && (*steps)[0] != 0) {
      int64_t n = source->size(), step = (*steps)[0];
      // Same clamping as ONNX Slice, in 128 bits for INT64_MAX/MIN bounds.
      __int128 start = (*starts)[0], end = (*ends)[0];
      if (start < 0)
        start += n;
      if (end < 0)
        end += n;
      SmallVector<int64_t> picked;
      if (step > 0) {
        start = std::clamp<__int128>(start, 0, n);
        end = std::clamp<__int128>(end, 0, n);
        for (__int128 i = start; i < end; i += step)
          picked.push_back((*source)[(int64_t)i]);
      } else if (n > 0) {
        start = std::clamp<__int128>(start, 0, n - 1);
        end = std::clamp<__int128>(end, -1, n - 1);
        for (__int128 i = start; i > end; i += step)
          picked.push_back((*source)[(int64_t)i]);
      }
      return picked;
    }
  } else if (auto gather = dyn_cast_or_null<GatherOp>(def)) {
    auto source = getKnownShapeValues(gather.getData());
    auto indices = getConstantIntValues(gather.getIndices());
    if (source && indices && gather.getAxis() == 0) {
      SmallVector<int64_t> picked;
      int64_t n = source->size();
      for (int64_t index : *indices) {
        if (index < -n || index >= n)
          return std::nullopt;
        picked.push_back((*source)[index < 0 ? index + n : index]);
      }
      return picked;
    }
  }
  if (auto length = staticVectorLength(v))
    return SmallVector<int64_t>(*length, ShapedType::kDynamic);
  return std::nullopt;
}
