//===- ShapeFacts.h - symbolic shapes for the fusion passes -----*- C++ -*-===//
//
// The exporters give most dims as `?` (batch and sequence lengths, and the
// head counts behind `Reshape` to `[b, s, -1, d]`). The fusion passes prove
// the facts they need with a small symbolic shape analysis: every dim and
// every entry of a small integer "shape" tensor is a monomial
// `c * s1 * s2 ...` over symbols that stand for unknown sizes.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_PASSES_SHAPEFACTS_H
#define TESSEL_PASSES_SHAPEFACTS_H

#include "dialect/TesselOps.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <optional>

namespace mlir::tessel::fusion {

//===----------------------------------------------------------------------===//
// Symbolic shapes
//===----------------------------------------------------------------------===//

/// `coeff * symbols[0] * symbols[1] * ...`; a constant when `symbols` is empty.
struct Monomial {
  int64_t coeff = 0;
  SmallVector<unsigned, 2> symbols; // sorted

  static Monomial constant(int64_t c) { return {c, {}}; }
  static Monomial symbol(unsigned s) { return {1, {s}}; }
  std::optional<int64_t> getConstant() const {
    if (symbols.empty())
      return coeff;
    return std::nullopt;
  }
  bool isConstant(int64_t c) const { return symbols.empty() && coeff == c; }
  bool operator==(const Monomial &other) const {
    return coeff == other.coeff && symbols == other.symbols;
  }
  bool operator!=(const Monomial &other) const { return !(*this == other); }
};

using SymShape = SmallVector<Monomial, 4>;

inline std::optional<Monomial> multiply(const Monomial &a, const Monomial &b) {
  Monomial r;
  if (llvm::MulOverflow(a.coeff, b.coeff, r.coeff))
    return std::nullopt;
  if (r.coeff == 0)
    return Monomial::constant(0);
  r.symbols.append(a.symbols.begin(), a.symbols.end());
  r.symbols.append(b.symbols.begin(), b.symbols.end());
  llvm::sort(r.symbols);
  return r;
}

/// a / b when it is exact for every value of the symbols.
inline std::optional<Monomial> divide(const Monomial &a, const Monomial &b) {
  if (b.coeff == 0 || a.coeff % b.coeff != 0)
    return std::nullopt;
  Monomial r;
  r.coeff = a.coeff / b.coeff;
  SmallVector<unsigned, 2> rest(a.symbols.begin(), a.symbols.end());
  for (unsigned s : b.symbols) {
    auto *it = llvm::find(rest, s);
    if (it == rest.end())
      return std::nullopt;
    rest.erase(it);
  }
  r.symbols = rest;
  if (r.coeff == 0)
    r.symbols.clear();
  return r;
}

/// What the pass knows about values: their dims, and the entries of small
/// integer tensors (shape computations). Computed on demand and cached; the
/// cache forgets the results of erased ops (see `ForgetErasedOps`), so that a
/// new value at a reused address is never mistaken for an old one.
class ShapeFacts {
public:
  /// The symbolic dims of a ranked tensor.
  std::optional<SymShape> dims(Value v) { return get(v).dims; }
  /// The entries of a 0-D/1-D integer tensor of at most kMaxEntries elements.
  std::optional<SymShape> entries(Value v) { return get(v).entries; }

  /// `v`'s type with every dim the analysis proves constant made static.
  RankedTensorType refinedType(Value v) {
    auto type = cast<RankedTensorType>(v.getType());
    std::optional<SymShape> d = dims(v);
    if (!d)
      return type;
    SmallVector<int64_t> shape(type.getShape());
    for (auto [i, dim] : llvm::enumerate(*d))
      if (auto c = dim.getConstant(); c && *c >= 0 && type.isDynamicDim(i))
        shape[i] = *c;
    return RankedTensorType::get(shape, type.getElementType(),
                                 type.getEncoding());
  }

  void forget(Operation *op) {
    for (Value result : op->getResults())
      cache.erase(result);
  }

private:
  static constexpr int64_t kMaxEntries = 16;

  struct Facts {
    std::optional<SymShape> dims;
    std::optional<SymShape> entries;
  };

  const Facts &get(Value v);
  std::optional<SymShape> argumentDims(BlockArgument arg);
  void compute(Operation *op);
  SmallVector<std::optional<SymShape>> computeDims(Operation *op);
  std::optional<SymShape> computeEntries(Operation *op);

  Monomial fresh(bool nonNegative) {
    nonNegativeSymbols.push_back(nonNegative);
    return Monomial::symbol(nonNegativeSymbols.size() - 1);
  }
  /// True if the monomial is >= 0 for every value of its symbols.
  bool isNonNegative(const Monomial &m) const {
    return m.coeff >= 0 && llvm::all_of(m.symbols, [&](unsigned s) {
             return nonNegativeSymbols[s];
           });
  }
  /// The declared type's dims, fresh symbols for the dynamic ones.
  std::optional<SymShape> fromType(Type type) {
    auto ranked = dyn_cast<RankedTensorType>(type);
    if (!ranked)
      return std::nullopt;
    SymShape out;
    for (int64_t d : ranked.getShape())
      out.push_back(ShapedType::isDynamic(d) ? fresh(true)
                                             : Monomial::constant(d));
    return out;
  }
  std::optional<Monomial> product(ArrayRef<Monomial> dims) {
    Monomial r = Monomial::constant(1);
    for (const Monomial &d : dims) {
      auto next = multiply(r, d);
      if (!next)
        return std::nullopt;
      r = *next;
    }
    return r;
  }
  Monomial productOrFresh(ArrayRef<Monomial> dims) {
    if (auto p = product(dims))
      return *p;
    return fresh(true);
  }
  /// Numpy broadcast of one dim pair. A constant other than 1 wins: the other
  /// side is 1 or equal to it, or the graph is invalid.
  Monomial broadcastDim(const Monomial &a, const Monomial &b) {
    if (a == b || b.isConstant(1) || isClampOf(b, a))
      return a;
    if (a.isConstant(1) || isClampOf(a, b))
      return b;
    if (a.getConstant())
      return a;
    if (b.getConstant())
      return b;
    return fresh(true);
  }
  std::optional<SymShape> broadcast(ArrayRef<std::optional<SymShape>> shapes) {
    size_t rank = 0;
    for (const auto &s : shapes) {
      if (!s)
        return std::nullopt;
      rank = std::max(rank, s->size());
    }
    SymShape out(rank, Monomial::constant(1));
    for (const auto &s : shapes)
      for (size_t i = 0; i < s->size(); ++i) {
        size_t j = rank - s->size() + i;
        out[j] = broadcastDim(out[j], (*s)[i]);
      }
    return out;
  }
  std::optional<Monomial> entryAt(const std::optional<SymShape> &e, size_t i) {
    if (!e || e->empty())
      return std::nullopt;
    if (e->size() == 1)
      return (*e)[0];
    if (i < e->size())
      return (*e)[i];
    return std::nullopt;
  }

  /// True if `c` is min(e, n) for a constant n >= 2: broadcast with e it is
  /// e in every run that does not fail (min(e, n) != e means e > n >= 2, and
  /// then neither side is 1).
  bool isClampOf(const Monomial &c, const Monomial &e) const {
    if (c.coeff != 1 || c.symbols.size() != 1)
      return false;
    auto it = clamps.find(c.symbols[0]);
    return it != clamps.end() && it->second.first == e &&
           it->second.second >= 2;
  }

  DenseMap<Value, Facts> cache;
  SmallVector<bool> nonNegativeSymbols;
  /// Symbols that stand for min(e, n) (a slice x[:e] of a dim n).
  DenseMap<unsigned, std::pair<Monomial, int64_t>> clamps;
  llvm::StringMap<unsigned> namedSymbols;
};


/// Keeps ShapeFacts' cache free of the results of erased ops.
struct ForgetErasedOps : RewriterBase::Listener {
  explicit ForgetErasedOps(ShapeFacts &facts) : facts(facts) {}
  void notifyOperationErased(Operation *op) override { facts.forget(op); }
  ShapeFacts &facts;
};

} // namespace mlir::tessel::fusion

#endif // TESSEL_PASSES_SHAPEFACTS_H
