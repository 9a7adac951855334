//===- ConstantEvaluator.cpp - evaluate tessel ops on constants -----------===//
//
// A tiny interpreter. Constant operands are unpacked into row-major vectors of
// double (float element types) or int64_t (integer and i1 element types), the
// op is evaluated with ONNX semantics, and each result is packed back into a
// DenseElementsAttr, rounded to its element type.
//
// Splats keep a single stored element, so broadcasts of one value (masks from
// ConstantOfShape, Expand of a scalar, ...) stay cheap however large they are;
// only non-splat results are bounded by `maxElements`. Every op computes its
// result shape before allocating anything.
//
//===----------------------------------------------------------------------===//

#include "dialect/ConstantEvaluator.h"
#include "dialect/ShapeUtils.h"
#include "dialect/TesselOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

using namespace mlir;
using namespace mlir::tessel;

namespace {

//===----------------------------------------------------------------------===//
// Unpacked tensors
//===----------------------------------------------------------------------===//

/// A constant tensor unpacked for evaluation. `f` holds the data of float
/// element types and `i` that of integer ones (i1 as 0/1), in row-major order.
/// A splat stores one element that stands for all of `shape`.
struct Tensor {
  SmallVector<int64_t> shape;
  Type elementType;
  std::vector<double> f;
  std::vector<int64_t> i;
  bool splat = false;
};

bool isFloat(Type type) { return isa<FloatType>(type); }
bool isFloat(const Tensor &t) { return isFloat(t.elementType); }

/// Integers are evaluated in int64_t, so wider ones (and complex or string
/// elements) are left alone.
bool isSupportedElementType(Type type) {
  if (isFloat(type) || type.isIndex())
    return true;
  auto intType = dyn_cast<IntegerType>(type);
  return intType && intType.getWidth() <= 64;
}

/// The element count of `shape`; std::nullopt for negative dims or overflow,
/// which only malformed IR or absurd constant shapes produce.
std::optional<int64_t> getNumElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t dim : shape)
    if (dim < 0 || llvm::MulOverflow(n, dim, n))
      return std::nullopt;
  return n;
}

SmallVector<int64_t> getStrides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

/// Strides that read a tensor of `shape` at the coordinates of its numpy
/// broadcast to `outShape`: broadcast dims get stride 0, and so does every
/// dim of a splat, whose single element sits at index 0.
SmallVector<int64_t> getBroadcastStrides(ArrayRef<int64_t> shape, bool splat,
                                         ArrayRef<int64_t> outShape) {
  SmallVector<int64_t> result(outShape.size(), 0);
  if (splat)
    return result;
  SmallVector<int64_t> strides = getStrides(shape);
  size_t offset = outShape.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] != 1)
      result[offset + d] = strides[d];
  return result;
}

int64_t dot(ArrayRef<int64_t> coord, ArrayRef<int64_t> strides) {
  int64_t result = 0;
  for (auto [c, s] : llvm::zip_equal(coord, strides))
    result += c * s;
  return result;
}

/// Calls `fn(coord, linearIndex)` for every element of `shape` in row-major
/// order. The caller has checked that the element count does not overflow.
void forEachCoordinate(ArrayRef<int64_t> shape,
                       function_ref<void(ArrayRef<int64_t>, int64_t)> fn) {
  int64_t count = getNumElements(shape).value_or(0);
  SmallVector<int64_t> coord(shape.size(), 0);
  for (int64_t linear = 0; linear < count; ++linear) {
    fn(coord, linear);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++coord[d] < shape[d])
        break;
      coord[d] = 0;
    }
  }
}

// Integer arithmetic wraps like the fixed-width types it models instead of
// hitting C++'s signed-overflow undefined behaviour.
int64_t wrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) +
                              static_cast<uint64_t>(b));
}
int64_t wrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) -
                              static_cast<uint64_t>(b));
}
int64_t wrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) *
                              static_cast<uint64_t>(b));
}

/// Float to integer truncates toward zero like ONNX Cast. Values out of the
/// int64_t range saturate and NaN gives 0, where C++ would be undefined.
int64_t truncateToInt64(double v) {
  if (std::isnan(v))
    return 0;
  if (v >= 9223372036854775808.0)
    return std::numeric_limits<int64_t>::max();
  if (v < -9223372036854775808.0)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// Element accessors take logical indices; a splat answers every index with
// its single element.
double getFloat(const Tensor &t, int64_t idx) {
  if (t.splat)
    idx = 0;
  return isFloat(t) ? t.f[idx] : static_cast<double>(t.i[idx]);
}
int64_t getInt(const Tensor &t, int64_t idx) {
  if (t.splat)
    idx = 0;
  return isFloat(t) ? truncateToInt64(t.f[idx]) : t.i[idx];
}

// Setters convert to the tensor's element type the way ONNX Cast does; i1
// means "not zero". Narrow integers are truncated when the result is packed.
void setFloat(Tensor &t, int64_t idx, double v) {
  if (isFloat(t))
    t.f[idx] = v;
  else
    t.i[idx] = t.elementType.isInteger(1) ? v != 0 : truncateToInt64(v);
}
void setInt(Tensor &t, int64_t idx, int64_t v) {
  if (isFloat(t))
    t.f[idx] = static_cast<double>(v);
  else
    t.i[idx] = t.elementType.isInteger(1) ? v != 0 : v;
}

/// Copies (and converts, as Cast does) element `srcIdx` of `src`.
void copyElement(const Tensor &src, int64_t srcIdx, Tensor &dst,
                 int64_t dstIdx) {
  if (isFloat(src))
    setFloat(dst, dstIdx, getFloat(src, srcIdx));
  else
    setInt(dst, dstIdx, getInt(src, srcIdx));
}

/// Bitwise equality for floats, so that 0.0 and -0.0 never merge into one
/// splat and NaNs compare as themselves.
bool elementsEqual(const Tensor &a, int64_t aIdx, const Tensor &b,
                   int64_t bIdx) {
  if (a.elementType != b.elementType)
    return false;
  if (isFloat(a))
    return llvm::bit_cast<uint64_t>(getFloat(a, aIdx)) ==
           llvm::bit_cast<uint64_t>(getFloat(b, bIdx));
  return getInt(a, aIdx) == getInt(b, bIdx);
}

/// -1, 0 or 1 as element `a` of `t` is less than, equal to or greater than
/// element `b`; integers are not routed through double to keep all 64 bits.
int compareElements(const Tensor &t, int64_t a, int64_t b) {
  if (isFloat(t)) {
    double x = getFloat(t, a), y = getFloat(t, b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  int64_t x = getInt(t, a), y = getInt(t, b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

/// A 0-D splat tensor of `type` holding zero.
Tensor makeZero(Type type) {
  Tensor t;
  t.elementType = type;
  t.splat = true;
  if (isFloat(type))
    t.f.push_back(0.0);
  else
    t.i.push_back(0);
  return t;
}

double toDouble(APFloat value) {
  bool losesInfo;
  value.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven,
                &losesInfo);
  return value.convertToDouble();
}

FailureOr<Tensor> unpack(DenseElementsAttr attr, int64_t maxElements) {
  Tensor t;
  t.elementType = attr.getElementType();
  if (!isSupportedElementType(t.elementType))
    return failure();
  t.shape.assign(attr.getType().getShape().begin(),
                 attr.getType().getShape().end());
  int64_t count = attr.getNumElements();
  // An empty tensor is never a splat: it has no element to stand for others.
  t.splat = attr.isSplat() && count > 0;
  if (!t.splat && count > maxElements)
    return failure();
  if (isFloat(t)) {
    if (t.splat)
      t.f.push_back(toDouble(attr.getSplatValue<APFloat>()));
    else
      for (APFloat v : attr.getValues<APFloat>())
        t.f.push_back(toDouble(v));
    return t;
  }
  // Unsigned values and i1 zero-extend; signless and signed ones sign-extend.
  bool zeroExtend =
      t.elementType.isUnsignedInteger() || t.elementType.isInteger(1);
  auto toInt64 = [&](const APInt &v) {
    return zeroExtend ? static_cast<int64_t>(v.getZExtValue())
                      : v.getSExtValue();
  };
  if (t.splat)
    t.i.push_back(toInt64(attr.getSplatValue<APInt>()));
  else
    for (const APInt &v : attr.getValues<APInt>())
      t.i.push_back(toInt64(v));
  return t;
}

DenseElementsAttr pack(const Tensor &t) {
  auto type = RankedTensorType::get(t.shape, t.elementType);
  // A splat stores its one element; an empty tensor stores nothing.
  size_t count = getNumElements(t.shape).value_or(0) == 0 ? 0
                 : isFloat(t)                             ? t.f.size()
                                                          : t.i.size();
  if (auto floatType = dyn_cast<FloatType>(t.elementType)) {
    SmallVector<APFloat> values;
    for (double v : ArrayRef(t.f).take_front(count)) {
      APFloat value(v);
      bool losesInfo;
      value.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                    &losesInfo);
      values.push_back(value);
    }
    return DenseElementsAttr::get(type, values);
  }
  unsigned width = t.elementType.isIndex()
                       ? IndexType::kInternalStorageBitWidth
                       : cast<IntegerType>(t.elementType).getWidth();
  SmallVector<APInt> values;
  for (int64_t v : ArrayRef(t.i).take_front(count))
    values.push_back(APInt(64, static_cast<uint64_t>(v), /*isSigned=*/true)
                         .sextOrTrunc(width));
  return DenseElementsAttr::get(type, values);
}

//===----------------------------------------------------------------------===//
// Evaluation context and shared kernels
//===----------------------------------------------------------------------===//

/// The op being evaluated with its constant operands and the size budget.
struct EvalContext {
  Operation *op;
  ArrayRef<Attribute> operands;
  int64_t maxElements;

  /// Non-splat operands larger than this are not unpacked: the interpreter
  /// serves shape subgraphs and masks, not weights.
  int64_t maxUnpackedElements() const {
    return std::max<int64_t>(maxElements, int64_t(1) << 22);
  }

  FailureOr<Tensor> getOperand(unsigned idx) const {
    auto attr = idx < operands.size()
                    ? dyn_cast_or_null<DenseElementsAttr>(operands[idx])
                    : nullptr;
    if (!attr)
      return failure();
    return unpack(attr, maxUnpackedElements());
  }

  /// The values of integer operand `idx` (splats expanded), and its shape.
  FailureOr<SmallVector<int64_t>>
  getIntOperand(unsigned idx, SmallVectorImpl<int64_t> *shape = nullptr) const {
    FailureOr<Tensor> t = getOperand(idx);
    if (failed(t) || isFloat(*t))
      return failure();
    std::optional<int64_t> count = getNumElements(t->shape);
    if (!count || *count > maxUnpackedElements())
      return failure();
    if (shape)
      shape->assign(t->shape.begin(), t->shape.end());
    SmallVector<int64_t> values;
    for (int64_t k = 0; k < *count; ++k)
      values.push_back(getInt(*t, k));
    return values;
  }

  /// The value of a one-element integer operand such as Trilu's `k`.
  FailureOr<int64_t> getIntScalarOperand(unsigned idx) const {
    FailureOr<SmallVector<int64_t>> values = getIntOperand(idx);
    if (failed(values) || values->size() != 1)
      return failure();
    return values->front();
  }

  Type getOperandType(unsigned idx) const {
    return idx < op->getNumOperands() ? op->getOperand(idx).getType() : Type();
  }

  Type getResultElementType() const {
    return op->getNumResults() ? getElementTypeOrSelf(op->getResult(0))
                               : Type();
  }

  int64_t getIntAttr(StringRef name, int64_t defaultValue) const {
    auto attr = op->getAttrOfType<IntegerAttr>(name);
    if (!attr || attr.getValue().getBitWidth() > 64)
      return defaultValue;
    return attr.getValue().getSExtValue();
  }

  std::optional<ArrayRef<int64_t>> getArrayAttr(StringRef name) const {
    if (auto attr = op->getAttrOfType<DenseI64ArrayAttr>(name))
      return attr.asArrayRef();
    return std::nullopt;
  }

  /// A zero-filled result tensor; fails for unsupported element types and
  /// for non-splat results over the budget.
  FailureOr<Tensor> makeTensor(ArrayRef<int64_t> shape, Type elementType,
                               bool splat) const {
    std::optional<int64_t> count = getNumElements(shape);
    if (!count || !elementType || !isSupportedElementType(elementType) ||
        (!splat && *count > maxElements))
      return failure();
    Tensor t;
    t.shape.assign(shape.begin(), shape.end());
    t.elementType = elementType;
    t.splat = splat;
    size_t storage = splat ? 1 : *count;
    if (isFloat(elementType))
      t.f.assign(storage, 0.0);
    else
      t.i.assign(storage, 0);
    return t;
  }

  /// `t` with a new shape of the same element count (Reshape and friends).
  FailureOr<Tensor> reshape(Tensor t, ArrayRef<int64_t> shape) const {
    if (getNumElements(shape) != getNumElements(t.shape))
      return failure();
    t.shape.assign(shape.begin(), shape.end());
    return t;
  }
};

/// Evaluates an element-wise op over the numpy broadcast of `inputs`.
/// `fn(out, outIdx, inIdx)` computes one element from the inputs' elements
/// at `inIdx`; it fails on errors such as integer division by zero. When all
/// inputs are splats only one element is computed and the result is a splat.
FailureOr<Tensor> mapElements(
    const EvalContext &ctx, ArrayRef<const Tensor *> inputs, Type resultType,
    function_ref<LogicalResult(Tensor &, int64_t, ArrayRef<int64_t>)> fn) {
  SmallVector<int64_t> shape;
  for (const Tensor *t : inputs) {
    std::optional<SmallVector<int64_t>> broadcast =
        broadcastShapes(shape, t->shape);
    if (!broadcast)
      return failure();
    shape = std::move(*broadcast);
  }
  bool splat = llvm::all_of(inputs, [](const Tensor *t) { return t->splat; });
  FailureOr<Tensor> out = ctx.makeTensor(shape, resultType, splat);
  if (failed(out))
    return failure();
  SmallVector<int64_t> inIdx(inputs.size(), 0);
  if (splat)
    return failed(fn(*out, 0, inIdx)) ? FailureOr<Tensor>(failure()) : out;
  SmallVector<SmallVector<int64_t>> strides;
  for (const Tensor *t : inputs)
    strides.push_back(getBroadcastStrides(t->shape, t->splat, shape));
  bool ok = true;
  forEachCoordinate(shape, [&](ArrayRef<int64_t> coord, int64_t o) {
    for (auto [k, s] : llvm::enumerate(strides))
      inIdx[k] = dot(coord, s);
    ok = ok && succeeded(fn(*out, o, inIdx));
  });
  return ok ? out : FailureOr<Tensor>(failure());
}

/// Evaluates a data-movement op: element `coord` of the result (of `shape`)
/// is element `srcIndexOf(coord)` of `src`, or `*fill` where that is -1. A
/// splat source gives a splat result unless a differing fill shows through.
FailureOr<Tensor> remap(const EvalContext &ctx, const Tensor &src,
                        ArrayRef<int64_t> shape, const Tensor *fill,
                        function_ref<int64_t(ArrayRef<int64_t>)> srcIndexOf) {
  bool splat = src.splat && (!fill || elementsEqual(src, 0, *fill, 0));
  FailureOr<Tensor> out = ctx.makeTensor(shape, src.elementType, splat);
  if (failed(out))
    return failure();
  if (splat) {
    copyElement(src, 0, *out, 0);
    return out;
  }
  forEachCoordinate(shape, [&](ArrayRef<int64_t> coord, int64_t o) {
    int64_t s = srcIndexOf(coord);
    if (s < 0)
      copyElement(*fill, 0, *out, o);
    else
      copyElement(src, s, *out, o);
  });
  return out;
}

/// The strided box of `x` starting at `begin` with `count` elements of
/// `step` per dim (Slice, Split).
FailureOr<Tensor> sliceTensor(const EvalContext &ctx, const Tensor &x,
                              ArrayRef<int64_t> begin, ArrayRef<int64_t> step,
                              ArrayRef<int64_t> count) {
  SmallVector<int64_t> strides = getStrides(x.shape);
  return remap(ctx, x, count, nullptr, [&](ArrayRef<int64_t> coord) {
    int64_t s = 0;
    for (size_t d = 0; d < coord.size(); ++d)
      s += (begin[d] + coord[d] * step[d]) * strides[d];
    return s;
  });
}

/// Wraps a negative index into [0, dim); false if it is out of range.
bool wrapIndex(int64_t &idx, int64_t dim) {
  if (idx < 0)
    idx += dim;
  return idx >= 0 && idx < dim;
}

/// Normalises every axis for `rank`; fails on out-of-range or repeated ones.
FailureOr<SmallVector<bool>> getAxisMask(ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<bool> mask(rank, false);
  for (int64_t axis : axes) {
    std::optional<int64_t> d = normalizeAxis(axis, rank);
    if (!d || mask[*d])
      return failure();
    mask[*d] = true;
  }
  return mask;
}

//===----------------------------------------------------------------------===//
// Element-wise ops
//===----------------------------------------------------------------------===//

FailureOr<Tensor> evalUnary(const EvalContext &ctx,
                            std::function<double(double)> onFloat,
                            std::function<int64_t(int64_t)> onInt = nullptr) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  if (failed(x))
    return failure();
  bool useFloat = isFloat(*x);
  if (useFloat ? !onFloat : !onInt)
    return failure();
  return mapElements(ctx, {&*x}, ctx.getResultElementType(),
                     [&](Tensor &out, int64_t o, ArrayRef<int64_t> in) {
                       if (useFloat)
                         setFloat(out, o, onFloat(getFloat(*x, in[0])));
                       else
                         setInt(out, o, onInt(getInt(*x, in[0])));
                       return success();
                     });
}

double roundHalfToEven(double x) {
  double rounded = std::round(x);
  if (std::fabs(x - std::trunc(x)) == 0.5)
    rounded = 2.0 * std::round(x / 2.0);
  return rounded;
}

double gelu(double x, bool useTanh) {
  if (!useTanh)
    return 0.5 * x * (1.0 + std::erf(x * llvm::numbers::inv_sqrt2));
  double sqrt2OverPi = llvm::numbers::sqrt2 * llvm::numbers::inv_sqrtpi;
  return 0.5 * x * (1.0 + std::tanh(sqrt2OverPi * (x + 0.044715 * x * x * x)));
}

using FloatBinaryFn = std::function<double(double, double)>;
using IntBinaryFn = std::function<std::optional<int64_t>(int64_t, int64_t)>;

/// Integer Div truncates toward zero like C; INT64_MIN / -1 wraps, and
/// division by zero fails the evaluation.
std::optional<int64_t> divideInt(int64_t a, int64_t b) {
  if (b == 0)
    return std::nullopt;
  return b == -1 ? wrapSub(0, a) : a / b;
}

/// Integer Pow by squaring; a negative exponent gives the C quotient of
/// 1 / base^-exp, which is 0 unless |base| is 1.
std::optional<int64_t> powInt(int64_t base, int64_t exp) {
  if (exp < 0) {
    if (base == 0)
      return std::nullopt;
    return base == 1 ? 1 : (base == -1 ? (exp % 2 ? -1 : 1) : 0);
  }
  int64_t result = 1;
  for (; exp; exp >>= 1, base = wrapMul(base, base))
    if (exp & 1)
      result = wrapMul(result, base);
  return result;
}

// Like numpy's minimum and maximum, NaN propagates.
double minFloat(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b);
}
double maxFloat(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
}

/// A broadcasting binary op: `onFloat` when either operand is a float (Pow
/// may pair an integer base with a float exponent), `onInt` otherwise. A
/// null function means the op takes no such operands.
FailureOr<Tensor> evalBinary(const EvalContext &ctx, FloatBinaryFn onFloat,
                             IntBinaryFn onInt) {
  FailureOr<Tensor> lhs = ctx.getOperand(0), rhs = ctx.getOperand(1);
  if (failed(lhs) || failed(rhs))
    return failure();
  bool useFloat = isFloat(*lhs) || isFloat(*rhs);
  if (useFloat ? !onFloat : !onInt)
    return failure();
  return mapElements(
      ctx, {&*lhs, &*rhs}, ctx.getResultElementType(),
      [&](Tensor &out, int64_t o, ArrayRef<int64_t> in) -> LogicalResult {
        if (useFloat) {
          setFloat(out, o,
                   onFloat(getFloat(*lhs, in[0]), getFloat(*rhs, in[1])));
          return success();
        }
        std::optional<int64_t> v =
            onInt(getInt(*lhs, in[0]), getInt(*rhs, in[1]));
        if (!v)
          return failure();
        setInt(out, o, *v);
        return success();
      });
}

FailureOr<Tensor> evalWhere(const EvalContext &ctx) {
  FailureOr<Tensor> cond = ctx.getOperand(0), x = ctx.getOperand(1),
                    y = ctx.getOperand(2);
  if (failed(cond) || failed(x) || failed(y) || isFloat(*cond) ||
      x->elementType != y->elementType)
    return failure();
  return mapElements(ctx, {&*cond, &*x, &*y}, ctx.getResultElementType(),
                     [&](Tensor &out, int64_t o, ArrayRef<int64_t> in) {
                       if (getInt(*cond, in[0]))
                         copyElement(*x, in[1], out, o);
                       else
                         copyElement(*y, in[2], out, o);
                       return success();
                     });
}

/// min(max(x, lo), hi) as ONNX defines it, so lo > hi gives hi everywhere.
FailureOr<Tensor> evalClip(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0), lo = ctx.getOperand(1),
                    hi = ctx.getOperand(2);
  if (failed(x) || failed(lo) || failed(hi) ||
      lo->elementType != x->elementType || hi->elementType != x->elementType)
    return failure();
  return mapElements(ctx, {&*x, &*lo, &*hi}, x->elementType,
                     [&](Tensor &out, int64_t o, ArrayRef<int64_t> in) {
                       // Comparisons written so that a NaN input stays NaN.
                       if (isFloat(*x)) {
                         double v = getFloat(*x, in[0]),
                                l = getFloat(*lo, in[1]),
                                h = getFloat(*hi, in[2]);
                         v = v < l ? l : v;
                         setFloat(out, o, v > h ? h : v);
                       } else {
                         int64_t v = getInt(*x, in[0]), l = getInt(*lo, in[1]),
                                 h = getInt(*hi, in[2]);
                         setInt(out, o, std::min(std::max(v, l), h));
                       }
                       return success();
                     });
}

FailureOr<Tensor> castTensor(const EvalContext &ctx, const Tensor &x, Type to) {
  return mapElements(ctx, {&x}, to,
                     [&](Tensor &out, int64_t o, ArrayRef<int64_t> in) {
                       copyElement(x, in[0], out, o);
                       return success();
                     });
}

//===----------------------------------------------------------------------===//
// Shapes and data movement
//===----------------------------------------------------------------------===//

/// Shape reads only the operand's type, so it folds for any operand whose
/// dims in [start, end) are static.
FailureOr<Tensor> evalShape(const EvalContext &ctx) {
  auto type = dyn_cast_or_null<RankedTensorType>(ctx.getOperandType(0));
  if (!type)
    return failure();
  int64_t rank = type.getRank();
  auto clampToRank = [&](int64_t v) {
    return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank);
  };
  int64_t start = clampToRank(ctx.getIntAttr("start", 0));
  int64_t end = clampToRank(ctx.getIntAttr("end", rank));
  SmallVector<int64_t> dims;
  for (int64_t d = start; d < end; ++d) {
    if (type.isDynamicDim(d))
      return failure();
    dims.push_back(type.getDimSize(d));
  }
  FailureOr<Tensor> out = ctx.makeTensor({static_cast<int64_t>(dims.size())},
                                         ctx.getResultElementType(), false);
  if (failed(out))
    return failure();
  for (auto [k, dim] : llvm::enumerate(dims))
    setInt(*out, k, dim);
  return out;
}

FailureOr<Tensor> evalSize(const EvalContext &ctx) {
  auto type = dyn_cast_or_null<RankedTensorType>(ctx.getOperandType(0));
  if (!type || !type.hasStaticShape())
    return failure();
  FailureOr<Tensor> out = ctx.makeTensor({}, ctx.getResultElementType(), true);
  if (succeeded(out))
    setInt(*out, 0, type.getNumElements());
  return out;
}

FailureOr<Tensor> evalReshape(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  FailureOr<SmallVector<int64_t>> requested = ctx.getIntOperand(1);
  if (failed(x) || failed(requested))
    return failure();
  bool allowZero = ctx.getIntAttr("allowzero", 0) != 0;
  SmallVector<int64_t> shape;
  std::optional<size_t> inferred;
  for (auto [k, dim] : llvm::enumerate(*requested)) {
    if (dim == -1) {
      if (inferred)
        return failure();
      inferred = k;
      dim = 1;
    } else if (dim == 0 && !allowZero) {
      // 0 copies the input dim.
      if (k >= x->shape.size())
        return failure();
      dim = x->shape[k];
    }
    shape.push_back(dim);
  }
  std::optional<int64_t> total = getNumElements(x->shape);
  std::optional<int64_t> known = getNumElements(shape);
  if (!total || !known)
    return failure();
  if (inferred) {
    // With allowzero, 0 and -1 together are ambiguous: known is 0 then.
    if (*known == 0 || *total % *known != 0)
      return failure();
    shape[*inferred] = *total / *known;
  }
  return ctx.reshape(std::move(*x), shape);
}

FailureOr<Tensor> evalFlatten(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  if (failed(x))
    return failure();
  int64_t rank = x->shape.size();
  // Unlike most axes, Flatten's may equal the rank.
  int64_t axis = ctx.getIntAttr("axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank)
    return failure();
  ArrayRef<int64_t> shape = x->shape;
  std::optional<int64_t> outer = getNumElements(shape.take_front(axis));
  std::optional<int64_t> inner = getNumElements(shape.drop_front(axis));
  if (!outer || !inner)
    return failure();
  return ctx.reshape(std::move(*x), {*outer, *inner});
}

FailureOr<Tensor> evalSqueeze(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  if (failed(x))
    return failure();
  int64_t rank = x->shape.size();
  SmallVector<bool> squeezed(rank, false);
  if (std::optional<ArrayRef<int64_t>> axes = ctx.getArrayAttr("axes")) {
    FailureOr<SmallVector<bool>> mask = getAxisMask(*axes, rank);
    if (failed(mask))
      return failure();
    squeezed = *mask;
  } else {
    for (int64_t d = 0; d < rank; ++d)
      squeezed[d] = x->shape[d] == 1;
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (squeezed[d] && x->shape[d] != 1)
      return failure();
    if (!squeezed[d])
      shape.push_back(x->shape[d]);
  }
  return ctx.reshape(std::move(*x), shape);
}

FailureOr<Tensor> evalUnsqueeze(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  std::optional<ArrayRef<int64_t>> axes = ctx.getArrayAttr("axes");
  if (failed(x) || !axes)
    return failure();
  // Axes index the output.
  int64_t rank = x->shape.size() + axes->size();
  FailureOr<SmallVector<bool>> inserted = getAxisMask(*axes, rank);
  if (failed(inserted))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0, next = 0; d < rank; ++d)
    shape.push_back((*inserted)[d] ? 1 : x->shape[next++]);
  return ctx.reshape(std::move(*x), shape);
}

FailureOr<Tensor> evalTranspose(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  if (failed(x))
    return failure();
  int64_t rank = x->shape.size();
  SmallVector<int64_t> perm;
  if (std::optional<ArrayRef<int64_t>> attr = ctx.getArrayAttr("perm"))
    perm.assign(attr->begin(), attr->end());
  else
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  SmallVector<bool> used(rank, false);
  if (static_cast<int64_t>(perm.size()) != rank)
    return failure();
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || used[p])
      return failure();
    used[p] = true;
  }
  SmallVector<int64_t> shape, inStrides = getStrides(x->shape), strides;
  for (int64_t p : perm) {
    shape.push_back(x->shape[p]);
    strides.push_back(inStrides[p]);
  }
  return remap(ctx, *x, shape, nullptr,
               [&](ArrayRef<int64_t> coord) { return dot(coord, strides); });
}

FailureOr<Tensor> evalConcat(const EvalContext &ctx) {
  SmallVector<Tensor> inputs;
  for (unsigned k = 0, e = ctx.op->getNumOperands(); k < e; ++k) {
    FailureOr<Tensor> t = ctx.getOperand(k);
    if (failed(t))
      return failure();
    inputs.push_back(std::move(*t));
  }
  if (inputs.empty() || !ctx.op->getAttrOfType<IntegerAttr>("axis"))
    return failure();
  const Tensor &first = inputs.front();
  int64_t rank = first.shape.size();
  std::optional<int64_t> axis = normalizeAxis(ctx.getIntAttr("axis", 0), rank);
  if (!axis)
    return failure();
  // offsets[k] is where input k starts along the axis.
  SmallVector<int64_t> shape = first.shape, offsets = {0};
  shape[*axis] = 0;
  bool splat = true;
  for (const Tensor &t : inputs) {
    if (t.elementType != first.elementType ||
        static_cast<int64_t>(t.shape.size()) != rank)
      return failure();
    for (int64_t d = 0; d < rank; ++d)
      if (d != *axis && t.shape[d] != first.shape[d])
        return failure();
    if (llvm::AddOverflow(shape[*axis], t.shape[*axis], shape[*axis]))
      return failure();
    offsets.push_back(shape[*axis]);
    splat = splat && t.splat && elementsEqual(t, 0, first, 0);
  }
  FailureOr<Tensor> out = ctx.makeTensor(shape, first.elementType, splat);
  if (failed(out))
    return failure();
  if (splat) {
    copyElement(first, 0, *out, 0);
    return out;
  }
  SmallVector<SmallVector<int64_t>> strides;
  for (const Tensor &t : inputs)
    strides.push_back(getBroadcastStrides(t.shape, t.splat, t.shape));
  forEachCoordinate(shape, [&](ArrayRef<int64_t> coord, int64_t o) {
    // The last input starting at or before coord[axis]; empty inputs share
    // their offset with the next one and are skipped by upper_bound.
    size_t k = std::upper_bound(offsets.begin(), offsets.end(), coord[*axis]) -
               offsets.begin() - 1;
    int64_t src = dot(coord, strides[k]) - offsets[k] * strides[k][*axis];
    copyElement(inputs[k], src, *out, o);
  });
  return out;
}

FailureOr<SmallVector<Tensor>> evalSplit(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  if (failed(x))
    return failure();
  int64_t rank = x->shape.size();
  std::optional<int64_t> axis = normalizeAxis(ctx.getIntAttr("axis", 0), rank);
  int64_t parts = ctx.op->getNumResults();
  if (!axis || parts == 0)
    return failure();
  int64_t dim = x->shape[*axis];
  SmallVector<int64_t> sizes;
  if (std::optional<ArrayRef<int64_t>> split = ctx.getArrayAttr("split")) {
    sizes.assign(split->begin(), split->end());
  } else {
    // `num_outputs` parts of ceil(dim / parts); trailing ones get what is
    // left, possibly nothing.
    if (ctx.getIntAttr("num_outputs", parts) != parts)
      return failure();
    int64_t chunk = llvm::divideCeil(dim, parts);
    for (int64_t k = 0; k < parts; ++k)
      sizes.push_back(std::clamp<int64_t>(dim - k * chunk, 0, chunk));
  }
  if (static_cast<int64_t>(sizes.size()) != parts)
    return failure();
  SmallVector<Tensor> results;
  SmallVector<int64_t> begin(rank, 0), step(rank, 1), count = x->shape;
  for (int64_t size : sizes) {
    if (size < 0 || size > dim - begin[*axis])
      return failure();
    count[*axis] = size;
    FailureOr<Tensor> part = sliceTensor(ctx, *x, begin, step, count);
    if (failed(part))
      return failure();
    results.push_back(std::move(*part));
    begin[*axis] += size;
  }
  if (begin[*axis] != dim)
    return failure();
  return results;
}

FailureOr<Tensor> evalSlice(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  FailureOr<SmallVector<int64_t>> starts = ctx.getIntOperand(1),
                                  ends = ctx.getIntOperand(2),
                                  axes = ctx.getIntOperand(3),
                                  steps = ctx.getIntOperand(4);
  if (failed(x) || failed(starts) || failed(ends) || failed(axes) ||
      failed(steps) || ends->size() != starts->size() ||
      axes->size() != starts->size() || steps->size() != starts->size())
    return failure();
  int64_t rank = x->shape.size();
  if (failed(getAxisMask(*axes, rank)))
    return failure();
  SmallVector<int64_t> begin(rank, 0), step(rank, 1), count = x->shape;
  for (size_t k = 0; k < axes->size(); ++k) {
    int64_t d = *normalizeAxis((*axes)[k], rank);
    int64_t dim = x->shape[d], st = (*steps)[k];
    int64_t start = (*starts)[k], end = (*ends)[k];
    if (st == 0)
      return failure();
    // Negative bounds count from the end; then clamp as ONNX does, to
    // [0, dim] going forward and [-1, dim - 1] going backward.
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    if (st > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
    } else {
      start = std::clamp<int64_t>(start, 0, std::max<int64_t>(dim - 1, 0));
      end = std::clamp<int64_t>(end, -1, dim - 1);
    }
    // Unsigned magnitudes: |INT64_MIN| does not fit in int64_t.
    uint64_t stride = st > 0 ? st : 0 - static_cast<uint64_t>(st);
    int64_t span = st > 0 ? end - start : start - end;
    begin[d] = start;
    step[d] = st;
    count[d] = dim == 0 || span <= 0 ? 0 : (span - 1) / stride + 1;
  }
  return sliceTensor(ctx, *x, begin, step, count);
}

FailureOr<Tensor> evalGather(const EvalContext &ctx) {
  FailureOr<Tensor> data = ctx.getOperand(0);
  SmallVector<int64_t> indexShape;
  FailureOr<SmallVector<int64_t>> indices = ctx.getIntOperand(1, &indexShape);
  if (failed(data) || failed(indices))
    return failure();
  int64_t rank = data->shape.size();
  std::optional<int64_t> axis = normalizeAxis(ctx.getIntAttr("axis", 0), rank);
  if (!axis || !llvm::all_of(*indices, [&](int64_t &idx) {
        return wrapIndex(idx, data->shape[*axis]);
      }))
    return failure();
  // data[:axis] ++ indices ++ data[axis+1:]
  ArrayRef<int64_t> dataShape = data->shape;
  SmallVector<int64_t> shape(dataShape.take_front(*axis));
  llvm::append_range(shape, indexShape);
  llvm::append_range(shape, dataShape.drop_front(*axis + 1));
  SmallVector<int64_t> strides = getStrides(dataShape),
                       indexStrides = getStrides(indexShape);
  int64_t q = indexShape.size();
  return remap(ctx, *data, shape, nullptr, [&](ArrayRef<int64_t> coord) {
    int64_t index = (*indices)[dot(coord.slice(*axis, q), indexStrides)];
    int64_t s = index * strides[*axis];
    for (int64_t d = 0; d < rank; ++d)
      if (d != *axis)
        s += coord[d < *axis ? d : d + q - 1] * strides[d];
    return s;
  });
}

FailureOr<Tensor> evalGatherElements(const EvalContext &ctx) {
  FailureOr<Tensor> data = ctx.getOperand(0);
  SmallVector<int64_t> shape;
  FailureOr<SmallVector<int64_t>> indices = ctx.getIntOperand(1, &shape);
  if (failed(data) || failed(indices) || shape.size() != data->shape.size())
    return failure();
  int64_t rank = shape.size();
  std::optional<int64_t> axis = normalizeAxis(ctx.getIntAttr("axis", 0), rank);
  if (!axis || !llvm::all_of(*indices, [&](int64_t &idx) {
        return wrapIndex(idx, data->shape[*axis]);
      }))
    return failure();
  for (int64_t d = 0; d < rank; ++d)
    if (d != *axis && shape[d] > data->shape[d])
      return failure();
  SmallVector<int64_t> strides = getStrides(data->shape),
                       indexStrides = getStrides(shape);
  return remap(ctx, *data, shape, nullptr, [&](ArrayRef<int64_t> coord) {
    int64_t s = (*indices)[dot(coord, indexStrides)] * strides[*axis];
    for (int64_t d = 0; d < rank; ++d)
      if (d != *axis)
        s += coord[d] * strides[d];
    return s;
  });
}

FailureOr<Tensor> evalGatherND(const EvalContext &ctx) {
  FailureOr<Tensor> data = ctx.getOperand(0);
  SmallVector<int64_t> indexShape;
  FailureOr<SmallVector<int64_t>> indices = ctx.getIntOperand(1, &indexShape);
  if (failed(data) || failed(indices))
    return failure();
  ArrayRef<int64_t> dataShape = data->shape;
  int64_t rank = dataShape.size(), q = indexShape.size();
  int64_t batchDims = ctx.getIntAttr("batch_dims", 0);
  if (q < 1 || batchDims < 0 || batchDims >= std::min(q, rank))
    return failure();
  // Each index tuple of length m addresses dims [batchDims, batchDims + m).
  int64_t m = indexShape.back();
  if (m < 1 || m > rank - batchDims ||
      dataShape.take_front(batchDims) !=
          ArrayRef<int64_t>(indexShape).take_front(batchDims))
    return failure();
  for (auto [k, idx] : llvm::enumerate(*indices))
    if (!wrapIndex(idx, dataShape[batchDims + k % m]))
      return failure();
  SmallVector<int64_t> shape(ArrayRef<int64_t>(indexShape).drop_back());
  llvm::append_range(shape, dataShape.drop_front(batchDims + m));
  std::optional<int64_t> sliceSize =
      getNumElements(dataShape.drop_front(batchDims + m));
  std::optional<int64_t> tuplesPerBatch = getNumElements(
      ArrayRef<int64_t>(indexShape).slice(batchDims, q - 1 - batchDims));
  std::optional<int64_t> batchVolume =
      getNumElements(dataShape.drop_front(batchDims));
  if (!sliceSize || !tuplesPerBatch || !batchVolume)
    return failure();
  SmallVector<int64_t> strides = getStrides(dataShape),
                       outStrides = getStrides(shape);
  // Only called for non-empty results, so the divisors are non-zero.
  return remap(ctx, *data, shape, nullptr, [&](ArrayRef<int64_t> coord) {
    int64_t linear = dot(coord, outStrides);
    int64_t tuple = linear / *sliceSize;
    int64_t s = (tuple / *tuplesPerBatch) * *batchVolume + linear % *sliceSize;
    for (int64_t j = 0; j < m; ++j)
      s += (*indices)[tuple * m + j] * strides[batchDims + j];
    return s;
  });
}

FailureOr<Tensor> evalExpand(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  FailureOr<SmallVector<int64_t>> target = ctx.getIntOperand(1);
  // Negative dims are rejected before broadcastShapes, which would read the
  // dynamic-dim sentinel as "unknown".
  if (failed(x) || failed(target) ||
      llvm::any_of(*target, [](int64_t d) { return d < 0; }))
    return failure();
  std::optional<SmallVector<int64_t>> shape =
      broadcastShapes(x->shape, *target);
  if (!shape)
    return failure();
  SmallVector<int64_t> strides =
      getBroadcastStrides(x->shape, x->splat, *shape);
  return remap(ctx, *x, *shape, nullptr,
               [&](ArrayRef<int64_t> coord) { return dot(coord, strides); });
}

FailureOr<Tensor> evalTile(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  FailureOr<SmallVector<int64_t>> repeats = ctx.getIntOperand(1);
  if (failed(x) || failed(repeats) || repeats->size() != x->shape.size())
    return failure();
  SmallVector<int64_t> shape(x->shape.size());
  for (auto [d, r] : llvm::enumerate(*repeats))
    if (r < 0 || llvm::MulOverflow(x->shape[d], r, shape[d]))
      return failure();
  SmallVector<int64_t> strides = getStrides(x->shape);
  return remap(ctx, *x, shape, nullptr, [&](ArrayRef<int64_t> coord) {
    int64_t s = 0;
    for (size_t d = 0; d < coord.size(); ++d)
      s += (coord[d] % x->shape[d]) * strides[d];
    return s;
  });
}

/// Keeps the upper (or lower) triangle from diagonal k of the last two dims;
/// the rest becomes zero.
FailureOr<Tensor> evalTrilu(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  if (failed(x) || x->shape.size() < 2)
    return failure();
  int64_t k = 0;
  if (ctx.op->getNumOperands() > 1) {
    FailureOr<int64_t> value = ctx.getIntScalarOperand(1);
    if (failed(value))
      return failure();
    k = *value;
  }
  bool upper = ctx.getIntAttr("upper", 1) != 0;
  Tensor zero = makeZero(x->elementType);
  SmallVector<int64_t> strides = getStrides(x->shape);
  return remap(ctx, *x, x->shape, &zero, [&](ArrayRef<int64_t> coord) {
    int64_t diagonal = coord.back() - coord[coord.size() - 2];
    bool keep = upper ? diagonal >= k : diagonal <= k;
    return keep ? dot(coord, strides) : -1;
  });
}

/// Pad in "constant" mode; negative pads crop.
FailureOr<Tensor> evalPad(const EvalContext &ctx) {
  auto mode = ctx.op->getAttrOfType<StringAttr>("mode");
  FailureOr<Tensor> x = ctx.getOperand(0), value = ctx.getOperand(2);
  FailureOr<SmallVector<int64_t>> pads = ctx.getIntOperand(1);
  int64_t rank = failed(x) ? 0 : x->shape.size();
  if ((mode && mode.getValue() != "constant") || failed(x) || failed(pads) ||
      failed(value) || static_cast<int64_t>(pads->size()) != 2 * rank)
    return failure();
  // An empty constant_value means the default, zero.
  std::optional<int64_t> valueCount = getNumElements(value->shape);
  Tensor fill = valueCount == 0 ? makeZero(x->elementType) : *value;
  if (valueCount > 1 || fill.elementType != x->elementType)
    return failure();
  SmallVector<int64_t> shape(rank);
  for (int64_t d = 0; d < rank; ++d)
    if (llvm::AddOverflow(x->shape[d], (*pads)[d], shape[d]) ||
        llvm::AddOverflow(shape[d], (*pads)[rank + d], shape[d]) ||
        shape[d] < 0)
      return failure();
  SmallVector<int64_t> strides = getStrides(x->shape);
  return remap(ctx, *x, shape, &fill, [&](ArrayRef<int64_t> coord) {
    int64_t s = 0;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t src = coord[d] - (*pads)[d];
      if (src < 0 || src >= x->shape[d])
        return int64_t(-1);
      s += src * strides[d];
    }
    return s;
  });
}

//===----------------------------------------------------------------------===//
// Generators
//===----------------------------------------------------------------------===//

FailureOr<Tensor> evalConstantOfShape(const EvalContext &ctx) {
  FailureOr<SmallVector<int64_t>> shape = ctx.getIntOperand(0);
  if (failed(shape))
    return failure();
  Tensor value;
  if (Attribute attr = ctx.op->getAttr("value")) {
    auto dense = dyn_cast<DenseElementsAttr>(attr);
    if (!dense || dense.getNumElements() != 1)
      return failure();
    FailureOr<Tensor> unpacked = unpack(dense, 1);
    if (failed(unpacked))
      return failure();
    value = std::move(*unpacked);
  } else {
    value = makeZero(Float32Type::get(ctx.op->getContext()));
  }
  FailureOr<Tensor> out = ctx.makeTensor(*shape, value.elementType, true);
  if (succeeded(out))
    copyElement(value, 0, *out, 0);
  return out;
}

/// start, start + delta, ... up to (excluding) limit:
/// max(ceil((limit - start) / delta), 0) elements.
FailureOr<Tensor> evalRange(const EvalContext &ctx) {
  FailureOr<Tensor> start = ctx.getOperand(0), limit = ctx.getOperand(1),
                    delta = ctx.getOperand(2);
  if (failed(start) || failed(limit) || failed(delta) ||
      limit->elementType != start->elementType ||
      delta->elementType != start->elementType)
    return failure();
  for (const Tensor *t : {&*start, &*limit, &*delta})
    if (getNumElements(t->shape) != 1)
      return failure();
  int64_t count;
  if (isFloat(*start)) {
    double s = getFloat(*start, 0), d = getFloat(*delta, 0);
    if (d == 0)
      return failure();
    double n = std::ceil((getFloat(*limit, 0) - s) / d);
    if (std::isnan(n) || n > static_cast<double>(ctx.maxElements))
      return failure();
    count = n > 0 ? static_cast<int64_t>(n) : 0;
  } else {
    int64_t s = getInt(*start, 0), d = getInt(*delta, 0), diff;
    if (d == 0 || llvm::SubOverflow(getInt(*limit, 0), s, diff) ||
        llvm::divideSignedWouldOverflow(diff, d))
      return failure();
    count = std::max<int64_t>(llvm::divideCeilSigned(diff, d), 0);
  }
  FailureOr<Tensor> out = ctx.makeTensor({count}, start->elementType, false);
  if (failed(out))
    return failure();
  for (int64_t k = 0; k < count; ++k) {
    if (isFloat(*out))
      out->f[k] = getFloat(*start, 0) + k * getFloat(*delta, 0);
    else
      out->i[k] = wrapAdd(getInt(*start, 0), wrapMul(k, getInt(*delta, 0)));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Reductions and scans
//===----------------------------------------------------------------------===//

enum class ReduceKind { Sum, Mean, Max, Min };

FailureOr<Tensor> evalReduce(const EvalContext &ctx, ReduceKind kind) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  if (failed(x))
    return failure();
  int64_t rank = x->shape.size();
  std::optional<ArrayRef<int64_t>> axes = ctx.getArrayAttr("axes");
  SmallVector<bool> reduced(rank, true);
  if (!axes || axes->empty()) {
    if (ctx.getIntAttr("noop_with_empty_axes", 0))
      return x;
  } else {
    FailureOr<SmallVector<bool>> mask = getAxisMask(*axes, rank);
    if (failed(mask))
      return failure();
    reduced = *mask;
  }
  bool keepDims = ctx.getIntAttr("keepdims", 1) != 0;
  // keptShape has the input's rank, so its strides (zeroed on reduced dims)
  // map input coordinates to output indices with or without keepdims.
  SmallVector<int64_t> keptShape, shape;
  int64_t count = 1;
  for (int64_t d = 0; d < rank; ++d) {
    keptShape.push_back(reduced[d] ? 1 : x->shape[d]);
    if (!reduced[d] || keepDims)
      shape.push_back(keptShape.back());
    if (reduced[d])
      count *= x->shape[d];
  }
  // Max, Min and Mean of nothing have no sensible value here.
  if (count == 0 && kind != ReduceKind::Sum)
    return failure();
  bool useFloat = isFloat(*x);
  FailureOr<Tensor> out = ctx.makeTensor(shape, x->elementType, x->splat);
  if (failed(out))
    return failure();
  if (x->splat) {
    // Only a sum depends on how many copies of the value are reduced.
    bool sum = kind == ReduceKind::Sum;
    if (useFloat)
      out->f[0] = sum && count == 0 ? 0.0 : getFloat(*x, 0) * (sum ? count : 1);
    else
      out->i[0] = wrapMul(getInt(*x, 0), sum ? count : 1);
    return out;
  }
  double floatInit = kind == ReduceKind::Max   ? -INFINITY
                     : kind == ReduceKind::Min ? INFINITY
                                               : 0.0;
  int64_t intInit =
      kind == ReduceKind::Max   ? std::numeric_limits<int64_t>::min()
      : kind == ReduceKind::Min ? std::numeric_limits<int64_t>::max()
                                : 0;
  std::fill(out->f.begin(), out->f.end(), floatInit);
  std::fill(out->i.begin(), out->i.end(), intInit);
  SmallVector<int64_t> outStrides = getStrides(keptShape);
  for (int64_t d = 0; d < rank; ++d)
    if (reduced[d])
      outStrides[d] = 0;
  forEachCoordinate(x->shape, [&](ArrayRef<int64_t> coord, int64_t linear) {
    int64_t o = dot(coord, outStrides);
    if (useFloat) {
      double v = getFloat(*x, linear), &acc = out->f[o];
      if (kind == ReduceKind::Sum || kind == ReduceKind::Mean)
        acc += v;
      else if (std::isnan(v) || (kind == ReduceKind::Max ? v > acc : v < acc))
        acc = v; // NaN propagates.
      return;
    }
    int64_t v = getInt(*x, linear), &acc = out->i[o];
    if (kind == ReduceKind::Sum || kind == ReduceKind::Mean)
      acc = wrapAdd(acc, v);
    else
      acc = kind == ReduceKind::Max ? std::max(acc, v) : std::min(acc, v);
  });
  if (kind == ReduceKind::Mean) {
    for (double &v : out->f)
      v /= count;
    for (int64_t &v : out->i)
      v /= count;
  }
  return out;
}

/// Splits `shape` around `axis` into the element counts before and after it.
std::pair<int64_t, int64_t> getOuterInner(ArrayRef<int64_t> shape,
                                          int64_t axis) {
  return {getNumElements(shape.take_front(axis)).value_or(0),
          getNumElements(shape.drop_front(axis + 1)).value_or(0)};
}

FailureOr<Tensor> evalArgMax(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  if (failed(x))
    return failure();
  int64_t rank = x->shape.size();
  std::optional<int64_t> axis = normalizeAxis(ctx.getIntAttr("axis", 0), rank);
  if (!axis || x->shape[*axis] == 0)
    return failure();
  bool selectLast = ctx.getIntAttr("select_last_index", 0) != 0;
  int64_t dim = x->shape[*axis];
  SmallVector<int64_t> shape = x->shape;
  if (ctx.getIntAttr("keepdims", 1))
    shape[*axis] = 1;
  else
    shape.erase(shape.begin() + *axis);
  FailureOr<Tensor> out =
      ctx.makeTensor(shape, ctx.getResultElementType(), x->splat);
  if (failed(out) || isFloat(*out))
    return failure();
  if (x->splat) {
    out->i[0] = selectLast ? dim - 1 : 0;
    return out;
  }
  auto [outer, inner] = getOuterInner(x->shape, *axis);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      int64_t base = o * dim * inner + in, best = 0;
      for (int64_t j = 1; j < dim; ++j) {
        int cmp = compareElements(*x, base + j * inner, base + best * inner);
        if (cmp > 0 || (cmp == 0 && selectLast))
          best = j;
      }
      out->i[o * inner + in] = best;
    }
  }
  return out;
}

FailureOr<Tensor> evalCumSum(const EvalContext &ctx) {
  FailureOr<Tensor> x = ctx.getOperand(0);
  FailureOr<int64_t> axisValue = ctx.getIntScalarOperand(1);
  if (failed(x) || failed(axisValue))
    return failure();
  std::optional<int64_t> axis = normalizeAxis(*axisValue, x->shape.size());
  if (!axis)
    return failure();
  bool exclusive = ctx.getIntAttr("exclusive", 0) != 0;
  bool reverse = ctx.getIntAttr("reverse", 0) != 0;
  FailureOr<Tensor> out = ctx.makeTensor(x->shape, x->elementType, false);
  if (failed(out))
    return failure();
  int64_t dim = x->shape[*axis];
  auto [outer, inner] = getOuterInner(x->shape, *axis);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      double floatSum = 0;
      int64_t intSum = 0;
      for (int64_t j = 0; j < dim; ++j) {
        int64_t idx = (o * dim + (reverse ? dim - 1 - j : j)) * inner + in;
        auto accumulate = [&] {
          floatSum += getFloat(*x, idx);
          intSum = wrapAdd(intSum, getInt(*x, idx));
        };
        // An exclusive sum is stored before the element itself is added.
        if (!exclusive)
          accumulate();
        if (isFloat(*out))
          out->f[idx] = floatSum;
        else
          out->i[idx] = intSum;
        if (exclusive)
          accumulate();
      }
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

FailureOr<Tensor> evaluateSingleResult(const EvalContext &ctx) {
  using R = ReduceKind;
  using FloatFn = double (*)(double);
  auto unary = [&](FloatFn onFloat) { return evalUnary(ctx, onFloat); };
  // Comparisons and logical ops read the same for every element type; i1
  // holds only 0 and 1, so Xor is "not equal".
  auto binary = [&](auto fn) { return evalBinary(ctx, fn, fn); };
  auto pow = [](double a, double b) { return std::pow(a, b); };
  auto minInt = [](int64_t a, int64_t b) { return std::min(a, b); };
  auto maxInt = [](int64_t a, int64_t b) { return std::max(a, b); };
  return TypeSwitch<Operation *, FailureOr<Tensor>>(ctx.op)
      .Case([&](AddOp) { return evalBinary(ctx, std::plus<>(), wrapAdd); })
      .Case([&](SubOp) { return evalBinary(ctx, std::minus<>(), wrapSub); })
      .Case(
          [&](MulOp) { return evalBinary(ctx, std::multiplies<>(), wrapMul); })
      .Case([&](DivOp) { return evalBinary(ctx, std::divides<>(), divideInt); })
      .Case([&](PowOp) { return evalBinary(ctx, pow, powInt); })
      .Case([&](MinOp) { return evalBinary(ctx, minFloat, minInt); })
      .Case([&](MaxOp) { return evalBinary(ctx, maxFloat, maxInt); })
      .Case([&](AndOp) { return binary(std::logical_and<>()); })
      .Case([&](OrOp) { return binary(std::logical_or<>()); })
      .Case([&](XorOp) { return binary(std::not_equal_to<>()); })
      .Case([&](EqualOp) { return binary(std::equal_to<>()); })
      .Case([&](LessOp) { return binary(std::less<>()); })
      .Case([&](LessOrEqualOp) { return binary(std::less_equal<>()); })
      .Case([&](GreaterOp) { return binary(std::greater<>()); })
      .Case([&](GreaterOrEqualOp) { return binary(std::greater_equal<>()); })
      .Case([&](NegOp) {
        return evalUnary(
            ctx, [](double x) { return -x; },
            [](int64_t x) { return wrapSub(0, x); });
      })
      .Case([&](AbsOp) {
        return evalUnary(
            ctx, [](double x) { return std::fabs(x); },
            [](int64_t x) { return x < 0 ? wrapSub(0, x) : x; });
      })
      .Case([&](ReluOp) {
        return evalUnary(
            ctx, [](double x) { return x < 0 ? 0.0 : x; },
            [](int64_t x) { return std::max<int64_t>(x, 0); });
      })
      .Case([&](NotOp) {
        return evalUnary(ctx, nullptr, [](int64_t x) -> int64_t { return !x; });
      })
      .Case(
          [&](SqrtOp) { return unary([](double x) { return std::sqrt(x); }); })
      .Case([&](ReciprocalOp) { return unary([](double x) { return 1 / x; }); })
      .Case([&](ExpOp) { return unary([](double x) { return std::exp(x); }); })
      .Case([&](LogOp) { return unary([](double x) { return std::log(x); }); })
      .Case(
          [&](TanhOp) { return unary([](double x) { return std::tanh(x); }); })
      .Case([&](ErfOp) { return unary([](double x) { return std::erf(x); }); })
      .Case([&](SinOp) { return unary([](double x) { return std::sin(x); }); })
      .Case([&](CosOp) { return unary([](double x) { return std::cos(x); }); })
      .Case([&](FloorOp) {
        return unary([](double x) { return std::floor(x); });
      })
      .Case(
          [&](CeilOp) { return unary([](double x) { return std::ceil(x); }); })
      .Case([&](RoundOp) { return unary(roundHalfToEven); })
      .Case([&](SigmoidOp) {
        return unary([](double x) { return 1 / (1 + std::exp(-x)); });
      })
      .Case([&](SoftplusOp) {
        // log(1 + e^x), written so that large x does not overflow.
        return unary([](double x) {
          return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)));
        });
      })
      .Case([&](IsNaNOp) {
        return unary([](double x) { return std::isnan(x) ? 1.0 : 0.0; });
      })
      .Case([&](IsInfOp) {
        bool negative = ctx.getIntAttr("detect_negative", 1) != 0;
        bool positive = ctx.getIntAttr("detect_positive", 1) != 0;
        return evalUnary(ctx, [=](double x) {
          return std::isinf(x) && (x > 0 ? positive : negative) ? 1.0 : 0.0;
        });
      })
      .Case([&](GeluOp) {
        auto approximate = ctx.op->getAttrOfType<StringAttr>("approximate");
        bool useTanh = approximate && approximate.getValue() == "tanh";
        if (approximate && !useTanh && approximate.getValue() != "none")
          return FailureOr<Tensor>(failure());
        return evalUnary(ctx, [=](double x) { return gelu(x, useTanh); });
      })
      .Case([&](WhereOp) { return evalWhere(ctx); })
      .Case([&](ClipOp) { return evalClip(ctx); })
      .Case([&](CastOp) -> FailureOr<Tensor> {
        FailureOr<Tensor> x = ctx.getOperand(0);
        auto to = ctx.op->getAttrOfType<TypeAttr>("to");
        if (failed(x) || !to)
          return failure();
        return castTensor(ctx, *x, to.getValue());
      })
      .Case([&](CastLikeOp) -> FailureOr<Tensor> {
        // Only the target's type matters, not its value.
        FailureOr<Tensor> x = ctx.getOperand(0);
        Type target = ctx.getOperandType(1);
        if (failed(x) || !target)
          return failure();
        return castTensor(ctx, *x, getElementTypeOrSelf(target));
      })
      .Case([&](ShapeOp) { return evalShape(ctx); })
      .Case([&](SizeOp) { return evalSize(ctx); })
      .Case([&](ReshapeOp) { return evalReshape(ctx); })
      .Case([&](FlattenOp) { return evalFlatten(ctx); })
      .Case([&](SqueezeOp) { return evalSqueeze(ctx); })
      .Case([&](UnsqueezeOp) { return evalUnsqueeze(ctx); })
      .Case([&](TransposeOp) { return evalTranspose(ctx); })
      .Case([&](ConcatOp) { return evalConcat(ctx); })
      .Case([&](SliceOp) { return evalSlice(ctx); })
      .Case([&](GatherOp) { return evalGather(ctx); })
      .Case([&](GatherElementsOp) { return evalGatherElements(ctx); })
      .Case([&](GatherNDOp) { return evalGatherND(ctx); })
      .Case([&](ExpandOp) { return evalExpand(ctx); })
      .Case([&](TileOp) { return evalTile(ctx); })
      .Case([&](TriluOp) { return evalTrilu(ctx); })
      .Case([&](PadOp) { return evalPad(ctx); })
      .Case([&](ConstantOfShapeOp) { return evalConstantOfShape(ctx); })
      .Case([&](RangeOp) { return evalRange(ctx); })
      .Case([&](ReduceSumOp) { return evalReduce(ctx, R::Sum); })
      .Case([&](ReduceMeanOp) { return evalReduce(ctx, R::Mean); })
      .Case([&](ReduceMaxOp) { return evalReduce(ctx, R::Max); })
      .Case([&](ReduceMinOp) { return evalReduce(ctx, R::Min); })
      .Case([&](ArgMaxOp) { return evalArgMax(ctx); })
      .Case([&](CumSumOp) { return evalCumSum(ctx); })
      .Default([](Operation *) { return failure(); });
}

/// True when a result of `shape` fits the declared `type`, which may be less
/// static than the result but must not disagree with it.
bool fitsDeclaredType(ArrayRef<int64_t> shape, Type elementType, Type type) {
  auto tensorType = dyn_cast<TensorType>(type);
  if (!tensorType || tensorType.getElementType() != elementType)
    return false;
  if (!tensorType.hasRank())
    return true;
  if (tensorType.getRank() != static_cast<int64_t>(shape.size()))
    return false;
  for (auto [declared, actual] : llvm::zip_equal(tensorType.getShape(), shape))
    if (!ShapedType::isDynamic(declared) && declared != actual)
      return false;
  return true;
}

} // namespace

FailureOr<SmallVector<DenseElementsAttr>>
mlir::tessel::evaluateConstantOp(Operation *op, ArrayRef<Attribute> operands,
                                 int64_t maxElements) {
  if (!op)
    return failure();
  // A constant or an identity already holds its value: hand the attribute
  // back unchanged rather than round-tripping its bits.
  if (isa<ConstantOp, IdentityOp>(op)) {
    DenseElementsAttr value =
        isa<ConstantOp>(op) ? op->getAttrOfType<DenseElementsAttr>("value")
        : operands.empty()  ? nullptr
                            : dyn_cast_or_null<DenseElementsAttr>(operands[0]);
    if (!value || op->getNumResults() != 1 ||
        !isa<RankedTensorType>(value.getType()) ||
        (!value.isSplat() && value.getNumElements() > maxElements) ||
        !fitsDeclaredType(value.getType().getShape(), value.getElementType(),
                          op->getResult(0).getType()))
      return failure();
    return SmallVector<DenseElementsAttr>{value};
  }

  EvalContext ctx{op, operands, maxElements};
  SmallVector<Tensor> results;
  if (isa<SplitOp>(op)) {
    FailureOr<SmallVector<Tensor>> parts = evalSplit(ctx);
    if (failed(parts))
      return failure();
    results = std::move(*parts);
  } else {
    FailureOr<Tensor> result = evaluateSingleResult(ctx);
    if (failed(result))
      return failure();
    results.push_back(std::move(*result));
  }
  if (results.size() != op->getNumResults())
    return failure();

  SmallVector<DenseElementsAttr> attrs;
  for (auto [tensor, result] : llvm::zip_equal(results, op->getResults())) {
    // Most results were sized when allocated; ones passed through (e.g. a
    // no-op reduction) are checked here.
    std::optional<int64_t> count = getNumElements(tensor.shape);
    if (!count || (!tensor.splat && *count > maxElements) ||
        !fitsDeclaredType(tensor.shape, tensor.elementType, result.getType()))
      return failure();
    attrs.push_back(pack(tensor));
  }
  return attrs;
}
