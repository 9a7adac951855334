//===- FuseAttention.cpp - the tessel-fuse-attention pass -----------------===//
//
// Rewrites exported attention blocks
//
//   softmax(scale * q x k^T + mask) x v
//
// whatever their spelling into one 4-D `tessel.attention`. The exporters
// give most dims as `?` (batch and sequence lengths, and the head counts
// behind `Reshape` to `[b, s, -1, d]`), so the pass proves the facts it needs
// (k^T is k with its last two dims swapped, a repeat_kv repeats whole heads,
// the mask does not widen the scores) with a small symbolic shape analysis:
// every dim and every entry of a small integer "shape" tensor is a monomial
// `c * s1 * s2 ...` over symbols that stand for unknown sizes.
//
//===----------------------------------------------------------------------===//

#include "dialect/ShapeUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <limits>

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELFUSEATTENTIONPASS
#include "passes/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// Name of the discardable attribute that says why a softmax was not fused.
constexpr StringLiteral kUnfusedAttr = "tessel.unfused";

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

std::optional<Monomial> multiply(const Monomial &a, const Monomial &b) {
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
std::optional<Monomial> divide(const Monomial &a, const Monomial &b) {
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

std::optional<SymShape> ShapeFacts::argumentDims(BlockArgument arg) {
  std::optional<SymShape> dims = fromType(arg.getType());
  auto func = dyn_cast_or_null<func::FuncOp>(arg.getOwner()->getParentOp());
  if (!dims || !func || arg.getOwner() != &func.getBody().front())
    return dims;
  // The importer's record of the ONNX dim_params: inputs' dims of one name
  // are one size, by the model's contract.
  auto params = func->getAttrOfType<ArrayAttr>("tessel.dim_params");
  if (!params || arg.getArgNumber() >= params.size())
    return dims;
  auto names = dyn_cast<ArrayAttr>(params[arg.getArgNumber()]);
  if (!names || names.size() != dims->size())
    return dims;
  auto type = cast<RankedTensorType>(arg.getType());
  for (auto [i, attr] : llvm::enumerate(names)) {
    auto name = dyn_cast<StringAttr>(attr);
    if (!name || name.getValue().empty() || !type.isDynamicDim(i))
      continue;
    auto [it, inserted] = namedSymbols.try_emplace(name.getValue(), 0);
    if (inserted)
      it->second = fresh(true).symbols[0];
    (*dims)[i] = Monomial::symbol(it->second);
  }
  return dims;
}

const ShapeFacts::Facts &ShapeFacts::get(Value v) {
  auto it = cache.find(v);
  if (it != cache.end())
    return it->second;
  // Post-order over the producers, without recursion: graphs are deep.
  SmallVector<Value> stack{v};
  while (!stack.empty()) {
    Value top = stack.back();
    if (cache.count(top)) {
      stack.pop_back();
      continue;
    }
    Operation *def = top.getDefiningOp();
    if (!def) {
      cache[top] = Facts{argumentDims(cast<BlockArgument>(top)), std::nullopt};
      stack.pop_back();
      continue;
    }
    bool ready = true;
    for (Value operand : def->getOperands())
      if (!cache.count(operand)) {
        stack.push_back(operand);
        ready = false;
      }
    if (ready) {
      compute(def);
      stack.pop_back();
    }
  }
  return cache[v];
}

void ShapeFacts::compute(Operation *op) {
  SmallVector<std::optional<SymShape>> dims = computeDims(op);
  std::optional<SymShape> entries;
  if (op->getNumResults() == 1) {
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (type && type.hasStaticShape() && type.getRank() <= 1 &&
        type.getNumElements() <= kMaxEntries &&
        type.getElementType().isSignlessInteger())
      entries = computeEntries(op);
    if (entries && (int64_t)entries->size() != type.getNumElements())
      entries.reset();
  }
  for (auto [i, result] : llvm::enumerate(op->getResults())) {
    std::optional<SymShape> d = i < dims.size() ? dims[i] : std::nullopt;
    // The declared type has the last word: static dims are facts, and a rank
    // the analysis got differently means the analysis does not apply.
    auto type = dyn_cast<RankedTensorType>(result.getType());
    if (!type) {
      d.reset();
    } else if (!d || (int64_t)d->size() != type.getRank()) {
      d = fromType(type);
    } else {
      for (int64_t j = 0; j < type.getRank(); ++j)
        if (!type.isDynamicDim(j))
          (*d)[j] = Monomial::constant(type.getDimSize(j));
    }
    cache[result] = Facts{d, i == 0 ? entries : std::nullopt};
  }
}

/// Ops whose (first) result has the shape of their first operand.
bool keepsShape(Operation *op) {
  return isa<NegOp, AbsOp, SqrtOp, ReciprocalOp, ExpOp, LogOp, TanhOp,
             SigmoidOp, ErfOp, SinOp, CosOp, ReluOp, SoftplusOp, FloorOp,
             CeilOp, RoundOp, NotOp, IdentityOp, GeluOp, SiluOp, IsNaNOp,
             IsInfOp, ClipOp, SoftmaxOp, LogSoftmaxOp, LayerNormalizationOp,
             RMSNormalizationOp, RotaryEmbeddingOp, CumSumOp, TriluOp, CastOp,
             CastLikeOp, ScatterNDOp, tensor::CastOp>(op);
}

bool isBroadcastingOp(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, MinOp, MaxOp, AndOp, OrOp, XorOp,
             PowOp, EqualOp, LessOp, LessOrEqualOp, GreaterOp, GreaterOrEqualOp,
             WhereOp>(op);
}

SmallVector<std::optional<SymShape>> ShapeFacts::computeDims(Operation *op) {
  auto D = [&](Value v) { return cache[v].dims; };
  auto E = [&](Value v) { return cache[v].entries; };
  auto one = [](std::optional<SymShape> s) {
    return SmallVector<std::optional<SymShape>>{std::move(s)};
  };
  auto constInts = [](Value v) { return getConstantIntValues(v); };

  if (keepsShape(op))
    return one(D(op->getOperand(0)));
  if (isBroadcastingOp(op)) {
    SmallVector<std::optional<SymShape>> shapes;
    for (Value v : op->getOperands())
      shapes.push_back(D(v));
    return one(broadcast(shapes));
  }
  if (auto shape = dyn_cast<ShapeOp>(op)) {
    auto d = D(shape.getData());
    if (!d)
      return one(std::nullopt);
    int64_t rank = d->size();
    int64_t start = shape.getStart(), end = shape.getEnd().value_or(rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    return one(SymShape{Monomial::constant(std::max<int64_t>(end - start, 0))});
  }
  if (auto gather = dyn_cast<GatherOp>(op)) {
    auto data = D(gather.getData()), indices = D(gather.getIndices());
    if (!data || !indices)
      return one(std::nullopt);
    auto axis = normalizeAxis(gather.getAxis(), data->size());
    if (!axis)
      return one(std::nullopt);
    SymShape out(data->begin(), data->begin() + *axis);
    out.append(indices->begin(), indices->end());
    out.append(data->begin() + *axis + 1, data->end());
    return one(out);
  }
  if (auto unsqueeze = dyn_cast<UnsqueezeOp>(op)) {
    auto d = D(unsqueeze.getData());
    if (!d)
      return one(std::nullopt);
    int64_t rank = d->size() + unsqueeze.getAxes().size();
    SmallVector<bool> inserted(rank, false);
    for (int64_t a : unsqueeze.getAxes()) {
      auto axis = normalizeAxis(a, rank);
      if (!axis)
        return one(std::nullopt);
      inserted[*axis] = true;
    }
    SymShape out;
    size_t next = 0;
    for (int64_t i = 0; i < rank; ++i)
      out.push_back(inserted[i] ? Monomial::constant(1) : (*d)[next++]);
    return one(out);
  }
  if (auto squeeze = dyn_cast<SqueezeOp>(op)) {
    auto d = D(squeeze.getData());
    if (!d)
      return one(std::nullopt);
    SmallVector<bool> removed(d->size(), false);
    if (auto axes = squeeze.getAxes()) {
      for (int64_t a : *axes) {
        auto axis = normalizeAxis(a, d->size());
        if (!axis)
          return one(std::nullopt);
        removed[*axis] = true;
      }
    } else {
      for (auto [i, dim] : llvm::enumerate(*d))
        removed[i] = dim.isConstant(1);
    }
    SymShape out;
    for (auto [i, dim] : llvm::enumerate(*d))
      if (!removed[i])
        out.push_back(dim);
    return one(out);
  }
  if (auto concat = dyn_cast<ConcatOp>(op)) {
    SmallVector<SymShape> inputs;
    for (Value v : concat.getInputs()) {
      auto d = D(v);
      if (!d || (!inputs.empty() && d->size() != inputs[0].size()))
        return one(std::nullopt);
      inputs.push_back(*d);
    }
    if (inputs.empty())
      return one(std::nullopt);
    auto axis = normalizeAxis(concat.getAxis(), inputs[0].size());
    if (!axis)
      return one(std::nullopt);
    SymShape out = inputs[0];
    int64_t total = 0;
    bool constantTotal = true;
    for (const SymShape &in : inputs) {
      if (auto c = in[*axis].getConstant())
        total += *c;
      else
        constantTotal = false;
      // The other dims agree; keep a constant where one input has it.
      for (size_t i = 0; i < in.size(); ++i)
        if ((int64_t)i != *axis && in[i].getConstant())
          out[i] = in[i];
    }
    out[*axis] = constantTotal ? Monomial::constant(total) : fresh(true);
    return one(out);
  }
  if (auto slice = dyn_cast<SliceOp>(op)) {
    auto d = D(slice.getData());
    if (!d)
      return one(std::nullopt);
    auto starts = constInts(slice.getStarts());
    auto ends = E(slice.getEnds());
    auto axes = constInts(slice.getAxes()), steps = constInts(slice.getSteps());
    if (!starts || !ends || !axes || !steps || starts->size() != axes->size() ||
        ends->size() != axes->size() || steps->size() != axes->size())
      return one(fromType(op->getResult(0).getType()));
    SymShape out = *d;
    for (size_t i = 0; i < axes->size(); ++i) {
      auto axis = normalizeAxis((*axes)[i], d->size());
      if (!axis)
        return one(std::nullopt);
      int64_t start = (*starts)[i], step = (*steps)[i];
      const Monomial &endEntry = (*ends)[i];
      std::optional<int64_t> dim = (*d)[*axis].getConstant();
      std::optional<int64_t> constEnd = endEntry.getConstant();
      if (dim && constEnd && step != 0) {
        int64_t n = *dim, end = *constEnd;
        if (start < 0)
          start += n;
        if (end < 0)
          end += n;
        int64_t count;
        if (step > 0) {
          start = std::clamp<int64_t>(start, 0, n);
          end = std::clamp<int64_t>(end, 0, n);
          count = end > start ? (end - start + step - 1) / step : 0;
        } else {
          start = std::clamp<int64_t>(start, -1, n - 1);
          end = std::clamp<int64_t>(end, -1, n - 1);
          count = start > end ? (start - end - step - 1) / -step : 0;
        }
        out[*axis] = Monomial::constant(count);
      } else if (start == 0 && step == 1 && constEnd &&
                 *constEnd >= std::numeric_limits<int32_t>::max()) {
        // The whole dim.
      } else if (start == 0 && step == 1 && !constEnd &&
                 isNonNegative(endEntry)) {
        // x[:e] has min(e, dim) elements: e itself when dim is e, else a
        // symbol that broadcasting against e resolves (see broadcastDim).
        if (endEntry == (*d)[*axis]) {
          out[*axis] = endEntry;
        } else {
          out[*axis] = fresh(true);
          if (dim)
            clamps[out[*axis].symbols[0]] = {endEntry, *dim};
        }
      } else {
        out[*axis] = fresh(true);
      }
    }
    return one(out);
  }
  if (auto reshape = dyn_cast<ReshapeOp>(op)) {
    auto in = D(reshape.getData());
    auto target = E(reshape.getShape());
    if (!in || !target)
      return one(std::nullopt);
    SymShape out;
    int64_t inferIndex = -1;
    for (auto [i, t] : llvm::enumerate(*target)) {
      if (t.isConstant(-1)) {
        if (inferIndex >= 0)
          return one(std::nullopt);
        inferIndex = i;
        out.push_back(Monomial::constant(1));
      } else if (t.isConstant(0) && !reshape.getAllowzero()) {
        if (i >= in->size())
          return one(std::nullopt);
        out.push_back((*in)[i]);
      } else if (isNonNegative(t)) {
        out.push_back(t);
      } else {
        // May be -1 or 0 at run time.
        out.push_back(fresh(true));
      }
    }
    if (inferIndex >= 0) {
      auto total = product(*in), known = product(out);
      std::optional<Monomial> inferred;
      if (total && known)
        inferred = divide(*total, *known);
      out[inferIndex] = inferred ? *inferred : fresh(true);
    }
    return one(out);
  }
  if (auto transpose = dyn_cast<TransposeOp>(op)) {
    auto d = D(transpose.getData());
    if (!d)
      return one(std::nullopt);
    SmallVector<int64_t> perm;
    if (auto p = transpose.getPerm())
      perm.assign(p->begin(), p->end());
    else
      for (int64_t i = d->size() - 1; i >= 0; --i)
        perm.push_back(i);
    if (perm.size() != d->size())
      return one(std::nullopt);
    SymShape out;
    for (int64_t p : perm) {
      if (p < 0 || p >= (int64_t)d->size())
        return one(std::nullopt);
      out.push_back((*d)[p]);
    }
    return one(out);
  }
  if (auto expand = dyn_cast<ExpandOp>(op))
    return one(broadcast({D(expand.getInput()), E(expand.getShape())}));
  if (auto matmul = dyn_cast<MatMulOp>(op)) {
    auto a = D(matmul.getA()), b = D(matmul.getB());
    if (!a || !b || a->size() < 2 || b->size() < 2)
      return one(std::nullopt);
    auto batch = broadcast({SymShape(a->begin(), a->end() - 2),
                            SymShape(b->begin(), b->end() - 2)});
    if (!batch)
      return one(std::nullopt);
    batch->push_back((*a)[a->size() - 2]);
    batch->push_back(b->back());
    return one(batch);
  }
  if (auto gemm = dyn_cast<GemmOp>(op)) {
    auto a = D(gemm.getA()), b = D(gemm.getB());
    if (!a || !b || a->size() != 2 || b->size() != 2)
      return one(std::nullopt);
    return one(SymShape{(*a)[gemm.getTransA() ? 1 : 0],
                        (*b)[gemm.getTransB() ? 0 : 1]});
  }
  if (isa<ReduceMeanOp, ReduceSumOp, ReduceMaxOp, ReduceMinOp>(op)) {
    auto d = D(op->getOperand(0));
    if (!d)
      return one(std::nullopt);
    auto axesAttr = op->getAttrOfType<DenseI64ArrayAttr>("axes");
    auto keep = op->getAttrOfType<IntegerAttr>("keepdims");
    auto noop = op->getAttrOfType<IntegerAttr>("noop_with_empty_axes");
    bool keepdims = !keep || keep.getInt() != 0;
    SmallVector<bool> reduced(d->size(), !axesAttr || axesAttr.empty());
    if ((!axesAttr || axesAttr.empty()) && noop && noop.getInt() != 0)
      return one(d);
    if (axesAttr)
      for (int64_t a : axesAttr.asArrayRef()) {
        auto axis = normalizeAxis(a, d->size());
        if (!axis)
          return one(std::nullopt);
        reduced[*axis] = true;
      }
    SymShape out;
    for (auto [i, dim] : llvm::enumerate(*d))
      if (!reduced[i])
        out.push_back(dim);
      else if (keepdims)
        out.push_back(Monomial::constant(1));
    return one(out);
  }
  if (auto range = dyn_cast<RangeOp>(op)) {
    auto start = E(range.getStart()), limit = E(range.getLimit()),
         delta = E(range.getDelta());
    if (start && limit && delta && start->size() == 1 && delta->size() == 1 &&
        limit->size() == 1 && (*start)[0].isConstant(0) &&
        (*delta)[0].isConstant(1) && isNonNegative((*limit)[0]))
      return one(SymShape{(*limit)[0]});
    return one(fromType(op->getResult(0).getType()));
  }
  if (auto split = dyn_cast<SplitOp>(op)) {
    auto d = D(split.getInput());
    SmallVector<std::optional<SymShape>> outs(op->getNumResults());
    if (!d)
      return outs;
    auto axis = normalizeAxis(split.getAxis(), d->size());
    if (!axis)
      return outs;
    int64_t n = op->getNumResults();
    for (int64_t i = 0; i < n; ++i) {
      SymShape out = *d;
      if (auto sizes = split.getSplit()) {
        out[*axis] = Monomial::constant((*sizes)[i]);
      } else {
        auto part = divide((*d)[*axis], Monomial::constant(n));
        out[*axis] = part ? *part : fresh(true);
      }
      outs[i] = out;
    }
    return outs;
  }
  if (auto flatten = dyn_cast<FlattenOp>(op)) {
    auto d = D(flatten.getInput());
    if (!d)
      return one(std::nullopt);
    int64_t rank = d->size();
    int64_t axis =
        flatten.getAxis() < 0 ? flatten.getAxis() + rank : flatten.getAxis();
    if (axis < 0 || axis > rank)
      return one(std::nullopt);
    return one(SymShape{productOrFresh(ArrayRef(*d).take_front(axis)),
                        productOrFresh(ArrayRef(*d).drop_front(axis))});
  }
  if (auto cos = dyn_cast<ConstantOfShapeOp>(op))
    return one(E(cos.getInput()));
  if (auto tile = dyn_cast<TileOp>(op)) {
    auto d = D(tile.getInput());
    auto repeats = E(tile.getRepeats());
    if (!d || !repeats || repeats->size() != d->size())
      return one(std::nullopt);
    SymShape out;
    for (auto [dim, r] : llvm::zip(*d, *repeats)) {
      auto m = multiply(dim, r);
      out.push_back(m ? *m : fresh(true));
    }
    return one(out);
  }
  if (auto gatherElements = dyn_cast<GatherElementsOp>(op))
    return one(D(gatherElements.getIndices()));
  if (auto gatherND = dyn_cast<GatherNDOp>(op)) {
    auto data = D(gatherND.getData()), indices = D(gatherND.getIndices());
    if (!data || !indices || indices->empty())
      return one(std::nullopt);
    auto last = indices->back().getConstant();
    int64_t batch = gatherND.getBatchDims();
    if (!last || batch + *last > (int64_t)data->size())
      return one(std::nullopt);
    SymShape out(indices->begin(), indices->end() - 1);
    out.append(data->begin() + batch + *last, data->end());
    return one(out);
  }
  if (auto attention = dyn_cast<AttentionOp>(op)) {
    auto q = D(attention.getQ()), v = D(attention.getV());
    if (!q || !v || q->size() != 4 || v->size() != 4)
      return one(std::nullopt);
    return one(SymShape{(*q)[0], (*q)[1], (*q)[2], (*v)[3]});
  }
  SmallVector<std::optional<SymShape>> outs;
  for (Value result : op->getResults())
    outs.push_back(fromType(result.getType()));
  return outs;
}

std::optional<SymShape> ShapeFacts::computeEntries(Operation *op) {
  auto E = [&](Value v) { return cache[v].entries; };
  auto D = [&](Value v) { return cache[v].dims; };

  if (auto constant = dyn_cast<ConstantOp>(op)) {
    auto values = getConstantIntValues(constant.getResult());
    if (!values)
      return std::nullopt;
    SymShape out;
    for (int64_t v : *values)
      out.push_back(Monomial::constant(v));
    return out;
  }
  if (auto shape = dyn_cast<ShapeOp>(op)) {
    auto d = D(shape.getData());
    if (!d)
      return std::nullopt;
    int64_t rank = d->size();
    int64_t start = shape.getStart(), end = shape.getEnd().value_or(rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    return SymShape(d->begin() + start, d->begin() + std::max(start, end));
  }
  if (auto size = dyn_cast<SizeOp>(op)) {
    auto d = D(size.getData());
    if (!d)
      return std::nullopt;
    return SymShape{productOrFresh(*d)};
  }
  if (auto gather = dyn_cast<GatherOp>(op)) {
    auto data = E(gather.getData());
    auto indices = getConstantIntValues(gather.getIndices());
    if (!data || !indices || gather.getAxis() != 0)
      return std::nullopt;
    SymShape out;
    for (int64_t i : *indices) {
      if (i < 0)
        i += data->size();
      if (i < 0 || i >= (int64_t)data->size())
        return std::nullopt;
      out.push_back((*data)[i]);
    }
    return out;
  }
  if (isa<UnsqueezeOp, SqueezeOp, ReshapeOp, IdentityOp, ConcatOp,
          tensor::CastOp>(op)) {
    if (auto concat = dyn_cast<ConcatOp>(op)) {
      SymShape out;
      for (Value v : concat.getInputs()) {
        auto e = E(v);
        if (!e)
          return std::nullopt;
        out.append(e->begin(), e->end());
      }
      return out;
    }
    return E(op->getOperand(0));
  }
  if (auto cast = dyn_cast<CastOp>(op)) {
    if (!getElementTypeOrSelf(cast.getInput().getType()).isSignlessInteger() ||
        cast.getTo().isInteger(1))
      return std::nullopt;
    return E(cast.getInput());
  }
  if (auto slice = dyn_cast<SliceOp>(op)) {
    auto data = E(slice.getData());
    auto starts = getConstantIntValues(slice.getStarts());
    auto ends = getConstantIntValues(slice.getEnds());
    auto axes = getConstantIntValues(slice.getAxes());
    auto steps = getConstantIntValues(slice.getSteps());
    if (!data || !starts || !ends || !axes || !steps || axes->size() != 1 ||
        starts->size() != 1 || ends->size() != 1 || steps->size() != 1 ||
        ((*axes)[0] != 0 && (*axes)[0] != -1) || (*steps)[0] != 1)
      return std::nullopt;
    int64_t n = data->size();
    int64_t start = (*starts)[0], end = (*ends)[0];
    if (start < 0)
      start += n;
    if (end < 0)
      end += n;
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, 0, n);
    return SymShape(data->begin() + start,
                    data->begin() + std::max(start, end));
  }
  if (isa<NegOp>(op)) {
    auto e = E(op->getOperand(0));
    if (!e)
      return std::nullopt;
    for (Monomial &m : *e)
      m.coeff = -m.coeff;
    return e;
  }
  if (isa<MulOp, DivOp, AddOp, SubOp, EqualOp>(op)) {
    auto lhs = E(op->getOperand(0)), rhs = E(op->getOperand(1));
    if (!lhs || !rhs)
      return std::nullopt;
    size_t n = std::max(lhs->size(), rhs->size());
    if ((lhs->size() != n && lhs->size() != 1) ||
        (rhs->size() != n && rhs->size() != 1))
      return std::nullopt;
    SymShape out;
    for (size_t i = 0; i < n; ++i) {
      const Monomial &a = (*lhs)[lhs->size() == 1 ? 0 : i];
      const Monomial &b = (*rhs)[rhs->size() == 1 ? 0 : i];
      std::optional<Monomial> r;
      if (isa<MulOp>(op)) {
        r = multiply(a, b);
      } else if (isa<DivOp>(op)) {
        r = divide(a, b);
      } else if (isa<AddOp, SubOp>(op)) {
        int64_t sign = isa<AddOp>(op) ? 1 : -1;
        if (b.isConstant(0))
          r = a;
        else if (a.isConstant(0) && sign == 1)
          r = b;
        else if (a.getConstant() && b.getConstant())
          r = Monomial::constant(*a.getConstant() + sign * *b.getConstant());
      } else { // EqualOp
        if (a == b)
          r = Monomial::constant(1);
        else if (a.getConstant() && b.getConstant())
          r = Monomial::constant(0);
        else if ((isNonNegative(a) && b.getConstant() &&
                  *b.getConstant() < 0) ||
                 (isNonNegative(b) && a.getConstant() && *a.getConstant() < 0))
          r = Monomial::constant(0);
      }
      out.push_back(r ? *r : fresh(false));
    }
    return out;
  }
  if (auto where = dyn_cast<WhereOp>(op)) {
    auto c = E(where.getCondition()), x = E(where.getX()), y = E(where.getY());
    if (!c || !x || !y)
      return std::nullopt;
    size_t n = std::max({c->size(), x->size(), y->size()});
    SymShape out;
    for (size_t i = 0; i < n; ++i) {
      auto ci = entryAt(c, i), xi = entryAt(x, i), yi = entryAt(y, i);
      if (!ci || !ci->getConstant() || !xi || !yi)
        return std::nullopt;
      out.push_back(*ci->getConstant() != 0 ? *xi : *yi);
    }
    return out;
  }
  return std::nullopt;
}

/// Keeps ShapeFacts' cache free of the results of erased ops.
struct ForgetErasedOps : RewriterBase::Listener {
  explicit ForgetErasedOps(ShapeFacts &facts) : facts(facts) {}
  void notifyOperationErased(Operation *op) override { facts.forget(op); }
  ShapeFacts &facts;
};

//===----------------------------------------------------------------------===//
// Matching
//===----------------------------------------------------------------------===//

/// The value of a float constant that is one number broadcast to any shape
/// of ones (`tensor<f32>`, `tensor<1xf32>`, ...).
std::optional<double> getScalarFloatConstant(Value v) {
  DenseFPElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  if (llvm::any_of(attr.getType().getShape(), [](int64_t d) { return d != 1; }))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

bool isMinusInfinity(Value v) {
  auto c = getScalarFloatConstant(v);
  return c && std::isinf(*c) && *c < 0;
}

/// The operand of a mul/div by a scalar constant that carries the tensor;
/// the constant's factor goes into `scale`. Null if `op` is not one.
Value scaledOperand(Operation *op, double &scale) {
  if (isa<MulOp>(op)) {
    for (int i = 0; i < 2; ++i)
      if (auto c = getScalarFloatConstant(op->getOperand(1 - i))) {
        // A scalar must not widen the tensor's rank.
        auto t = cast<ShapedType>(op->getOperand(i).getType());
        auto ct = cast<ShapedType>(op->getOperand(1 - i).getType());
        if (t.hasRank() && ct.getRank() > t.getRank())
          return {};
        scale *= *c;
        return op->getOperand(i);
      }
  } else if (isa<DivOp>(op)) {
    if (auto c = getScalarFloatConstant(op->getOperand(1))) {
      auto t = cast<ShapedType>(op->getOperand(0).getType());
      auto ct = cast<ShapedType>(op->getOperand(1).getType());
      if (*c == 0 || (t.hasRank() && ct.getRank() > t.getRank()))
        return {};
      scale /= *c;
      return op->getOperand(0);
    }
  }
  return {};
}

/// Looks through mul/div by scalar constants, multiplying their factors into
/// `scale`. With `ops`, the peeled ops must have one use and are recorded.
Value peelScale(Value v, double &scale,
                SmallVectorImpl<Operation *> *ops = nullptr) {
  while (Operation *def = v.getDefiningOp()) {
    if (ops && !v.hasOneUse())
      break;
    double factor = 1.0;
    Value inner = scaledOperand(def, factor);
    if (!inner)
      break;
    scale *= factor;
    if (ops)
      ops->push_back(def);
    v = inner;
  }
  return v;
}

/// True if `v` is a matmul, possibly scaled (by anything) a few times.
bool tracesToMatMul(Value v, int depth = 0) {
  if (depth > 8)
    return false;
  Operation *def = v.getDefiningOp();
  if (isa_and_nonnull<MatMulOp>(def))
    return true;
  if (!isa_and_nonnull<MulOp, DivOp>(def))
    return false;
  double ignored = 1.0;
  if (Value inner = scaledOperand(def, ignored))
    return tracesToMatMul(inner, depth + 1);
  return tracesToMatMul(def->getOperand(0), depth + 1) ||
         (isa<MulOp>(def) && tracesToMatMul(def->getOperand(1), depth + 1));
}

/// Where k comes from: `value`, or `value` transposed by `perm` (which the
/// rewrite materialises).
struct KeySource {
  Value value;
  SmallVector<int64_t> perm; // empty: value is k itself
};

/// A perm's composition: transpose(transpose(x, inner), outer) is
/// transpose(x, compose(inner, outer)).
SmallVector<int64_t> compose(ArrayRef<int64_t> inner, ArrayRef<int64_t> outer) {
  SmallVector<int64_t> out;
  for (int64_t i : outer)
    out.push_back(inner[i]);
  return out;
}

bool isIdentity(ArrayRef<int64_t> perm) {
  for (auto [i, p] : llvm::enumerate(perm))
    if ((int64_t)i != p)
      return false;
  return true;
}

std::optional<SmallVector<int64_t>> getPerm(TransposeOp op) {
  auto type = dyn_cast<RankedTensorType>(op.getData().getType());
  if (!type)
    return std::nullopt;
  SmallVector<int64_t> perm;
  if (auto p = op.getPerm())
    perm.assign(p->begin(), p->end());
  else
    for (int64_t i = type.getRank() - 1; i >= 0; --i)
      perm.push_back(i);
  return perm;
}

bool sameDims(ShapeFacts &facts, Value v, ArrayRef<Monomial> expected) {
  auto d = facts.dims(v);
  return d && ArrayRef<Monomial>(*d) == expected;
}

/// k such that `kT` is k with its last two dims swapped, or failure.
FailureOr<KeySource> resolveKeys(Value kT, double &scale, ShapeFacts &facts,
                                 std::string &why) {
  Operation *def = kT.getDefiningOp();
  // transpose(x, perm): k = transpose(x, perm with its last two swapped),
  // looking through transposes of x.
  if (auto transpose = dyn_cast_or_null<TransposeOp>(def)) {
    auto perm = getPerm(transpose);
    if (!perm || perm->size() != 4) {
      why = "k^T is not a 4-D transpose";
      return failure();
    }
    std::swap((*perm)[2], (*perm)[3]);
    Value x = peelScale(transpose.getData(), scale);
    while (auto inner = x.getDefiningOp<TransposeOp>()) {
      auto innerPerm = getPerm(inner);
      if (!innerPerm)
        break;
      *perm = compose(*innerPerm, *perm);
      x = peelScale(inner.getData(), scale);
    }
    if (isIdentity(*perm))
      return KeySource{x, {}};
    return KeySource{x, *perm};
  }
  // reshape(transpose(reshape(k, [b*h, s, d]), [0, 2, 1]), [b, h, d, s]).
  if (auto outer = dyn_cast_or_null<ReshapeOp>(def)) {
    auto swap = outer.getData().getDefiningOp<TransposeOp>();
    auto swapPerm = swap ? getPerm(swap) : std::nullopt;
    auto merge = swap ? swap.getData().getDefiningOp<ReshapeOp>() : nullptr;
    if (!merge || !swapPerm || *swapPerm != ArrayRef<int64_t>{0, 2, 1}) {
      why = "k^T is a reshape but not of the [b*h, d, s] transpose of k";
      return failure();
    }
    Value k = merge.getData();
    auto kDims = facts.dims(k);
    std::optional<Monomial> bh;
    if (kDims && kDims->size() == 4)
      bh = multiply((*kDims)[0], (*kDims)[1]);
    if (!bh ||
        !sameDims(facts, merge.getResult(), {*bh, (*kDims)[2], (*kDims)[3]}) ||
        !sameDims(facts, kT,
                  {(*kDims)[0], (*kDims)[1], (*kDims)[3], (*kDims)[2]})) {
      why = "cannot prove that the reshape-transpose-reshape of k swaps its "
            "last two dims";
      return failure();
    }
    return KeySource{peelScale(k, scale), {}};
  }
  why = "k^T is not a transpose of k";
  return failure();
}

/// repeat_kv: reshape(expand(unsqueeze(x, [2]), [b, h, n, s, d]),
/// [b, h*n, s, d]), every kv head repeated n times in a row. Returns x and n.
std::optional<std::pair<Value, int64_t>> matchRepeatKv(Value v,
                                                       ShapeFacts &facts) {
  auto reshape = v.getDefiningOp<ReshapeOp>();
  auto expand = reshape ? reshape.getData().getDefiningOp<ExpandOp>() : nullptr;
  auto unsqueeze =
      expand ? expand.getInput().getDefiningOp<UnsqueezeOp>() : nullptr;
  if (!unsqueeze || unsqueeze.getAxes().size() != 1)
    return std::nullopt;
  Value x = unsqueeze.getData();
  auto xDims = facts.dims(x);
  if (!xDims || xDims->size() != 4 ||
      normalizeAxis(unsqueeze.getAxes()[0], 5) != 2)
    return std::nullopt;
  // Every entry of the expand shape leaves x's dim as it is, but the new one.
  auto shape = facts.entries(expand.getShape());
  if (!shape || shape->size() != 5)
    return std::nullopt;
  auto n = (*shape)[2].getConstant();
  if (!n || *n < 1)
    return std::nullopt;
  const int64_t fromX[] = {0, 1, -1, 2, 3};
  for (int i : {0, 1, 3, 4}) {
    const Monomial &entry = (*shape)[i], &dim = (*xDims)[fromX[i]];
    if (!entry.isConstant(1) && entry != dim)
      return std::nullopt;
  }
  auto heads = multiply((*xDims)[1], Monomial::constant(*n));
  if (!heads || !sameDims(facts, reshape.getResult(),
                          {(*xDims)[0], *heads, (*xDims)[2], (*xDims)[3]}))
    return std::nullopt;
  return std::make_pair(x, *n);
}

/// An attention block found from its softmax.
struct AttentionBlock {
  Value q;
  KeySource k;
  Value v;
  Value mask;              // null: none
  bool invertMask = false; // a bool mask given as where(mask, -inf, s)
  bool causal = false;     // the mask was a constant causal mask
  double scale = 1.0;
  StringRef fullyMaskedRows = "nan";
  MatMulOp output;               // p x v, replaced by the attention op
  SmallVector<Operation *> dead; // the score/probability chain, in order
};

/// True if `mask` is a constant that says exactly what is_causal says for
/// static [seq_q, seq_kv] scores: key j is kept for query i iff
/// j <= i + seq_kv - seq_q (bool true / float 0), else masked (bool false /
/// float -inf). Leading dims must be 1s.
bool isCausalConstant(Value mask, bool invert, ShapeFacts &facts,
                      Value scores) {
  DenseElementsAttr attr;
  if (!matchPattern(mask, m_Constant(&attr)))
    return false;
  auto type = attr.getType();
  auto s = facts.dims(scores);
  if (type.getRank() < 2 || !s || s->size() < 2)
    return false;
  auto sq = (*s)[s->size() - 2].getConstant();
  auto skv = (*s)[s->size() - 1].getConstant();
  ArrayRef<int64_t> shape = type.getShape();
  if (!sq || !skv ||
      llvm::any_of(shape.drop_back(2), [](int64_t d) { return d != 1; }) ||
      shape[shape.size() - 2] != *sq || shape.back() != *skv)
    return false;
  auto keeps = [&](int64_t i, int64_t j) { return j <= i + *skv - *sq; };
  if (type.getElementType().isInteger(1)) {
    auto values = attr.getValues<bool>();
    for (int64_t i = 0; i < *sq; ++i)
      for (int64_t j = 0; j < *skv; ++j)
        if ((values[i * *skv + j] != invert) != keeps(i, j))
          return false;
    return true;
  }
  if (!isa<FloatType>(type.getElementType()))
    return false;
  auto values = attr.getValues<APFloat>();
  for (int64_t i = 0; i < *sq; ++i)
    for (int64_t j = 0; j < *skv; ++j) {
      APFloat x = values[i * *skv + j];
      bool ok = keeps(i, j) ? x.isZero() : x.isInfinity() && x.isNegative();
      if (!ok)
        return false;
    }
  return true;
}

/// True if `s`'s dims are provably those of the scores for every dim but the
/// key dim, where a mismatch would make p x v invalid anyway.
bool maskFitsScores(ShapeFacts &facts, Value mask, Value scores,
                    std::string &why) {
  auto m = facts.dims(mask), s = facts.dims(scores);
  if (!m || !s || m->size() > s->size()) {
    why = "the mask is unranked or has more dims than the scores";
    return false;
  }
  size_t offset = s->size() - m->size();
  for (size_t i = 0; i < m->size(); ++i) {
    const Monomial &md = (*m)[i], &sd = (*s)[offset + i];
    if (md.isConstant(1) || md == sd)
      continue;
    bool keyDim = offset + i == s->size() - 1;
    if (keyDim && !(md.getConstant() && sd.getConstant()))
      continue;
    why = keyDim ? "the mask's key dim differs from the number of keys"
                 : "cannot prove that the mask broadcasts to [batch, heads, "
                   "seq_q, seq_kv] without widening the scores";
    return false;
  }
  return true;
}

/// Follows the probabilities to p x v. Fills `block.output`,
/// `block.fullyMaskedRows` and the ops on the way.
LogicalResult matchProbabilities(SoftmaxOp softmax, AttentionBlock &block,
                                 std::string &why) {
  Value p = softmax.getResult();
  Type element = getElementTypeOrSelf(p.getType());
  while (true) {
    SmallVector<Operation *> users(p.getUsers());
    if (users.empty()) {
      why = "the probabilities are unused";
      return failure();
    }
    if (users.size() == 1) {
      Operation *user = users[0];
      auto cast = dyn_cast<CastOp>(user);
      if (cast && cast.getTo() == element &&
          getElementTypeOrSelf(cast.getType()) == element) {
        block.dead.push_back(cast);
        p = cast.getResult();
        continue;
      }
      auto matmul = dyn_cast<MatMulOp>(user);
      if (matmul && matmul.getA() == p && matmul.getB() != p) {
        block.output = matmul;
        return success();
      }
      why = ("the probabilities feed '" + user->getName().getStringRef() +
             "', not p x v")
                .str();
      return failure();
    }
    // where(is_nan(p), 0, p): fully masked rows give zeros.
    if (users.size() == 2 && block.fullyMaskedRows == "nan") {
      auto isNaN = dyn_cast<IsNaNOp>(users[0]);
      auto where = dyn_cast<WhereOp>(users[1]);
      if (!isNaN) {
        isNaN = dyn_cast<IsNaNOp>(users[1]);
        where = dyn_cast<WhereOp>(users[0]);
      }
      auto zero = where ? getScalarFloatConstant(where.getX()) : std::nullopt;
      if (isNaN && where && isNaN.getResult().hasOneUse() &&
          where.getCondition() == isNaN.getResult() && where.getY() == p &&
          zero && *zero == 0.0 && where.getType() == p.getType()) {
        block.fullyMaskedRows = "zero";
        block.dead.append({isNaN, where});
        p = where.getResult();
        continue;
      }
    }
    why = "the probabilities are also used outside p x v";
    return failure();
  }
}

/// Walks back from the softmax input to q x k^T: an optional mask (float
/// add, or where(bool, s, -inf)), then scale factors. Fills `block` but k.
LogicalResult matchScores(SoftmaxOp softmax, AttentionBlock &block,
                          ShapeFacts &facts, Value &kT, Value &scores,
                          std::string &why) {
  SmallVector<Operation *> ops; // from the softmax input backwards
  Value s = softmax.getInput();
  Value maskedScores;
  if (auto add = s.getDefiningOp<AddOp>()) {
    bool lhsIsScores = tracesToMatMul(add.getLhs());
    if (!lhsIsScores && !tracesToMatMul(add.getRhs())) {
      why = "the softmax input adds two values neither of which is q x k^T";
      return failure();
    }
    block.mask = lhsIsScores ? add.getRhs() : add.getLhs();
    if (!isa<FloatType>(getElementTypeOrSelf(block.mask.getType()))) {
      why = "the additive mask is not a float tensor";
      return failure();
    }
    ops.push_back(add);
    maskedScores = s;
    s = lhsIsScores ? add.getLhs() : add.getRhs();
  } else if (auto where = s.getDefiningOp<WhereOp>()) {
    bool keepTrue =
        isMinusInfinity(where.getY()) && tracesToMatMul(where.getX());
    bool keepFalse =
        isMinusInfinity(where.getX()) && tracesToMatMul(where.getY());
    if (!keepTrue && !keepFalse) {
      bool finiteFill = getScalarFloatConstant(where.getX()) ||
                        getScalarFloatConstant(where.getY());
      why = finiteFill ? "the masked fill value is not -inf"
                       : "the softmax input is a where() that is not a mask "
                         "over q x k^T";
      return failure();
    }
    block.mask = where.getCondition();
    block.invertMask = keepFalse;
    ops.push_back(where);
    maskedScores = s;
    s = keepTrue ? where.getX() : where.getY();
  }
  if (maskedScores && !maskedScores.hasOneUse()) {
    why = "the masked scores are also used outside the softmax";
    return failure();
  }
  if (!s.hasOneUse()) {
    why = "the scores are also used outside the softmax";
    return failure();
  }
  s = peelScale(s, block.scale, &ops);
  if (!s.hasOneUse()) {
    why = "the scores are also used outside the softmax";
    return failure();
  }
  Operation *def = s.getDefiningOp();
  if (isa_and_nonnull<MulOp, DivOp>(def)) {
    why = "the scale is not a constant";
    return failure();
  }
  if (isa_and_nonnull<AddOp, WhereOp>(def)) {
    why = "more than one mask, or a mask applied before the scale";
    return failure();
  }
  auto matmul = dyn_cast_or_null<MatMulOp>(def);
  if (!matmul) {
    why = "the softmax input is not a scaled q x k^T";
    return failure();
  }
  ops.push_back(matmul);
  block.dead.append(ops.rbegin(), ops.rend());
  block.q = peelScale(matmul.getA(), block.scale);
  kT = peelScale(matmul.getB(), block.scale);
  scores = matmul.getResult();
  return success();
}

/// True if `op` is plausibly part of attention: a matmul before or after it.
/// Only those softmaxes get a `tessel.unfused` reason.
bool looksLikeAttention(SoftmaxOp softmax) {
  Value s = softmax.getInput();
  if (auto add = s.getDefiningOp<AddOp>()) {
    if (tracesToMatMul(add.getLhs()) || tracesToMatMul(add.getRhs()))
      return true;
  } else if (auto where = s.getDefiningOp<WhereOp>()) {
    if (tracesToMatMul(where.getX()) || tracesToMatMul(where.getY()))
      return true;
  } else if (tracesToMatMul(s)) {
    return true;
  }
  SmallVector<Value> work{softmax.getResult()};
  for (int depth = 0; depth < 4 && !work.empty(); ++depth) {
    SmallVector<Value> next;
    for (Value v : work)
      for (Operation *user : v.getUsers()) {
        if (isa<MatMulOp>(user))
          return true;
        if (isa<CastOp, WhereOp, IsNaNOp>(user))
          next.append(user->result_begin(), user->result_end());
      }
    work = std::move(next);
  }
  return false;
}

/// Matches the attention block around `softmax`; `why` says why not.
FailureOr<AttentionBlock> matchAttention(SoftmaxOp softmax, ShapeFacts &facts,
                                         std::string &why) {
  auto type = dyn_cast<RankedTensorType>(softmax.getInput().getType());
  if (!type || type.getRank() != 4) {
    why = "the scores are not 4-D [batch, heads, seq_q, seq_kv]";
    return failure();
  }
  if (normalizeAxis(softmax.getAxis(), 4) != 3) {
    why = "the softmax is not over the last axis (the keys)";
    return failure();
  }
  AttentionBlock block;
  Value kT, scores;
  if (failed(matchScores(softmax, block, facts, kT, scores, why)))
    return failure();
  block.dead.push_back(softmax);
  if (failed(matchProbabilities(softmax, block, why)))
    return failure();
  block.v = block.output.getB();

  for (Value x : {block.q, kT, block.v})
    if (auto t = dyn_cast<RankedTensorType>(x.getType());
        !t || t.getRank() != 4) {
      why = "q, k^T and v are not all 4-D";
      return failure();
    }
  auto k = resolveKeys(kT, block.scale, facts, why);
  if (failed(k))
    return failure();
  block.k = *k;
  if (!std::isfinite(block.scale) || block.scale == 0.0) {
    why = "the scale is zero or not finite";
    return failure();
  }

  // GQA: attend to the kv heads before repeat_kv, when k and v agree.
  int64_t repeats = 1;
  if (block.k.perm.empty()) {
    auto kRepeat = matchRepeatKv(block.k.value, facts);
    auto vRepeat = matchRepeatKv(block.v, facts);
    if (kRepeat && vRepeat && kRepeat->second == vRepeat->second) {
      block.k.value = kRepeat->first;
      block.v = vRepeat->first;
      repeats = kRepeat->second;
    }
  }

  // Head counts: static, and what the graph's matmuls compute.
  auto qDims = facts.dims(block.q), vDims = facts.dims(block.v);
  auto kBase = facts.dims(block.k.value);
  if (!qDims || !vDims || !kBase) {
    why = "q, k and v must be ranked";
    return failure();
  }
  SymShape kDims = *kBase;
  if (!block.k.perm.empty())
    for (auto [i, p] : llvm::enumerate(block.k.perm))
      kDims[i] = (*kBase)[p];
  auto qHeads = (*qDims)[1].getConstant(), kHeads = kDims[1].getConstant(),
       vHeads = (*vDims)[1].getConstant();
  if (!qHeads || !kHeads || !vHeads) {
    why = "the head counts of q, k and v are not static";
    return failure();
  }
  if (*kHeads != *vHeads) {
    why = "k and v have different head counts";
    return failure();
  }
  // The graph's q x k^T pairs q head h with k head h (k repeated n times:
  // kv head h / n), or broadcasts one k head; the op's GQA reading is the
  // same exactly when q has as many heads as the repeated k.
  bool headsOk = repeats > 1 ? *qHeads == *kHeads * repeats
                             : *kHeads == *qHeads || *kHeads == 1;
  if (!headsOk) {
    why = "q heads are not what the graph pairs with the kv heads";
    return failure();
  }
  for (const SymShape *other : {&kDims, &*vDims})
    if ((*other)[0] != (*qDims)[0]) {
      why = "cannot prove that q, k and v have the same batch size";
      return failure();
    }
  if (block.mask && !maskFitsScores(facts, block.mask, scores, why))
    return failure();
  // A constant causal mask is is_causal, which the tiled lowering turns into
  // skipped tiles.
  if (block.mask &&
      isCausalConstant(block.mask, block.invertMask, facts, scores)) {
    block.mask = Value();
    block.invertMask = false;
    block.causal = true;
  }
  return block;
}

//===----------------------------------------------------------------------===//
// The rewrite
//===----------------------------------------------------------------------===//

/// Creates a tessel op with its result type inferred (null on failure).
Operation *createInferred(PatternRewriter &rewriter, Location loc,
                          StringRef name, ValueRange operands,
                          ArrayRef<NamedAttribute> attrs = {}) {
  MLIRContext *context = rewriter.getContext();
  OperationState state(loc, name);
  state.addOperands(operands);
  state.addAttributes(attrs);
  std::optional<RegisteredOperationName> registered =
      state.name.getRegisteredInfo();
  auto *infer =
      registered ? registered->getInterface<InferTypeOpInterface>() : nullptr;
  if (!infer)
    return nullptr;
  registered->populateDefaultAttrs(state.attributes);
  SmallVector<Type> types;
  {
    ScopedDiagnosticHandler silence(context,
                                    [](Diagnostic &) { return success(); });
    if (failed(infer->inferReturnTypes(
            context, loc, operands, state.attributes.getDictionary(context),
            /*properties=*/nullptr, /*regions=*/{}, types)))
      return nullptr;
  }
  state.addTypes(types);
  return rewriter.create(state);
}

/// `v` cast to the more static type the analysis proves, if any.
Value refine(PatternRewriter &rewriter, ShapeFacts &facts, Value v) {
  RankedTensorType refined = facts.refinedType(v);
  if (refined == v.getType())
    return v;
  return rewriter.create<tensor::CastOp>(v.getLoc(), refined, v);
}

struct FuseAttentionBlock : OpRewritePattern<SoftmaxOp> {
  FuseAttentionBlock(MLIRContext *context, ShapeFacts &facts)
      : OpRewritePattern(context), facts(facts) {}

  LogicalResult matchAndRewrite(SoftmaxOp softmax,
                                PatternRewriter &rewriter) const override {
    std::string why;
    FailureOr<AttentionBlock> block = matchAttention(softmax, facts, why);
    if (failed(block))
      return rewriter.notifyMatchFailure(softmax, why);

    MatMulOp output = block->output;
    Location loc = output.getLoc();
    rewriter.setInsertionPoint(output);
    SmallVector<Operation *> created;
    auto discard = [&](StringRef reason) {
      for (Operation *op : llvm::reverse(created))
        rewriter.eraseOp(op);
      return rewriter.notifyMatchFailure(softmax, reason);
    };

    Value k = block->k.value;
    if (!block->k.perm.empty()) {
      Operation *transpose = createInferred(
          rewriter, loc, TransposeOp::getOperationName(), {k},
          {rewriter.getNamedAttr(
              "perm", rewriter.getDenseI64ArrayAttr(block->k.perm))});
      if (!transpose)
        return discard("internal: cannot build the transpose of k");
      created.push_back(transpose);
      k = transpose->getResult(0);
    }
    auto refineTracked = [&](Value v) {
      Value r = refine(rewriter, facts, v);
      if (r != v)
        created.push_back(r.getDefiningOp());
      return r;
    };
    Value q = refineTracked(block->q);
    k = refineTracked(k);
    Value v = refineTracked(block->v);
    SmallVector<Value> operands{q, k, v};
    if (Value mask = block->mask) {
      if (block->invertMask) {
        Operation *negated =
            createInferred(rewriter, loc, NotOp::getOperationName(), {mask});
        if (!negated)
          return discard("internal: cannot build the mask's negation");
        created.push_back(negated);
        mask = negated->getResult(0);
      }
      operands.push_back(mask);
    }
    SmallVector<NamedAttribute> attrs{
        rewriter.getNamedAttr("scale", rewriter.getF32FloatAttr(block->scale)),
        rewriter.getNamedAttr("is_causal",
                              rewriter.getI64IntegerAttr(block->causal)),
        rewriter.getNamedAttr("fully_masked_rows",
                              rewriter.getStringAttr(block->fullyMaskedRows))};
    Operation *attention = createInferred(
        rewriter, loc, AttentionOp::getOperationName(), operands, attrs);
    if (!attention)
      return discard("internal: tessel.attention rejects the matched "
                     "operands");
    created.push_back(attention);
    // Keep the more static of the declared and the inferred type; users
    // outside tessel (func.return) need the declared one exactly.
    Type resultType = output.getType();
    auto declared = dyn_cast<RankedTensorType>(resultType);
    auto inferred =
        dyn_cast<RankedTensorType>(attention->getResult(0).getType());
    if (!areCompatibleTensorTypes(TypeRange{resultType},
                                  TypeRange{attention->getResult(0).getType()}))
      return discard("internal: tessel.attention infers a type that "
                     "disagrees with p x v");
    if (declared && inferred && declared.getRank() == inferred.getRank() &&
        llvm::all_of(output->getUsers(), [](Operation *user) {
          return isa<TesselDialect>(user->getDialect());
        })) {
      SmallVector<int64_t> shape(declared.getShape());
      for (int64_t i = 0; i < declared.getRank(); ++i)
        if (declared.isDynamicDim(i))
          shape[i] = inferred.getDimSize(i);
      resultType = RankedTensorType::get(shape, declared.getElementType());
    }
    attention->getResult(0).setType(resultType);
    rewriter.replaceOp(output, attention->getResults());
    // The score and probability chain had no other users.
    for (Operation *op : llvm::reverse(block->dead))
      rewriter.eraseOp(op);
    return success();
  }

  ShapeFacts &facts;
};

struct TesselFuseAttentionPass
    : tessel::impl::TesselFuseAttentionPassBase<TesselFuseAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    ShapeFacts facts;
    ForgetErasedOps forget(facts);
    GreedyRewriteConfig config;
    config.listener = &forget;
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseAttentionBlock>(&getContext(), facts);
    if (failed(applyPatternsAndFoldGreedily(func, std::move(patterns), config)))
      return signalPassFailure();

    // What is left did not fuse: say why, for `tesselc --report`.
    func.walk([&](SoftmaxOp softmax) {
      if (!looksLikeAttention(softmax))
        return;
      std::string why;
      if (succeeded(matchAttention(softmax, facts, why)))
        why = "the fused op could not be built";
      softmax->setAttr(kUnfusedAttr,
                       StringAttr::get(softmax.getContext(), why));
    });
  }
};

} // namespace
