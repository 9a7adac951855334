//===- ShapeFacts.cpp - symbolic shapes for the fusion passes -------------===//
//
// How each tessel op maps the symbolic dims and entries of its operands to
// those of its results (see ShapeFacts.h).
//
//===----------------------------------------------------------------------===//

#include "passes/ShapeFacts.h"

#include "dialect/ShapeUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/TypeUtilities.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::tessel;

namespace mlir::tessel::fusion {

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
static bool keepsShape(Operation *op) {
  return isa<NegOp, AbsOp, SqrtOp, ReciprocalOp, ExpOp, LogOp, TanhOp,
             SigmoidOp, ErfOp, SinOp, CosOp, ReluOp, SoftplusOp, FloorOp,
             CeilOp, RoundOp, NotOp, IdentityOp, GeluOp, SiluOp, IsNaNOp,
             IsInfOp, ClipOp, SoftmaxOp, LogSoftmaxOp, LayerNormalizationOp,
             RMSNormalizationOp, RotaryEmbeddingOp, CumSumOp, TriluOp, CastOp,
             CastLikeOp, ScatterNDOp, tensor::CastOp>(op);
}

static bool isBroadcastingOp(Operation *op) {
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

} // namespace mlir::tessel::fusion
