//===- TesselOps.cpp - tessel op type inference and verification ----------===//
//
// Each op infers its result types the way ONNX shape inference does. The
// inference doubles as the verifier: InferTypeOpInterface checks that the
// declared result types are compatible with what is inferred, and every
// inconsistency found on the way is reported with the values involved.
//
//===----------------------------------------------------------------------===//

#include "dialect/TesselOps.h"
#include "dialect/ShapeUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::tessel;

bool mlir::tessel::areCompatibleTensorTypes(TypeRange l, TypeRange r) {
  if (l.size() != r.size())
    return false;
  for (auto [a, b] : llvm::zip(l, r)) {
    auto ta = dyn_cast<TensorType>(a);
    auto tb = dyn_cast<TensorType>(b);
    if (!ta || !tb || ta.getElementType() != tb.getElementType())
      return false;
    if (failed(verifyCompatibleShape(ta, tb)))
      return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {
constexpr int64_t kDyn = ShapedType::kDynamic;

Type elementTypeOf(Value v) { return getElementTypeOrSelf(v.getType()); }

/// Dims of a ranked tensor value; std::nullopt if unranked.
std::optional<SmallVector<int64_t>> dimsOf(Value v) {
  if (auto type = dyn_cast<RankedTensorType>(v.getType()))
    return SmallVector<int64_t>(type.getShape());
  return std::nullopt;
}

Type tensorOf(ArrayRef<int64_t> dims, Type element) {
  return RankedTensorType::get(dims, element);
}

Type unrankedOf(Type element) { return UnrankedTensorType::get(element); }

std::string formatDims(ArrayRef<int64_t> dims) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(dims)) {
    if (i)
      s += ", ";
    s += ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
  }
  return s + "]";
}

int64_t productOrDynamic(ArrayRef<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (ShapedType::isDynamic(d))
      return kDyn;
    n *= d;
  }
  return n;
}

/// Resolves `axis` against `rank`, reporting an out-of-range axis.
FailureOr<int64_t> resolveAxis(std::optional<Location> loc, StringRef what,
                               int64_t axis, int64_t rank) {
  if (auto resolved = normalizeAxis(axis, rank))
    return *resolved;
  return emitOptionalError(loc, what, " ", axis, " is out of range for rank ",
                           rank, " (expected [", -rank, ", ", rank - 1, "])");
}

/// Resolves a list of axes, rejecting duplicates.
FailureOr<SmallVector<int64_t>> resolveAxes(std::optional<Location> loc,
                                            ArrayRef<int64_t> axes,
                                            int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t axis : axes) {
    FailureOr<int64_t> a = resolveAxis(loc, "axis", axis, rank);
    if (failed(a))
      return failure();
    if (llvm::is_contained(out, *a))
      return emitOptionalError(loc, "axis ", axis, " is repeated in axes");
    out.push_back(*a);
  }
  return out;
}

LogicalResult requireSameElementType(std::optional<Location> loc, Value a,
                                     Value b) {
  if (elementTypeOf(a) == elementTypeOf(b))
    return success();
  return emitOptionalError(loc, "operands have different element types (",
                           elementTypeOf(a), " vs ", elementTypeOf(b), ")");
}

/// Numpy broadcast of any number of operands into `resultElement` tensors.
LogicalResult inferBroadcast(std::optional<Location> loc, ValueRange operands,
                             Type resultElement,
                             SmallVectorImpl<Type> &types) {
  SmallVector<int64_t> dims;
  for (Value v : operands) {
    auto d = dimsOf(v);
    if (!d) {
      types.push_back(unrankedOf(resultElement));
      return success();
    }
    auto merged = broadcastShapes(dims, *d);
    if (!merged)
      return emitOptionalError(loc, "shapes ", formatDims(dims), " and ",
                               formatDims(*d), " are not broadcastable");
    dims = *merged;
  }
  types.push_back(tensorOf(dims, resultElement));
  return success();
}

LogicalResult inferBinary(std::optional<Location> loc, Value lhs, Value rhs,
                          SmallVectorImpl<Type> &types) {
  if (failed(requireSameElementType(loc, lhs, rhs)))
    return failure();
  return inferBroadcast(loc, {lhs, rhs}, elementTypeOf(lhs), types);
}

LogicalResult inferCompare(std::optional<Location> loc, Value lhs, Value rhs,
                           SmallVectorImpl<Type> &types) {
  if (failed(requireSameElementType(loc, lhs, rhs)))
    return failure();
  return inferBroadcast(loc, {lhs, rhs},
                        IntegerType::get(lhs.getContext(), 1), types);
}

/// Result type of a reduction over `axes` (empty: all, unless noop).
LogicalResult inferReduction(std::optional<Location> loc, Value data,
                             std::optional<ArrayRef<int64_t>> axes,
                             bool keepdims, bool noopWithEmptyAxes,
                             Type resultElement, SmallVectorImpl<Type> &types) {
  auto dims = dimsOf(data);
  if (!dims) {
    types.push_back(unrankedOf(resultElement));
    return success();
  }
  int64_t rank = dims->size();
  SmallVector<int64_t> reduced;
  if (!axes || axes->empty()) {
    if (noopWithEmptyAxes) {
      types.push_back(tensorOf(*dims, resultElement));
      return success();
    }
    for (int64_t i = 0; i < rank; ++i)
      reduced.push_back(i);
  } else {
    auto resolved = resolveAxes(loc, *axes, rank);
    if (failed(resolved))
      return failure();
    reduced = *resolved;
  }
  SmallVector<int64_t> out;
  for (int64_t i = 0; i < rank; ++i) {
    if (!llvm::is_contained(reduced, i))
      out.push_back((*dims)[i]);
    else if (keepdims)
      out.push_back(1);
  }
  types.push_back(tensorOf(out, resultElement));
  return success();
}

/// Slice bounds for one dim per ONNX: clamps start/end, handles negative
/// steps; returns the number of elements taken.
int64_t sliceLength(int64_t dim, int64_t start, int64_t end, int64_t step) {
  if (dim == 0)
    return 0;
  // 128-bit: ONNX exports use INT64_MAX/INT64_MIN ends and steps.
  __int128 s = start, e = end, st = step, d = dim;
  if (s < 0)
    s += d;
  if (e < 0)
    e += d;
  if (st > 0) {
    s = std::clamp<__int128>(s, 0, d);
    e = std::clamp<__int128>(e, 0, d);
    return e > s ? (int64_t)((e - s - 1) / st + 1) : 0;
  }
  s = std::clamp<__int128>(s, 0, d - 1);
  e = std::clamp<__int128>(e, -1, d - 1);
  return s > e ? (int64_t)((s - e - 1) / -st + 1) : 0;
}

/// Whether `from` broadcasts onto `to` one way (each dim 1 or equal).
bool broadcastsOnto(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  for (size_t i = 0; i < from.size(); ++i) {
    int64_t f = from[from.size() - 1 - i], t = to[to.size() - 1 - i];
    if (f != 1 && !ShapedType::isDynamic(f) && !ShapedType::isDynamic(t) &&
        f != t)
      return false;
  }
  return true;
}

/// A scalar operand: at most one element (a `?` may be 1 at run time).
bool mayBeScalar(ArrayRef<int64_t> dims) {
  int64_t n = productOrDynamic(dims);
  return ShapedType::isDynamic(n) || n == 1;
}
} // namespace

//===----------------------------------------------------------------------===//
// Element-wise ops
//===----------------------------------------------------------------------===//

#define TESSEL_INFER_SAME_AS(OP, GETTER)                                       \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location>,   \
                                     OP::Adaptor adaptor,                      \
                                     SmallVectorImpl<Type> &types) {           \
    types.push_back(adaptor.GETTER().getType());                               \
    return success();                                                          \
  }

TESSEL_INFER_SAME_AS(NegOp, getInput)
TESSEL_INFER_SAME_AS(AbsOp, getInput)
TESSEL_INFER_SAME_AS(SqrtOp, getInput)
TESSEL_INFER_SAME_AS(ReciprocalOp, getInput)
TESSEL_INFER_SAME_AS(ExpOp, getInput)
TESSEL_INFER_SAME_AS(LogOp, getInput)
TESSEL_INFER_SAME_AS(TanhOp, getInput)
TESSEL_INFER_SAME_AS(SigmoidOp, getInput)
TESSEL_INFER_SAME_AS(SiluOp, getInput)
TESSEL_INFER_SAME_AS(ErfOp, getInput)
TESSEL_INFER_SAME_AS(SinOp, getInput)
TESSEL_INFER_SAME_AS(CosOp, getInput)
TESSEL_INFER_SAME_AS(ReluOp, getInput)
TESSEL_INFER_SAME_AS(SoftplusOp, getInput)
TESSEL_INFER_SAME_AS(FloorOp, getInput)
TESSEL_INFER_SAME_AS(CeilOp, getInput)
TESSEL_INFER_SAME_AS(RoundOp, getInput)
TESSEL_INFER_SAME_AS(NotOp, getInput)
TESSEL_INFER_SAME_AS(IdentityOp, getInput)
TESSEL_INFER_SAME_AS(ScatterNDOp, getData)
TESSEL_INFER_SAME_AS(TriluOp, getInput)
TESSEL_INFER_SAME_AS(CumSumOp, getX)
TESSEL_INFER_SAME_AS(RotaryEmbeddingOp, getX)

#undef TESSEL_INFER_SAME_AS

#define TESSEL_INFER_BINARY(OP)                                                \
  LogicalResult OP::inferReturnTypes(MLIRContext *,                            \
                                     std::optional<Location> loc,              \
                                     OP::Adaptor adaptor,                      \
                                     SmallVectorImpl<Type> &types) {           \
    return inferBinary(loc, adaptor.getLhs(), adaptor.getRhs(), types);        \
  }

TESSEL_INFER_BINARY(AddOp)
TESSEL_INFER_BINARY(SubOp)
TESSEL_INFER_BINARY(MulOp)
TESSEL_INFER_BINARY(DivOp)
TESSEL_INFER_BINARY(MinOp)
TESSEL_INFER_BINARY(MaxOp)
TESSEL_INFER_BINARY(AndOp)
TESSEL_INFER_BINARY(OrOp)
TESSEL_INFER_BINARY(XorOp)

#undef TESSEL_INFER_BINARY

#define TESSEL_INFER_COMPARE(OP)                                               \
  LogicalResult OP::inferReturnTypes(MLIRContext *,                            \
                                     std::optional<Location> loc,              \
                                     OP::Adaptor adaptor,                      \
                                     SmallVectorImpl<Type> &types) {           \
    return inferCompare(loc, adaptor.getLhs(), adaptor.getRhs(), types);       \
  }

TESSEL_INFER_COMPARE(EqualOp)
TESSEL_INFER_COMPARE(LessOp)
TESSEL_INFER_COMPARE(LessOrEqualOp)
TESSEL_INFER_COMPARE(GreaterOp)
TESSEL_INFER_COMPARE(GreaterOrEqualOp)

#undef TESSEL_INFER_COMPARE

LogicalResult PowOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      PowOp::Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  return inferBroadcast(loc, {adaptor.getLhs(), adaptor.getRhs()},
                        elementTypeOf(adaptor.getLhs()), types);
}

LogicalResult GeluOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       GeluOp::Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  StringRef mode = adaptor.getApproximate();
  if (mode != "none" && mode != "tanh")
    return emitOptionalError(loc, "approximate must be \"none\" or \"tanh\", "
                                  "got \"",
                             mode, "\"");
  types.push_back(adaptor.getInput().getType());
  return success();
}

static Type boolTensorLike(Value v) {
  Type i1 = IntegerType::get(v.getContext(), 1);
  if (auto dims = dimsOf(v))
    return tensorOf(*dims, i1);
  return unrankedOf(i1);
}

LogicalResult IsNaNOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                        IsNaNOp::Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  types.push_back(boolTensorLike(adaptor.getInput()));
  return success();
}

LogicalResult IsInfOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                        IsInfOp::Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  types.push_back(boolTensorLike(adaptor.getInput()));
  return success();
}

LogicalResult ClipOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       ClipOp::Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  for (Value bound : {adaptor.getMin(), adaptor.getMax()}) {
    if (failed(requireSameElementType(loc, adaptor.getInput(), bound)))
      return failure();
    auto dims = dimsOf(bound);
    if (dims && !mayBeScalar(*dims))
      return emitOptionalError(loc, "clip bounds must have one element, got ",
                               formatDims(*dims));
  }
  types.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult WhereOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        WhereOp::Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  if (failed(requireSameElementType(loc, adaptor.getX(), adaptor.getY())))
    return failure();
  return inferBroadcast(
      loc, {adaptor.getCondition(), adaptor.getX(), adaptor.getY()},
      elementTypeOf(adaptor.getX()), types);
}

//===----------------------------------------------------------------------===//
// Constants and shapes
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

OpFoldResult IdentityOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location>,
                                           ConstantOp::Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getValue().getType());
  return success();
}

LogicalResult ConstantOfShapeOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> loc,
    ConstantOfShapeOp::Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type element = Float32Type::get(context);
  if (auto value = adaptor.getValueAttr()) {
    if (value.getNumElements() != 1)
      return emitOptionalError(loc, "value must have exactly one element, has ",
                               value.getNumElements());
    element = value.getElementType();
  }
  auto known = getKnownShapeValues(adaptor.getInput());
  if (!known) {
    types.push_back(unrankedOf(element));
    return success();
  }
  for (int64_t d : *known)
    if (!ShapedType::isDynamic(d) && d < 0)
      return emitOptionalError(loc, "shape has a negative dim ", d);
  types.push_back(tensorOf(*known, element));
  return success();
}

LogicalResult ShapeOp::inferReturnTypes(MLIRContext *context,
                                        std::optional<Location>,
                                        ShapeOp::Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  Type i64 = IntegerType::get(context, 64);
  auto dims = dimsOf(adaptor.getData());
  if (!dims) {
    types.push_back(tensorOf({kDyn}, i64));
    return success();
  }
  int64_t rank = dims->size();
  int64_t start = adaptor.getStart();
  int64_t end = adaptor.getEnd().value_or(rank);
  start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
  end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
  types.push_back(tensorOf({std::max<int64_t>(end - start, 0)}, i64));
  return success();
}

LogicalResult SizeOp::inferReturnTypes(MLIRContext *context,
                                       std::optional<Location>,
                                       SizeOp::Adaptor,
                                       SmallVectorImpl<Type> &types) {
  types.push_back(tensorOf({}, IntegerType::get(context, 64)));
  return success();
}

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          ReshapeOp::Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getData());
  auto shapeType = dyn_cast<RankedTensorType>(adaptor.getShape().getType());
  if (shapeType && shapeType.getRank() != 1)
    return emitOptionalError(loc, "shape must be 1-D, got rank ",
                             shapeType.getRank());
  auto known = getKnownShapeValues(adaptor.getShape());
  if (!known) {
    types.push_back(unrankedOf(element));
    return success();
  }
  auto input = dimsOf(adaptor.getData());
  bool allowZero = adaptor.getAllowzero() != 0;
  SmallVector<int64_t> out;
  int64_t inferIndex = -1;
  for (auto [i, d] : llvm::enumerate(*known)) {
    if (ShapedType::isDynamic(d)) {
      out.push_back(kDyn);
    } else if (d == -1) {
      if (inferIndex >= 0)
        return emitOptionalError(loc, "shape has more than one -1");
      inferIndex = i;
      out.push_back(kDyn);
    } else if (d == 0 && !allowZero) {
      if (input && i >= input->size())
        return emitOptionalError(loc, "shape copies dim ", i,
                                 " (0) but the input has rank ",
                                 input->size());
      out.push_back(input ? (*input)[i] : kDyn);
    } else if (d < 0) {
      return emitOptionalError(loc, "shape has an invalid dim ", d);
    } else {
      out.push_back(d);
    }
  }
  int64_t inCount = input ? productOrDynamic(*input) : kDyn;
  if (inferIndex >= 0 && !ShapedType::isDynamic(inCount)) {
    SmallVector<int64_t> others(out);
    others.erase(others.begin() + inferIndex);
    int64_t rest = productOrDynamic(others);
    if (!ShapedType::isDynamic(rest) && rest != 0) {
      if (inCount % rest != 0)
        return emitOptionalError(loc, "cannot reshape ", formatDims(*input),
                                 " into ", formatDims(*known));
      out[inferIndex] = inCount / rest;
    }
  }
  int64_t outCount = productOrDynamic(out);
  if (!ShapedType::isDynamic(inCount) && !ShapedType::isDynamic(outCount) &&
      inCount != outCount)
    return emitOptionalError(loc, "cannot reshape ", formatDims(*input), " (",
                             inCount, " elements) into ", formatDims(out), " (",
                             outCount, " elements)");
  types.push_back(tensorOf(out, element));
  return success();
}

LogicalResult FlattenOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          FlattenOp::Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getInput());
  auto dims = dimsOf(adaptor.getInput());
  if (!dims) {
    types.push_back(tensorOf({kDyn, kDyn}, element));
    return success();
  }
  int64_t rank = dims->size();
  int64_t axis = adaptor.getAxis();
  if (axis < -rank || axis > rank)
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank ",
                             rank, " (expected [", -rank, ", ", rank, "])");
  if (axis < 0)
    axis += rank;
  ArrayRef<int64_t> d(*dims);
  types.push_back(tensorOf({productOrDynamic(d.take_front(axis)),
                            productOrDynamic(d.drop_front(axis))},
                           element));
  return success();
}

LogicalResult SqueezeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          SqueezeOp::Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getData());
  auto dims = dimsOf(adaptor.getData());
  if (!dims) {
    types.push_back(unrankedOf(element));
    return success();
  }
  int64_t rank = dims->size();
  SmallVector<int64_t> squeezed;
  if (auto axes = adaptor.getAxes()) {
    auto resolved = resolveAxes(loc, *axes, rank);
    if (failed(resolved))
      return failure();
    squeezed = *resolved;
    for (int64_t a : squeezed) {
      int64_t d = (*dims)[a];
      if (!ShapedType::isDynamic(d) && d != 1)
        return emitOptionalError(loc, "cannot squeeze dim ", a, " of size ", d);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) {
      if (ShapedType::isDynamic((*dims)[i])) {
        // Whether a `?` is squeezed is only known at run time.
        types.push_back(unrankedOf(element));
        return success();
      }
      if ((*dims)[i] == 1)
        squeezed.push_back(i);
    }
  }
  SmallVector<int64_t> out;
  for (int64_t i = 0; i < rank; ++i)
    if (!llvm::is_contained(squeezed, i))
      out.push_back((*dims)[i]);
  types.push_back(tensorOf(out, element));
  return success();
}

LogicalResult UnsqueezeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            UnsqueezeOp::Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getData());
  auto dims = dimsOf(adaptor.getData());
  if (!dims) {
    types.push_back(unrankedOf(element));
    return success();
  }
  ArrayRef<int64_t> axesAttr = adaptor.getAxes();
  int64_t outRank = dims->size() + axesAttr.size();
  auto axes = resolveAxes(loc, axesAttr, outRank);
  if (failed(axes))
    return failure();
  SmallVector<int64_t> out;
  auto next = dims->begin();
  for (int64_t i = 0; i < outRank; ++i)
    out.push_back(llvm::is_contained(*axes, i) ? 1 : *next++);
  types.push_back(tensorOf(out, element));
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            TransposeOp::Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getData());
  auto dims = dimsOf(adaptor.getData());
  if (!dims) {
    types.push_back(unrankedOf(element));
    return success();
  }
  int64_t rank = dims->size();
  SmallVector<int64_t> perm;
  if (auto p = adaptor.getPerm())
    perm.assign(p->begin(), p->end());
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  SmallVector<int64_t> sorted(perm);
  llvm::sort(sorted);
  bool isPermutation = (int64_t)perm.size() == rank;
  for (int64_t i = 0; isPermutation && i < rank; ++i)
    isPermutation = sorted[i] == i;
  if (!isPermutation)
    return emitOptionalError(loc, "perm ", formatDims(perm),
                             " is not a permutation of the ", rank,
                             " input dims");
  SmallVector<int64_t> out;
  for (int64_t p : perm)
    out.push_back((*dims)[p]);
  types.push_back(tensorOf(out, element));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         ConcatOp::Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return emitOptionalError(loc, "needs at least one input");
  Type element = elementTypeOf(inputs.front());
  std::optional<SmallVector<int64_t>> out;
  int64_t axis = 0;
  for (Value v : inputs) {
    if (elementTypeOf(v) != element)
      return emitOptionalError(loc, "inputs have different element types (",
                               element, " vs ", elementTypeOf(v), ")");
    auto dims = dimsOf(v);
    if (!dims)
      continue;
    if (!out) {
      auto a = resolveAxis(loc, "axis", adaptor.getAxis(), dims->size());
      if (failed(a))
        return failure();
      axis = *a;
      out = *dims;
      continue;
    }
    if (dims->size() != out->size())
      return emitOptionalError(loc, "inputs have different ranks (",
                               out->size(), " vs ", dims->size(), ")");
    for (size_t i = 0; i < dims->size(); ++i) {
      int64_t &o = (*out)[i];
      int64_t d = (*dims)[i];
      if ((int64_t)i == axis) {
        o = (ShapedType::isDynamic(o) || ShapedType::isDynamic(d)) ? kDyn
                                                                   : o + d;
      } else if (ShapedType::isDynamic(o)) {
        o = d;
      } else if (!ShapedType::isDynamic(d) && d != o) {
        return emitOptionalError(loc, "inputs disagree on dim ", i, " (", o,
                                 " vs ", d, ")");
      }
    }
  }
  bool anyUnranked = llvm::any_of(
      inputs, [](Value v) { return !isa<RankedTensorType>(v.getType()); });
  if (!out) {
    types.push_back(unrankedOf(element));
    return success();
  }
  if (anyUnranked)
    (*out)[axis] = kDyn;
  types.push_back(tensorOf(*out, element));
  return success();
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        SplitOp::Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getInput());
  auto split = adaptor.getSplit();
  auto numOutputs = adaptor.getNumOutputs();
  if (split.has_value() == numOutputs.has_value())
    return emitOptionalError(loc,
                             "needs exactly one of `split` and `num_outputs`");
  int64_t n = split ? split->size() : *numOutputs;
  if (n < 1)
    return emitOptionalError(loc, "needs at least one output");
  auto dims = dimsOf(adaptor.getInput());
  if (!dims) {
    types.append(n, unrankedOf(element));
    return success();
  }
  auto axis = resolveAxis(loc, "axis", adaptor.getAxis(), dims->size());
  if (failed(axis))
    return failure();
  int64_t total = (*dims)[*axis];
  SmallVector<int64_t> sizes;
  if (split) {
    int64_t sum = 0;
    for (int64_t s : *split) {
      if (s < 0)
        return emitOptionalError(loc, "split has a negative size ", s);
      sum += s;
    }
    if (!ShapedType::isDynamic(total) && sum != total)
      return emitOptionalError(loc, "split sizes sum to ", sum,
                               " but the dim has size ", total);
    sizes.assign(split->begin(), split->end());
  } else if (ShapedType::isDynamic(total)) {
    sizes.assign(n, kDyn);
  } else {
    int64_t chunk = (total + n - 1) / n;
    for (int64_t i = 0; i < n; ++i)
      sizes.push_back(std::clamp<int64_t>(total - i * chunk, 0, chunk));
  }
  for (int64_t s : sizes) {
    SmallVector<int64_t> out(*dims);
    out[*axis] = s;
    types.push_back(tensorOf(out, element));
  }
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        SliceOp::Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getData());
  auto dims = dimsOf(adaptor.getData());
  if (!dims) {
    types.push_back(unrankedOf(element));
    return success();
  }
  int64_t rank = dims->size();
  auto axes = getConstantIntValues(adaptor.getAxes());
  if (!axes) {
    types.push_back(tensorOf(SmallVector<int64_t>(rank, kDyn), element));
    return success();
  }
  auto resolved = resolveAxes(loc, *axes, rank);
  if (failed(resolved))
    return failure();
  auto starts = getConstantIntValues(adaptor.getStarts());
  auto ends = getConstantIntValues(adaptor.getEnds());
  auto steps = getConstantIntValues(adaptor.getSteps());
  for (auto *list : {&starts, &ends, &steps})
    if (*list && (*list)->size() != resolved->size())
      return emitOptionalError(loc, "starts/ends/steps must have one entry "
                                    "per axis (",
                               resolved->size(), "), got ", (*list)->size());
  if (steps && llvm::is_contained(*steps, 0))
    return emitOptionalError(loc, "steps must not be 0");
  SmallVector<int64_t> out(*dims);
  for (auto [i, axis] : llvm::enumerate(*resolved)) {
    int64_t d = (*dims)[axis];
    if (ShapedType::isDynamic(d) || !starts || !ends || !steps)
      out[axis] = kDyn;
    else
      out[axis] = sliceLength(d, (*starts)[i], (*ends)[i], (*steps)[i]);
  }
  types.push_back(tensorOf(out, element));
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         GatherOp::Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getData());
  auto data = dimsOf(adaptor.getData());
  auto indices = dimsOf(adaptor.getIndices());
  if (!data || !indices) {
    types.push_back(unrankedOf(element));
    return success();
  }
  if (data->empty())
    return emitOptionalError(loc, "data must have rank >= 1");
  auto axis = resolveAxis(loc, "axis", adaptor.getAxis(), data->size());
  if (failed(axis))
    return failure();
  SmallVector<int64_t> out(data->begin(), data->begin() + *axis);
  out.append(*indices);
  out.append(data->begin() + *axis + 1, data->end());
  types.push_back(tensorOf(out, element));
  return success();
}

LogicalResult GatherElementsOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc,
    GatherElementsOp::Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getData());
  auto data = dimsOf(adaptor.getData());
  auto indices = dimsOf(adaptor.getIndices());
  if (data && indices) {
    if (data->size() != indices->size())
      return emitOptionalError(loc, "data and indices must have one rank (",
                               data->size(), " vs ", indices->size(), ")");
    if (failed(resolveAxis(loc, "axis", adaptor.getAxis(), data->size())))
      return failure();
  }
  types.push_back(indices ? tensorOf(*indices, element) : unrankedOf(element));
  return success();
}

LogicalResult GatherNDOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           GatherNDOp::Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getData());
  auto data = dimsOf(adaptor.getData());
  auto indices = dimsOf(adaptor.getIndices());
  if (!data || !indices || indices->empty() ||
      ShapedType::isDynamic(indices->back())) {
    types.push_back(unrankedOf(element));
    return success();
  }
  int64_t b = adaptor.getBatchDims();
  int64_t last = indices->back();
  if (b < 0 || b >= (int64_t)std::min(data->size(), indices->size()))
    return emitOptionalError(loc, "batch_dims ", b,
                             " must be less than both ranks");
  if (b + last > (int64_t)data->size())
    return emitOptionalError(loc, "index tuples of length ", last,
                             " exceed the data rank ", data->size(),
                             " minus batch_dims ", b);
  SmallVector<int64_t> out(indices->begin(), indices->end() - 1);
  out.append(data->begin() + b + last, data->end());
  types.push_back(tensorOf(out, element));
  return success();
}

LogicalResult ExpandOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         ExpandOp::Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getInput());
  auto dims = dimsOf(adaptor.getInput());
  auto shape = getKnownShapeValues(adaptor.getShape());
  if (!dims || !shape) {
    types.push_back(unrankedOf(element));
    return success();
  }
  size_t rank = std::max(dims->size(), shape->size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i < rank - dims->size() ? 1 : (*dims)[i - (rank - dims->size())];
    int64_t s =
        i < rank - shape->size() ? 1 : (*shape)[i - (rank - shape->size())];
    if (ShapedType::isDynamic(s)) {
      out[i] = (!ShapedType::isDynamic(a) && a != 1) ? a : kDyn;
      continue;
    }
    if (s < 0)
      return emitOptionalError(loc, "cannot expand ", formatDims(*dims),
                               " to ", formatDims(*shape),
                               " (negative dim)");
    auto merged = broadcastShapes({a}, {s});
    if (!merged)
      return emitOptionalError(loc, "cannot expand ", formatDims(*dims),
                               " to ", formatDims(*shape));
    out[i] = (*merged)[0];
  }
  types.push_back(tensorOf(out, element));
  return success();
}

LogicalResult TileOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       TileOp::Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getInput());
  auto dims = dimsOf(adaptor.getInput());
  if (!dims) {
    types.push_back(unrankedOf(element));
    return success();
  }
  auto repeats = getKnownShapeValues(adaptor.getRepeats());
  if (repeats && repeats->size() != dims->size())
    return emitOptionalError(loc, "repeats has ", repeats->size(),
                             " entries for rank ", dims->size());
  SmallVector<int64_t> out(*dims);
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t r = repeats ? (*repeats)[i] : kDyn;
    if (!ShapedType::isDynamic(r) && r < 0)
      return emitOptionalError(loc, "repeats has a negative entry ", r);
    out[i] = (ShapedType::isDynamic(r) || ShapedType::isDynamic(out[i]))
                 ? kDyn
                 : out[i] * r;
  }
  types.push_back(tensorOf(out, element));
  return success();
}

LogicalResult RangeOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        RangeOp::Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getStart());
  for (Value v : {adaptor.getStart(), adaptor.getLimit(), adaptor.getDelta()}) {
    if (elementTypeOf(v) != element)
      return emitOptionalError(loc, "start, limit and delta must have one "
                                    "element type");
    auto dims = dimsOf(v);
    if (dims && !mayBeScalar(*dims))
      return emitOptionalError(loc, "start, limit and delta must be scalars, "
                                    "got ",
                               formatDims(*dims));
  }
  int64_t count = kDyn;
  if (auto start = getConstantIntValues(adaptor.getStart()))
    if (auto limit = getConstantIntValues(adaptor.getLimit()))
      if (auto delta = getConstantIntValues(adaptor.getDelta())) {
        int64_t d = (*delta)[0];
        if (d == 0)
          return emitOptionalError(loc, "delta must not be 0");
        int64_t span = (*limit)[0] - (*start)[0];
        count = std::max<int64_t>(0, (span + d - (d > 0 ? 1 : -1)) / d);
      }
  types.push_back(tensorOf({count}, element));
  return success();
}

LogicalResult CastOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                       CastOp::Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  Type to = adaptor.getTo();
  auto dims = dimsOf(adaptor.getInput());
  types.push_back(dims ? tensorOf(*dims, to) : unrankedOf(to));
  return success();
}

LogicalResult CastLikeOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location>,
                                           CastLikeOp::Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  Type to = elementTypeOf(adaptor.getTargetType());
  auto dims = dimsOf(adaptor.getInput());
  types.push_back(dims ? tensorOf(*dims, to) : unrankedOf(to));
  return success();
}

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      PadOp::Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getData());
  StringRef mode = adaptor.getMode();
  if (mode != "constant" && mode != "reflect" && mode != "edge" &&
      mode != "wrap")
    return emitOptionalError(loc, "unknown pad mode \"", mode, "\"");
  if (failed(requireSameElementType(loc, adaptor.getData(),
                                    adaptor.getConstantValue())))
    return failure();
  auto dims = dimsOf(adaptor.getData());
  if (!dims) {
    types.push_back(unrankedOf(element));
    return success();
  }
  SmallVector<int64_t> out(*dims);
  auto pads = getConstantIntValues(adaptor.getPads());
  if (pads && pads->size() != 2 * dims->size())
    return emitOptionalError(loc, "pads has ", pads->size(),
                             " entries, expected 2 * rank = ",
                             2 * dims->size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (!pads || ShapedType::isDynamic(out[i])) {
      out[i] = kDyn;
      continue;
    }
    out[i] += (*pads)[i] + (*pads)[i + out.size()];
    if (out[i] < 0)
      return emitOptionalError(loc, "pads make dim ", i, " negative");
  }
  types.push_back(tensorOf(out, element));
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

#define TESSEL_INFER_REDUCE(OP)                                                \
  LogicalResult OP::inferReturnTypes(MLIRContext *,                            \
                                     std::optional<Location> loc,              \
                                     OP::Adaptor adaptor,                      \
                                     SmallVectorImpl<Type> &types) {           \
    return inferReduction(loc, adaptor.getData(), adaptor.getAxes(),           \
                          adaptor.getKeepdims() != 0,                          \
                          adaptor.getNoopWithEmptyAxes() != 0,                 \
                          elementTypeOf(adaptor.getData()), types);            \
  }

TESSEL_INFER_REDUCE(ReduceMeanOp)
TESSEL_INFER_REDUCE(ReduceSumOp)
TESSEL_INFER_REDUCE(ReduceMaxOp)
TESSEL_INFER_REDUCE(ReduceMinOp)

#undef TESSEL_INFER_REDUCE

LogicalResult ArgMaxOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         ArgMaxOp::Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  int64_t axis = adaptor.getAxis();
  return inferReduction(loc, adaptor.getData(), ArrayRef<int64_t>(axis),
                        adaptor.getKeepdims() != 0, false,
                        IntegerType::get(context, 64), types);
}

//===----------------------------------------------------------------------===//
// Matrix products, normalisation, attention
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         MatMulOp::Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  if (failed(requireSameElementType(loc, adaptor.getA(), adaptor.getB())))
    return failure();
  Type element = elementTypeOf(adaptor.getA());
  auto a = dimsOf(adaptor.getA());
  auto b = dimsOf(adaptor.getB());
  if (!a || !b) {
    types.push_back(unrankedOf(element));
    return success();
  }
  if (a->empty() || b->empty())
    return emitOptionalError(loc, "operands must have rank >= 1");
  SmallVector<int64_t> lhs(*a), rhs(*b);
  bool vectorLhs = lhs.size() == 1, vectorRhs = rhs.size() == 1;
  if (vectorLhs)
    lhs.insert(lhs.begin(), 1);
  if (vectorRhs)
    rhs.push_back(1);
  int64_t k1 = lhs.back(), k2 = rhs[rhs.size() - 2];
  if (!ShapedType::isDynamic(k1) && !ShapedType::isDynamic(k2) && k1 != k2)
    return emitOptionalError(loc, "contraction dims differ: ", formatDims(*a),
                             " x ", formatDims(*b));
  auto batch = broadcastShapes(ArrayRef<int64_t>(lhs).drop_back(2),
                               ArrayRef<int64_t>(rhs).drop_back(2));
  if (!batch)
    return emitOptionalError(loc, "batch dims of ", formatDims(*a), " and ",
                             formatDims(*b), " are not broadcastable");
  SmallVector<int64_t> out(*batch);
  if (!vectorLhs)
    out.push_back(lhs[lhs.size() - 2]);
  if (!vectorRhs)
    out.push_back(rhs.back());
  types.push_back(tensorOf(out, element));
  return success();
}

LogicalResult GemmOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       GemmOp::Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  if (failed(requireSameElementType(loc, adaptor.getA(), adaptor.getB())))
    return failure();
  Type element = elementTypeOf(adaptor.getA());
  auto a = dimsOf(adaptor.getA());
  auto b = dimsOf(adaptor.getB());
  if ((a && a->size() != 2) || (b && b->size() != 2))
    return emitOptionalError(loc, "A and B must be 2-D");
  int64_t m = kDyn, n = kDyn, ka = kDyn, kb = kDyn;
  if (a) {
    m = (*a)[adaptor.getTransA() ? 1 : 0];
    ka = (*a)[adaptor.getTransA() ? 0 : 1];
  }
  if (b) {
    kb = (*b)[adaptor.getTransB() ? 1 : 0];
    n = (*b)[adaptor.getTransB() ? 0 : 1];
  }
  if (!ShapedType::isDynamic(ka) && !ShapedType::isDynamic(kb) && ka != kb)
    return emitOptionalError(loc, "contraction dims differ (", ka, " vs ", kb,
                             ")");
  if (Value c = adaptor.getC()) {
    if (failed(requireSameElementType(loc, adaptor.getA(), c)))
      return failure();
    auto cd = dimsOf(c);
    if (cd && !broadcastsOnto(*cd, {m, n}))
      return emitOptionalError(loc, "C ", formatDims(*cd),
                               " does not broadcast to ",
                               formatDims({m, n}));
  }
  types.push_back(tensorOf({m, n}, element));
  return success();
}

/// Softmax-like ops: same type, `axis` within the rank.
static LogicalResult inferAlongAxis(std::optional<Location> loc, Value input,
                                    int64_t axis,
                                    SmallVectorImpl<Type> &types) {
  if (auto dims = dimsOf(input))
    if (failed(resolveAxis(loc, "axis", axis, std::max<size_t>(dims->size(), 1))))
      return failure();
  types.push_back(input.getType());
  return success();
}

LogicalResult SoftmaxOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          SoftmaxOp::Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  return inferAlongAxis(loc, adaptor.getInput(), adaptor.getAxis(), types);
}

LogicalResult LogSoftmaxOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             LogSoftmaxOp::Adaptor adaptor,
                                             SmallVectorImpl<Type> &types) {
  return inferAlongAxis(loc, adaptor.getInput(), adaptor.getAxis(), types);
}

/// Norm ops: `scale`/`bias` must broadcast onto the normalised dims.
static LogicalResult inferNorm(std::optional<Location> loc, Value x,
                               ValueRange params, int64_t axis,
                               SmallVectorImpl<Type> &types) {
  auto dims = dimsOf(x);
  if (dims) {
    auto a = resolveAxis(loc, "axis", axis, dims->size());
    if (failed(a))
      return failure();
    ArrayRef<int64_t> normalized = ArrayRef<int64_t>(*dims).drop_front(*a);
    for (Value p : params) {
      if (!p)
        continue;
      if (failed(requireSameElementType(loc, x, p)))
        return failure();
      auto pd = dimsOf(p);
      if (!pd)
        continue;
      if (!broadcastsOnto(*pd, normalized))
        return emitOptionalError(loc, "scale/bias ", formatDims(*pd),
                                 " does not broadcast to the normalized dims ",
                                 formatDims(normalized));
    }
  }
  types.push_back(x.getType());
  return success();
}

LogicalResult LayerNormalizationOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc,
    LayerNormalizationOp::Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return inferNorm(loc, adaptor.getX(), {adaptor.getScale(), adaptor.getBias()},
                   adaptor.getAxis(), types);
}

LogicalResult RMSNormalizationOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc,
    RMSNormalizationOp::Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return inferNorm(loc, adaptor.getX(), {adaptor.getScale()}, adaptor.getAxis(),
                   types);
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            AttentionOp::Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getQ());
  StringRef rows = adaptor.getFullyMaskedRows();
  if (rows != "nan" && rows != "zero" && rows != "uniform")
    return emitOptionalError(loc, "fully_masked_rows must be \"nan\", "
                                  "\"zero\" or \"uniform\", got \"",
                             rows, "\"");
  if ((int64_t)adaptor.getWindowLeft() < -1 ||
      (int64_t)adaptor.getWindowRight() < -1)
    return emitOptionalError(loc, "window_left/window_right must be >= -1");
  for (auto tile : {adaptor.getTileQ(), adaptor.getTileKv()})
    if (tile && *tile <= 0)
      return emitOptionalError(loc, "tile sizes must be positive, got ", *tile);
  for (Value v : {adaptor.getK(), adaptor.getV()})
    if (failed(requireSameElementType(loc, adaptor.getQ(), v)))
      return failure();
  auto q = dimsOf(adaptor.getQ());
  auto k = dimsOf(adaptor.getK());
  auto v = dimsOf(adaptor.getV());
  if (!q || !k || !v) {
    types.push_back(unrankedOf(element));
    return success();
  }
  size_t rank = q->size();
  if ((rank != 3 && rank != 4) || k->size() != rank || v->size() != rank)
    return emitOptionalError(loc, "q, k and v must all be 3-D or all 4-D, got "
                                  "ranks ",
                             q->size(), ", ", k->size(), ", ", v->size());
  auto dimsAgree = [](int64_t x, int64_t y) {
    return ShapedType::isDynamic(x) || ShapedType::isDynamic(y) || x == y;
  };
  if (!dimsAgree((*k)[rank - 2], (*v)[rank - 2]))
    return emitOptionalError(loc, "k and v have different sequence lengths (",
                             (*k)[rank - 2], " vs ", (*v)[rank - 2], ")");
  if (rank == 4) {
    int64_t hq = (*q)[1], hkv = (*k)[1];
    if (!dimsAgree((*q)[3], (*k)[3]))
      return emitOptionalError(loc, "q and k head dims differ (", (*q)[3],
                               " vs ", (*k)[3], ")");
    if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
        (hkv == 0 || hq % hkv != 0))
      return emitOptionalError(loc, "num_heads (", hq,
                               ") must be a multiple of num_kv_heads (", hkv,
                               ")");
    types.push_back(tensorOf({(*q)[0], hq, (*q)[2], (*v)[3]}, element));
    return success();
  }
  auto hq = adaptor.getQNumHeads();
  auto hkv = adaptor.getKvNumHeads();
  if (!hq || !hkv)
    return emitOptionalError(loc, "3-D q/k/v need q_num_heads and "
                                  "kv_num_heads");
  if (*hkv <= 0 || *hq % *hkv != 0)
    return emitOptionalError(loc, "num_heads (", *hq,
                             ") must be a multiple of num_kv_heads (", *hkv,
                             ")");
  int64_t vHidden = (*v)[2];
  int64_t out = ShapedType::isDynamic(vHidden) ? kDyn : vHidden / *hkv * *hq;
  types.push_back(tensorOf({(*q)[0], (*q)[1], out}, element));
  return success();
}

LogicalResult KvAttentionOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              KvAttentionOp::Adaptor adaptor,
                                              SmallVectorImpl<Type> &types) {
  Type element = elementTypeOf(adaptor.getQ());
  StringRef mode = adaptor.getMode();
  if (mode != "prefill" && mode != "decode")
    return emitOptionalError(loc, "mode must be \"prefill\" or \"decode\", "
                                  "got \"",
                             mode, "\"");
  if ((int64_t)adaptor.getLayer() < 0)
    return emitOptionalError(loc, "layer must be >= 0, got ",
                             (int64_t)adaptor.getLayer());
  if ((int64_t)adaptor.getWindowLeft() < -1)
    return emitOptionalError(loc, "window_left must be >= -1");
  for (Value v : {adaptor.getK(), adaptor.getV()})
    if (failed(requireSameElementType(loc, adaptor.getQ(), v)))
      return failure();
  auto q = dimsOf(adaptor.getQ());
  auto k = dimsOf(adaptor.getK());
  auto v = dimsOf(adaptor.getV());
  auto past = dimsOf(adaptor.getPastLens());
  if (!q || !k || !v || !past) {
    types.push_back(unrankedOf(element));
    return success();
  }
  if (q->size() != 4 || k->size() != 4 || v->size() != 4)
    return emitOptionalError(loc, "q, k and v must be 4-D [batch, heads, "
                                  "seq, head_dim]");
  if (past->size() != 1)
    return emitOptionalError(loc, "past_lens must be 1-D [batch]");
  auto agree = [](int64_t x, int64_t y) {
    return ShapedType::isDynamic(x) || ShapedType::isDynamic(y) || x == y;
  };
  for (int i : {0, 2})
    if (!agree((*q)[i], (*k)[i]) || !agree((*k)[i], (*v)[i]))
      return emitOptionalError(loc, "q, k and v must agree in dim ", i);
  if (!agree((*q)[0], (*past)[0]))
    return emitOptionalError(loc, "past_lens has ", (*past)[0],
                             " entries for a batch of ", (*q)[0]);
  if (!agree((*q)[3], (*k)[3]) || !agree((*k)[3], (*v)[3]) ||
      !agree((*k)[1], (*v)[1]))
    return emitOptionalError(loc, "q, k and v head dims / k and v heads differ");
  int64_t hq = (*q)[1], hkv = (*k)[1];
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
      (hkv == 0 || hq % hkv != 0))
    return emitOptionalError(loc, "num_heads (", hq,
                             ") must be a multiple of num_kv_heads (", hkv,
                             ")");
  types.push_back(tensorOf({(*q)[0], hq, (*q)[2], (*v)[3]}, element));
  return success();
}

#define GET_OP_CLASSES
#include "dialect/TesselOps.cpp.inc"
