//===- MaskStructure.cpp - what an attention mask keeps -------------------===//
//
// The abstract evaluation behind `analyzeMaskStructure` (see the header).
// Each value of the mask's producers is described over its own coordinates
// x_0 .. x_{r-1}:
//
//   Affine     an integer tensor c + sum_k a_k * x_k (a_k, c monomials);
//   Predicate  a boolean tensor: the conjunction of linear constraints
//              sum_k a_k * x_k + c >= 0 and of terms T[x_p, x_q, ...];
//   Additive   a float tensor: 0 where a predicate holds, `fill` elsewhere.
//
//===----------------------------------------------------------------------===//

#include "passes/MaskStructure.h"

#include "dialect/ShapeUtils.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>
#include <type_traits>
#include <variant>

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::fusion;

namespace {

struct Affine {
  Monomial c = Monomial::constant(0);
  SmallVector<Monomial, 4> a; // one per coordinate
};

struct Constraint {
  int64_t c = 0;
  SmallVector<int64_t, 4> a; // sum_k a_k * x_k + c >= 0
};

struct Predicate {
  bool never = false; // false everywhere
  bool numeric = false; // a 0 / 1 tensor of numbers rather than a boolean
  SmallVector<Constraint, 2> constraints;
  SmallVector<MaskStructure::Term, 2> terms; // axes: this value's coordinates
};

struct Additive {
  Predicate keep;
  double fill;
};

using Abstract = std::variant<Affine, Predicate, Additive>;

bool isTrue(const Predicate &p) {
  return !p.never && p.constraints.empty() && p.terms.empty();
}

/// Not p, when it is again a conjunction: p is true, false, one constraint
/// or one term.
std::optional<Predicate> negate(const Predicate &p) {
  Predicate out;
  out.numeric = p.numeric;
  if (p.never)
    return out;
  if (isTrue(p)) {
    out.never = true;
    return out;
  }
  if (p.constraints.size() == 1 && p.terms.empty()) {
    Constraint c = p.constraints[0];
    c.c = -c.c - 1;
    for (int64_t &a : c.a)
      a = -a;
    out.constraints.push_back(c);
    return out;
  }
  if (p.constraints.empty() && p.terms.size() == 1) {
    out.terms = p.terms;
    out.terms[0].negated = !out.terms[0].negated;
    return out;
  }
  return std::nullopt;
}

bool isZero(const Monomial &m) { return m.isConstant(0); }

std::optional<Monomial> addMonomials(const Monomial &x, const Monomial &y,
                                     int64_t sign) {
  if (isZero(y))
    return x;
  if (isZero(x)) {
    Monomial r = y;
    r.coeff *= sign;
    return r;
  }
  if (x.symbols != y.symbols)
    return std::nullopt;
  Monomial r = x;
  r.coeff += sign * y.coeff;
  if (r.coeff == 0)
    return Monomial::constant(0);
  return r;
}

/// The value of a float constant that is one number (any shape of ones).
std::optional<double> scalarFloat(Value v) {
  DenseFPElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      llvm::any_of(attr.getType().getShape(), [](int64_t d) { return d != 1; }))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

class Evaluator {
public:
  explicit Evaluator(ShapeFacts &facts) : facts(facts) {}

  std::optional<Abstract> eval(Value v, int depth = 0);
  std::string why;

private:
  std::optional<Abstract> compute(Value v, int depth);
  std::optional<Abstract> fail(const Twine &reason) {
    if (why.empty())
      why = reason.str();
    return std::nullopt;
  }

  /// `x` (a value of `from`'s shape) moved to the coordinates of `to`,
  /// which broadcasts it (right-aligned). A coordinate that is used must
  /// range over the same dim in both, or over a dim of 1 (always 0).
  std::optional<Abstract> lift(Abstract x, Value from, Value to);
  /// `x` with its coordinates renumbered: coordinate k becomes `map[k]`
  /// (-1: the dim is 1 and the coordinate always 0) in a value of `rank`.
  /// Terms' axes follow `termMap` when given (a term's dim of 1 may sit on
  /// a coordinate that is always 0).
  static Abstract remap(const Abstract &x, ArrayRef<int64_t> map,
                        int64_t rank, ArrayRef<int64_t> termMap = {});

  /// Every operand of `op` evaluated and lifted to its result's
  /// coordinates, as a `T` (else fails with "<what> of something that is
  /// not <kind>").
  template <typename T>
  std::optional<SmallVector<T, 2>> liftedOperands(Operation *op, int depth,
                                                  StringRef what);

  std::optional<Abstract> evalAffineBinary(Operation *op, int depth);
  std::optional<Abstract> evalCompare(Operation *op, int depth);
  std::optional<Abstract> evalLogic(Operation *op, int depth);
  std::optional<Abstract> evalReshape(Value result, int depth);
  std::optional<Abstract> evalGather(GatherOp gather, int depth);
  std::optional<Abstract> evalGatherND(GatherNDOp gather, int depth);
  std::optional<Abstract> leaf(Value v);

  /// The coordinate k when `x` is exactly x_k (coefficient 1, offset 0).
  static std::optional<int64_t> singleCoordinate(const Affine &x) {
    if (!isZero(x.c))
      return std::nullopt;
    std::optional<int64_t> found;
    for (auto [k, a] : llvm::enumerate(x.a)) {
      if (isZero(a))
        continue;
      if (found || !a.isConstant(1))
        return std::nullopt;
      found = k;
    }
    return found;
  }

  ShapeFacts &facts;
  DenseMap<Value, std::optional<Abstract>> memo;
};

int64_t rankOfValue(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type ? type.getRank() : -1;
}

Abstract Evaluator::remap(const Abstract &x, ArrayRef<int64_t> map,
                          int64_t rank, ArrayRef<int64_t> termMap) {
  if (termMap.empty())
    termMap = map;
  auto remapInts = [&](ArrayRef<int64_t> a) {
    SmallVector<int64_t, 4> out(rank, 0);
    for (auto [k, v] : llvm::enumerate(a))
      if (map[k] >= 0)
        out[map[k]] = v;
    return out;
  };
  auto remapPredicate = [&](const Predicate &p) {
    Predicate out;
    out.never = p.never;
    out.numeric = p.numeric;
    for (const Constraint &c : p.constraints)
      out.constraints.push_back({c.c, remapInts(c.a)});
    for (MaskStructure::Term t : p.terms) {
      for (int64_t &axis : t.axes)
        axis = axis < 0 ? axis : termMap[axis];
      out.terms.push_back(t);
    }
    return out;
  };
  if (auto *affine = std::get_if<Affine>(&x)) {
    Affine out;
    out.c = affine->c;
    out.a.assign(rank, Monomial::constant(0));
    for (auto [k, v] : llvm::enumerate(affine->a))
      if (map[k] >= 0)
        out.a[map[k]] = v;
    return out;
  }
  if (auto *p = std::get_if<Predicate>(&x))
    return remapPredicate(*p);
  const auto &add = std::get<Additive>(x);
  return Additive{remapPredicate(add.keep), add.fill};
}

std::optional<Abstract> Evaluator::lift(Abstract x, Value from, Value to) {
  auto fromDims = facts.dims(from), toDims = facts.dims(to);
  if (!fromDims || !toDims || fromDims->size() > toDims->size())
    return fail("cannot follow the mask's dims through a broadcast");
  int64_t shift = toDims->size() - fromDims->size();
  // Which coordinates are used.
  SmallVector<bool, 4> used(fromDims->size(), false);
  SmallVector<bool, 4> usedByTerm(fromDims->size(), false);
  auto markInts = [&](ArrayRef<int64_t> a) {
    for (auto [k, v] : llvm::enumerate(a))
      used[k] = used[k] || v != 0;
  };
  auto markPredicate = [&](const Predicate &p) {
    for (const Constraint &c : p.constraints)
      markInts(c.a);
    for (const MaskStructure::Term &t : p.terms)
      for (int64_t axis : t.axes)
        if (axis >= 0)
          usedByTerm[axis] = true;
  };
  if (auto *affine = std::get_if<Affine>(&x)) {
    for (auto [k, a] : llvm::enumerate(affine->a))
      used[k] = !isZero(a);
  } else if (auto *p = std::get_if<Predicate>(&x)) {
    markPredicate(*p);
  } else {
    markPredicate(std::get<Additive>(x).keep);
  }
  // A term's dims of 1 broadcast with it; its other dims must not.
  auto termDimIsUnit = [&](const Predicate &p, size_t k) {
    for (const MaskStructure::Term &term : p.terms) {
      auto dims = facts.dims(term.value);
      for (auto [d, axis] : llvm::enumerate(term.axes))
        if (axis == (int64_t)k && (!dims || !(*dims)[d].isConstant(1)))
          return false;
    }
    return true;
  };
  const Predicate *predicate = std::get_if<Predicate>(&x);
  if (auto *add = std::get_if<Additive>(&x))
    predicate = &add->keep;
  SmallVector<int64_t, 4> map, termMap;
  for (size_t k = 0; k < fromDims->size(); ++k) {
    const Monomial &dim = (*fromDims)[k], &out = (*toDims)[k + shift];
    bool same = dim == out;
    termMap.push_back(k + shift);
    if (dim.isConstant(1) && !same) {
      if (usedByTerm[k] && !termDimIsUnit(*predicate, k))
        return fail("a padding lookup is broadcast along its own dim");
      map.push_back(-1); // always 0: the coefficient drops out
      continue;
    }
    if ((used[k] || usedByTerm[k]) && !same)
      return fail("cannot prove that a position index spans the dim it is "
                  "broadcast to");
    map.push_back(k + shift);
  }
  return remap(x, map, toDims->size(), termMap);
}

std::optional<Abstract> Evaluator::eval(Value v, int depth) {
  if (depth > 48)
    return fail("the mask's producers are too deep to analyse");
  auto it = memo.find(v);
  if (it != memo.end())
    return it->second;
  std::optional<Abstract> result = compute(v, depth + 1);
  memo[v] = result;
  return result;
}

std::optional<Abstract> Evaluator::leaf(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type)
    return fail("the mask depends on an unranked value");
  if (!type.getElementType().isInteger(1))
    return fail("the mask depends on a computed tensor of '" +
                [&] {
                  std::string s;
                  llvm::raw_string_ostream os(s);
                  os << type.getElementType();
                  return s;
                }() +
                "' that is not a position index");
  MaskStructure::Term term;
  term.value = v;
  for (int64_t k = 0; k < type.getRank(); ++k)
    term.axes.push_back(k);
  Predicate p;
  p.terms.push_back(term);
  return Abstract(p);
}

std::optional<Abstract> Evaluator::compute(Value v, int depth) {
  int64_t rank = rankOfValue(v);
  if (rank < 0)
    return fail("the mask depends on an unranked value");
  Operation *def = v.getDefiningOp();
  Type element = getElementTypeOrSelf(v.getType());

  // A size from the shape computations: one entry, every dim 1.
  if (element.isSignlessInteger() && !element.isInteger(1)) {
    auto entries = facts.entries(v);
    auto type = cast<RankedTensorType>(v.getType());
    if (entries && entries->size() == 1 &&
        llvm::all_of(type.getShape(), [](int64_t d) { return d == 1; })) {
      Affine a;
      a.c = (*entries)[0];
      a.a.assign(rank, Monomial::constant(0));
      return Abstract(a);
    }
  }
  if (auto constant = dyn_cast_or_null<ConstantOp>(def)) {
    DenseElementsAttr attr;
    if (matchPattern(v, m_Constant(&attr)) && attr.isSplat()) {
      if (element.isInteger(1)) {
        Predicate p;
        p.never = !attr.getSplatValue<bool>();
        return Abstract(p);
      }
      if (element.isSignlessInteger()) {
        Affine a;
        a.c = Monomial::constant(attr.getSplatValue<APInt>().getSExtValue());
        a.a.assign(rank, Monomial::constant(0));
        return Abstract(a);
      }
    }
    return leaf(v);
  }
  if (!def)
    return leaf(v);

  if (auto cos = dyn_cast<ConstantOfShapeOp>(def)) {
    // A tensor of one value: true / false, or a number 1 / 0.
    Predicate p;
    p.numeric = !element.isInteger(1);
    auto value = cos.getValue();
    auto dense = value ? dyn_cast<DenseElementsAttr>(*value) : nullptr;
    if (value && !dense)
      return fail("constant_of_shape with an unreadable value");
    if (!dense) {
      p.never = true; // default f32 0
    } else if (isa<FloatType>(dense.getElementType())) {
      double x = dense.getSplatValue<APFloat>().convertToDouble();
      if (x != 0.0 && x != 1.0)
        return fail("constant_of_shape of a value other than 0 or 1");
      p.never = x == 0.0;
    } else {
      int64_t x = dense.getSplatValue<APInt>().getSExtValue();
      if (dense.getElementType().isInteger(1))
        x = x != 0;
      if (x != 0 && x != 1)
        return fail("constant_of_shape of a value other than 0 or 1");
      p.never = x == 0;
    }
    return Abstract(p);
  }
  if (auto trilu = dyn_cast<TriluOp>(def)) {
    // Keeps j - i <= k (lower) or j - i >= k (upper) of the last two dims.
    if (rank < 2)
      return fail("trilu of a tensor of rank < 2");
    int64_t k = 0;
    if (Value kv = trilu.getK()) {
      auto entries = facts.entries(kv);
      if (!entries || entries->size() != 1 || !(*entries)[0].getConstant())
        return fail("trilu with a diagonal that is not a constant");
      k = *(*entries)[0].getConstant();
    }
    auto x = eval(trilu.getInput(), depth);
    if (!x)
      return std::nullopt;
    auto *p = std::get_if<Predicate>(&*x);
    if (!p)
      return fail("trilu of something that is not a 0/1 tensor");
    Predicate out = *p;
    Constraint c;
    c.a.assign(rank, 0);
    if (trilu.getUpper()) {
      c.a[rank - 1] = 1; // j - i - k >= 0
      c.a[rank - 2] = -1;
      c.c = -k;
    } else {
      c.a[rank - 1] = -1; // k - (j - i) >= 0
      c.a[rank - 2] = 1;
      c.c = k;
    }
    out.constraints.push_back(c);
    return Abstract(out);
  }
  if (auto equal = dyn_cast<EqualOp>(def)) {
    // A 0/1 tensor compared with 0 (negation) or 1.
    for (int side = 0; side < 2; ++side) {
      Value other = equal->getOperand(1 - side);
      auto entries = facts.entries(other);
      std::optional<double> number = scalarFloat(other);
      if (entries && entries->size() == 1 && (*entries)[0].getConstant())
        number = (double)*(*entries)[0].getConstant();
      if (!number || (*number != 0.0 && *number != 1.0))
        continue;
      auto x = eval(equal->getOperand(side), depth);
      auto *p = x ? std::get_if<Predicate>(&*x) : nullptr;
      if (!p || !p->numeric)
        continue;
      auto lifted = lift(*x, equal->getOperand(side), v);
      if (!lifted)
        return std::nullopt;
      Predicate same = std::get<Predicate>(*lifted);
      same.numeric = false;
      if (*number == 1.0)
        return Abstract(same);
      auto negated = negate(same);
      if (!negated)
        return fail("a 0/1 mask compared with 0 that is not a single bound");
      return Abstract(*negated);
    }
  }
  if (isa<SubOp, MulOp>(def) && isa<FloatType>(element)) {
    // 1 - m of a 0/1 mask m, and m * fill: an additive mask (older
    // transformers: (1 - attention_mask) * float32 lowest).
    Value lhs = def->getOperand(0), rhs = def->getOperand(1);
    if (isa<SubOp>(def) && scalarFloat(lhs) == 1.0) {
      auto x = eval(rhs, depth);
      auto *p = x ? std::get_if<Predicate>(&*x) : nullptr;
      if (p && p->numeric) {
        auto lifted = lift(*x, rhs, v);
        if (!lifted)
          return std::nullopt;
        auto negated = negate(std::get<Predicate>(*lifted));
        if (!negated)
          return fail("1 - a 0/1 mask that is not a single bound or term");
        return Abstract(*negated);
      }
    }
    if (isa<MulOp>(def)) {
      for (int side = 0; side < 2; ++side) {
        Value m = def->getOperand(side);
        auto fill = scalarFloat(def->getOperand(1 - side));
        if (!fill)
          continue;
        auto x = eval(m, depth);
        auto *p = x ? std::get_if<Predicate>(&*x) : nullptr;
        if (!p || !p->numeric)
          continue;
        auto lifted = lift(*x, m, v);
        if (!lifted)
          return std::nullopt;
        // fill where m is 1: keep where it is 0.
        auto keep = negate(std::get<Predicate>(*lifted));
        if (!keep)
          return fail("a filled 0/1 mask that is not a single bound or term");
        keep->numeric = false;
        return Abstract(Additive{*keep, *fill});
      }
    }
  }
  if (auto range = dyn_cast<RangeOp>(def)) {
    auto start = facts.entries(range.getStart());
    auto delta = facts.entries(range.getDelta());
    if (!start || !delta || start->size() != 1 || delta->size() != 1 ||
        !(*delta)[0].getConstant())
      return fail("a position range with a non-constant step");
    Affine a;
    a.c = (*start)[0];
    a.a = {(*delta)[0]};
    return Abstract(a);
  }
  if (auto unsqueeze = dyn_cast<UnsqueezeOp>(def)) {
    auto x = eval(unsqueeze.getData(), depth);
    if (!x)
      return std::nullopt;
    SmallVector<bool, 4> inserted(rank, false);
    for (int64_t axis : unsqueeze.getAxes()) {
      auto a = normalizeAxis(axis, rank);
      if (!a)
        return fail("bad unsqueeze axis");
      inserted[*a] = true;
    }
    SmallVector<int64_t, 4> map;
    for (int64_t k = 0; k < rank; ++k)
      if (!inserted[k])
        map.push_back(k);
    return remap(*x, map, rank);
  }
  if (isa<SqueezeOp, ReshapeOp, FlattenOp>(def))
    return evalReshape(v, depth);
  if (auto expand = dyn_cast<ExpandOp>(def)) {
    auto x = eval(expand.getInput(), depth);
    if (!x)
      return std::nullopt;
    return lift(*x, expand.getInput(), v);
  }
  if (auto cast = dyn_cast<CastOp>(def)) {
    Type from = getElementTypeOrSelf(cast.getInput().getType());
    bool sameKind = (from.isInteger(1) && element.isInteger(1)) ||
                    (from.isSignlessInteger() && !from.isInteger(1) &&
                     element.isSignlessInteger() && !element.isInteger(1) &&
                     element.getIntOrFloatBitWidth() >= 32);
    if (sameKind)
      return eval(cast.getInput(), depth);
    // A 0/1 tensor as bool, or a boolean as 0/1 numbers.
    if (auto x = eval(cast.getInput(), depth)) {
      if (auto *p = std::get_if<Predicate>(&*x)) {
        Predicate out = *p;
        out.numeric = !element.isInteger(1);
        return Abstract(out);
      }
    }
    why.clear();
    return leaf(v);
  }
  if (isa<tensor::CastOp, IdentityOp>(def))
    return eval(def->getOperand(0), depth);
  if (isa<AddOp, SubOp, MulOp>(def) && !isa<FloatType>(element))
    return evalAffineBinary(def, depth);
  if (auto neg = dyn_cast<NegOp>(def)) {
    auto x = eval(neg.getOperand(), depth);
    auto *a = x ? std::get_if<Affine>(&*x) : nullptr;
    if (!a)
      return x ? fail("negating something that is not a position index")
               : std::nullopt;
    Affine out = *a;
    out.c.coeff = -out.c.coeff;
    for (Monomial &m : out.a)
      m.coeff = -m.coeff;
    return Abstract(out);
  }
  if (isa<LessOp, LessOrEqualOp, GreaterOp, GreaterOrEqualOp>(def))
    return evalCompare(def, depth);
  if (isa<AndOp, OrOp, NotOp>(def))
    return evalLogic(def, depth);
  if (auto gather = dyn_cast<GatherOp>(def))
    return evalGather(gather, depth);
  if (auto gatherND = dyn_cast<GatherNDOp>(def))
    return evalGatherND(gatherND, depth);
  if (auto where = dyn_cast<WhereOp>(def)) {
    if (!isa<FloatType>(element))
      return leaf(v);
    auto x = scalarFloat(where.getX()), y = scalarFloat(where.getY());
    if (!x || !y || (*x != 0.0 && *y != 0.0))
      return fail("the mask is a where() that does not pick between 0 and a "
                  "fill value");
    auto c = eval(where.getCondition(), depth);
    if (!c)
      return std::nullopt;
    auto lifted = lift(*c, where.getCondition(), v);
    if (!lifted)
      return std::nullopt;
    auto *keep = std::get_if<Predicate>(&*lifted);
    if (!keep || keep->numeric)
      return fail("the mask's condition is not boolean");
    if (*x == 0.0)
      return Abstract(Additive{*keep, *y});
    // where(c, fill, 0): keep where c is false.
    auto negated = negate(*keep);
    if (!negated)
      return fail("the mask fills where a conjunction holds, which is not a "
                  "conjunction of bounds and padding terms");
    return Abstract(Additive{*negated, *x});
  }
  if (element.isInteger(1))
    return leaf(v);
  return fail("the mask depends on '" + def->getName().getStringRef() +
              "', which the mask analysis does not follow");
}

template <typename T>
std::optional<SmallVector<T, 2>>
Evaluator::liftedOperands(Operation *op, int depth, StringRef what) {
  Value result = op->getResult(0);
  SmallVector<T, 2> sides;
  for (Value operand : op->getOperands()) {
    auto x = eval(operand, depth);
    if (!x)
      return std::nullopt;
    auto lifted = lift(*x, operand, result);
    if (!lifted)
      return std::nullopt;
    auto *side = std::get_if<T>(&*lifted);
    bool numeric = false;
    if constexpr (std::is_same_v<T, Predicate>)
      numeric = side && side->numeric;
    if (!side || numeric) {
      fail(what + " of something that is not " +
           (std::is_same_v<T, Affine> ? "a position index" : "boolean"));
      return std::nullopt;
    }
    sides.push_back(*side);
  }
  return sides;
}

std::optional<Abstract> Evaluator::evalAffineBinary(Operation *op, int depth) {
  auto lifted = liftedOperands<Affine>(op, depth, "integer arithmetic");
  if (!lifted)
    return std::nullopt;
  SmallVector<Affine, 2> &sides = *lifted;
  const Affine &x = sides[0], &y = sides[1];
  Affine out;
  if (isa<MulOp>(op)) {
    auto isConst = [](const Affine &a) { return llvm::all_of(a.a, isZero); };
    const Affine *scalar = isConst(y) ? &y : isConst(x) ? &x : nullptr;
    if (!scalar)
      return fail("a product of two position indices");
    const Affine &other = scalar == &y ? x : y;
    auto c = multiply(other.c, scalar->c);
    if (!c)
      return fail("overflow in position arithmetic");
    out.c = *c;
    for (const Monomial &m : other.a) {
      auto p = multiply(m, scalar->c);
      if (!p)
        return fail("overflow in position arithmetic");
      out.a.push_back(*p);
    }
    return Abstract(out);
  }
  int64_t sign = isa<AddOp>(op) ? 1 : -1;
  auto c = addMonomials(x.c, y.c, sign);
  if (!c)
    return fail("position arithmetic adds unlike sizes");
  out.c = *c;
  for (auto [a, b] : llvm::zip(x.a, y.a)) {
    auto s = addMonomials(a, b, sign);
    if (!s)
      return fail("position arithmetic adds unlike sizes");
    out.a.push_back(*s);
  }
  return Abstract(out);
}

std::optional<Abstract> Evaluator::evalCompare(Operation *op, int depth) {
  auto lifted = liftedOperands<Affine>(op, depth, "a comparison");
  if (!lifted)
    return std::nullopt;
  SmallVector<Affine, 2> &sides = *lifted;
  // lhs <= rhs  <=>  rhs - lhs >= 0; lhs < rhs  <=>  rhs - lhs - 1 >= 0.
  bool greater = isa<GreaterOp, GreaterOrEqualOp>(op);
  bool strict = isa<LessOp, GreaterOp>(op);
  const Affine &lo = greater ? sides[1] : sides[0];
  const Affine &hi = greater ? sides[0] : sides[1];
  auto c = addMonomials(hi.c, lo.c, -1);
  if (!c || !c->getConstant())
    return fail("a position comparison with a non-constant offset");
  Constraint constraint;
  constraint.c = *c->getConstant() - (strict ? 1 : 0);
  bool trivial = true;
  for (auto [a, b] : llvm::zip(hi.a, lo.a)) {
    auto d = addMonomials(a, b, -1);
    if (!d || !d->getConstant())
      return fail("a position comparison with a non-constant slope");
    constraint.a.push_back(*d->getConstant());
    trivial = trivial && *d->getConstant() == 0;
  }
  Predicate p;
  if (trivial)
    p.never = constraint.c < 0;
  else
    p.constraints.push_back(constraint);
  return Abstract(p);
}

std::optional<Abstract> Evaluator::evalLogic(Operation *op, int depth) {
  auto lifted = liftedOperands<Predicate>(op, depth, "a logical op");
  if (!lifted)
    return std::nullopt;
  SmallVector<Predicate, 2> &sides = *lifted;
  if (isa<AndOp>(op)) {
    Predicate out = sides[0];
    out.never = out.never || sides[1].never;
    out.constraints.append(sides[1].constraints);
    out.terms.append(sides[1].terms);
    return Abstract(out);
  }
  if (isa<OrOp>(op)) {
    if (sides[0].never || isTrue(sides[1]))
      return Abstract(sides[1]);
    if (sides[1].never || isTrue(sides[0]))
      return Abstract(sides[0]);
    return fail("the mask is a disjunction");
  }
  // Not.
  if (auto negated = negate(sides[0]))
    return Abstract(*negated);
  return fail("the mask negates a conjunction");
}

/// Reshape, Flatten and Squeeze that only insert or remove dims of 1, seen
/// through a chain of them: the non-unit dims, in order, are the same
/// (row-major order never changes then).
std::optional<Abstract> Evaluator::evalReshape(Value result, int depth) {
  Value source = result;
  while (isa_and_nonnull<SqueezeOp, ReshapeOp, FlattenOp>(
      source.getDefiningOp()))
    source = source.getDefiningOp()->getOperand(0);
  auto from = facts.dims(source), to = facts.dims(result);
  if (!from || !to)
    return fail("cannot follow the mask's dims through a reshape");
  SmallVector<int64_t, 4> fromKept, toKept;
  for (auto [k, d] : llvm::enumerate(*from))
    if (!d.isConstant(1))
      fromKept.push_back(k);
  for (auto [k, d] : llvm::enumerate(*to))
    if (!d.isConstant(1))
      toKept.push_back(k);
  if (fromKept.size() != toKept.size())
    return fail("a reshape of the mask that merges or splits dims");
  for (auto [f, t] : llvm::zip(fromKept, toKept))
    if ((*from)[f] != (*to)[t])
      return fail("a reshape of the mask that merges or splits dims");
  auto x = eval(source, depth);
  if (!x)
    return std::nullopt;
  SmallVector<int64_t, 4> map(from->size(), -1);
  for (auto [f, t] : llvm::zip(fromKept, toKept))
    map[f] = t;
  // Unit dims of the source are always coordinate 0; a term must not sit on
  // one (its value's dim is 1 there, which the new shape does not keep).
  if (auto *p = std::get_if<Predicate>(&*x))
    for (const MaskStructure::Term &t : p->terms)
      for (int64_t axis : t.axes)
        if (axis >= 0 && map[axis] < 0)
          return fail("a reshape drops a dim of a padding lookup");
  return remap(*x, map, to->size());
}

/// gather(flatten(T), i * T.dim(1) + j) with T a 2-D boolean tensor: the
/// row-major lookup T[i, j] the TorchScript exports of the padding mask use.
std::optional<Abstract> Evaluator::evalGather(GatherOp gather, int depth) {
  Value data = gather.getData();
  Value table = data;
  while (isa_and_nonnull<ReshapeOp, FlattenOp>(table.getDefiningOp()))
    table = table.getDefiningOp()->getOperand(0);
  auto tableDims = facts.dims(table), dataDims = facts.dims(data);
  auto indexDims = facts.dims(gather.getIndices());
  if (!getElementTypeOrSelf(table.getType()).isInteger(1) || !tableDims ||
      tableDims->size() != 2 || !dataDims || dataDims->empty() ||
      !indexDims || gather.getAxis() != 0)
    return leaf(gather.getResult());
  // data is T flattened into dim 0, with dims of 1 after it.
  auto total = multiply((*tableDims)[0], (*tableDims)[1]);
  if (!total || (*dataDims)[0] != *total ||
      llvm::any_of(ArrayRef(*dataDims).drop_front(),
                   [](const Monomial &d) { return !d.isConstant(1); }))
    return leaf(gather.getResult());
  auto x = eval(gather.getIndices(), depth);
  if (!x)
    return std::nullopt;
  auto *index = std::get_if<Affine>(&*x);
  if (!index || !isZero(index->c))
    return fail("a padding lookup at an index that is not row * width + "
                "column");
  // Exactly one coordinate with coefficient T.dim(1) (the row) and one with
  // 1 (the column), which ranges over T.dim(1).
  std::optional<int64_t> row, col;
  for (auto [k, a] : llvm::enumerate(index->a)) {
    if (isZero(a))
      continue;
    if (a == (*tableDims)[1] && !row && !a.isConstant(1)) {
      row = k;
    } else if (a.isConstant(1) && !col) {
      col = k;
    } else {
      return fail("a padding lookup at an index that is not row * width + "
                  "column");
    }
  }
  if (!row || !col || (*indexDims)[*col] != (*tableDims)[1] ||
      (*indexDims)[*row] != (*tableDims)[0])
    return fail("cannot prove that a padding lookup's column spans the "
                "table's width");
  MaskStructure::Term term;
  term.value = table;
  term.axes = {*row, *col};
  Predicate p;
  p.terms.push_back(term);
  return Abstract(p);
}

/// gather_nd(T, concat(unsqueeze(i, -1), unsqueeze(j, -1))) with T a 2-D
/// boolean tensor: the lookup T[i, j] the dynamo exports use.
std::optional<Abstract> Evaluator::evalGatherND(GatherNDOp gather, int depth) {
  Value table = gather.getData();
  auto tableDims = facts.dims(table);
  auto concat = gather.getIndices().getDefiningOp<ConcatOp>();
  int64_t indexRank = rankOfValue(gather.getIndices());
  if (!getElementTypeOrSelf(table.getType()).isInteger(1) || !tableDims ||
      tableDims->size() != 2 || gather.getBatchDims() != 0 || !concat ||
      concat.getInputs().size() != 2 || indexRank < 1 ||
      normalizeAxis(concat.getAxis(), indexRank) != indexRank - 1)
    return leaf(gather.getResult());
  SmallVector<int64_t, 2> coords;
  for (Value part : concat.getInputs()) {
    auto dims = facts.dims(part);
    if (!dims || dims->size() != (size_t)indexRank ||
        !dims->back().isConstant(1))
      return fail("a padding lookup with unexpected index shapes");
    auto x = eval(part, depth);
    if (!x)
      return std::nullopt;
    // The index parts have a trailing dim of 1: coordinates 0..r-2 are the
    // result's.
    auto *a = std::get_if<Affine>(&*x);
    auto k = a ? singleCoordinate(*a) : std::nullopt;
    if (!k || *k == indexRank - 1)
      return fail("a padding lookup at indices that are not positions");
    // The coordinate ranges over the table's dim (see Evaluator::lift).
    if ((*dims)[*k] != (*tableDims)[coords.size()])
      return fail("cannot prove that a padding lookup spans its table");
    coords.push_back(*k);
  }
  MaskStructure::Term term;
  term.value = table;
  term.axes = {coords[0], coords[1]};
  Predicate p;
  p.terms.push_back(term);
  // The result has the index's leading dims: lift from the (last) index
  // part, whose coordinates are the same, minus its trailing 1.
  auto partDims = facts.dims(concat.getInputs()[0]);
  auto resultDims = facts.dims(gather.getResult());
  if (!partDims || !resultDims || resultDims->size() != partDims->size() - 1)
    return fail("a padding lookup with unexpected index shapes");
  for (size_t k = 0; k < resultDims->size(); ++k)
    if ((*resultDims)[k] != (*partDims)[k])
      return fail("a padding lookup with unexpected index shapes");
  return Abstract(p);
}

} // namespace

FailureOr<MaskStructure> mlir::tessel::fusion::analyzeMaskStructure(
    Value mask, bool invert, ShapeFacts &facts, ArrayRef<Monomial> scoreDims,
    std::string &why) {
  auto failWith = [&](const Twine &reason) {
    why = ("mask structure: " + reason).str();
    return failure();
  };
  if (scoreDims.size() != 4)
    return failWith("the scores are not 4-D");
  Evaluator evaluator(facts);
  std::optional<Abstract> x = evaluator.eval(mask);
  if (!x)
    return failWith(evaluator.why);
  MaskStructure structure;
  Predicate keep;
  if (auto *p = std::get_if<Predicate>(&*x)) {
    if (p->numeric)
      return failWith("the mask is a 0/1 tensor of numbers, not booleans");
    if (invert) {
      // where(m, -inf, s): keep where m is false.
      auto negated = negate(*p);
      if (!negated)
        return failWith("the mask keeps where a conjunction fails");
      keep = *negated;
    } else {
      keep = *p;
    }
  } else if (auto *add = std::get_if<Additive>(&*x)) {
    keep = add->keep;
    structure.fill = add->fill;
    // A finite fill acts as -inf on rows that keep a key; on rows that keep
    // none every score becomes the fill, so the weights are uniform. That
    // holds only when adding a score cannot move the fill: float32 lowest
    // and the like, not -10000.
    if (!(std::isinf(add->fill) && add->fill < 0) && !(add->fill <= -1e30))
      return failWith("the fill value " + std::to_string(add->fill) +
                      " is not -inf or a huge negative number");
  } else {
    return failWith("the mask is an integer tensor");
  }
  if (keep.never)
    return failWith("the mask masks every position");

  // Place the mask's coordinates on the score axes (right-aligned).
  int64_t rank = rankOfValue(mask);
  auto maskDims = facts.dims(mask);
  if (rank < 0 || rank > 4 || !maskDims)
    return failWith("the mask is unranked or has more than 4 dims");
  int64_t shift = 4 - rank;
  auto axisDimOk = [&](int64_t k, bool &unit) {
    const Monomial &d = (*maskDims)[k];
    unit = d.isConstant(1) && !scoreDims[k + shift].isConstant(1);
    return unit || d == scoreDims[k + shift];
  };
  // Constraints on (j - i) only.
  for (const Constraint &c : keep.constraints) {
    int64_t ai = 0, aj = 0, offset = c.c;
    for (int64_t k = 0; k < rank; ++k) {
      if (c.a[k] == 0)
        continue;
      bool unit = false;
      if (!axisDimOk(k, unit))
        return failWith("cannot prove that a position index spans the "
                        "scores' dim");
      if (unit)
        continue; // coordinate always 0
      int64_t axis = k + shift;
      if (axis == 2)
        ai = c.a[k];
      else if (axis == 3)
        aj = c.a[k];
      else
        return failWith("a position bound on the batch or head axis");
    }
    if (ai == 0 && aj == 0) {
      if (offset < 0)
        return failWith("the mask masks every position");
      continue;
    }
    if (ai == -aj && (aj == 1 || aj == -1)) {
      // aj * (j - i) + offset >= 0.
      if (aj == 1) {
        int64_t lo = -offset; // j - i >= lo
        structure.minOffset =
            structure.minOffset ? std::max(*structure.minOffset, lo) : lo;
      } else {
        int64_t hi = offset; // j - i <= hi
        structure.maxOffset =
            structure.maxOffset ? std::min(*structure.maxOffset, hi) : hi;
      }
      continue;
    }
    if (aj == 0 && ai > 0 && offset >= 0)
      continue; // ai * i + offset >= 0 holds for every i >= 0
    if (ai == 0 && aj > 0 && offset >= 0)
      continue;
    return failWith("a position bound that is not on j - i");
  }
  // Terms: dims on the batch / head / key axes, in order.
  for (MaskStructure::Term term : keep.terms) {
    auto valueDims = facts.dims(term.value);
    if (!valueDims || valueDims->size() != term.axes.size())
      return failWith("a padding term with unknown dims");
    int64_t last = -1;
    for (auto [d, axis] : llvm::enumerate(term.axes)) {
      if (axis < 0)
        return failWith("a padding term on a dropped dim");
      int64_t scoreAxis = axis + shift;
      const Monomial &dim = (*valueDims)[d];
      if (scoreAxis <= last)
        return failWith("a padding term whose dims are out of order");
      last = scoreAxis;
      if (dim.isConstant(1))
        continue;
      if (scoreAxis == 2)
        return failWith("the mask depends on the query position in a way "
                        "that is not a bound on j - i");
      if (dim != scoreDims[scoreAxis])
        return failWith("cannot prove that a padding term spans the scores' "
                        "dims");
    }
    for (int64_t &axis : term.axes)
      axis += shift;
    structure.terms.push_back(term);
  }
  return structure;
}
