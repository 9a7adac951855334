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
#include "passes/MaskStructure.h"
#include "passes/ShapeFacts.h"
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
using namespace mlir::tessel::fusion;

namespace {

/// Name of the discardable attribute that says why a softmax was not fused.
constexpr StringLiteral kUnfusedAttr = "tessel.unfused";

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
  bool causal = false;     // the mask was a (constant or built) causal mask
  int64_t windowLeft = -1, windowRight = -1;
  /// The padding terms that replace a mask whose structure was recovered.
  SmallVector<MaskStructure::Term, 2> keyTerms;
  /// Why a mask is kept materialised (its structure was not recovered).
  std::string maskNote;
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

/// Replaces a mask built at run time by what it keeps: causal / window
/// bounds and padding terms (see MaskStructure.h). Leaves the mask as it is,
/// with a note saying why, where that cannot be proved.
void recoverMaskStructure(AttentionBlock &block, ShapeFacts &facts,
                          Value scores) {
  auto s = facts.dims(scores);
  if (!s || s->size() != 4)
    return;
  std::string why;
  FailureOr<MaskStructure> structure =
      analyzeMaskStructure(block.mask, block.invertMask, facts, *s, why);
  if (failed(structure)) {
    // Only masks the graph computes have a structure to recover; one that is
    // a graph input or a constant is what it is.
    Operation *def = block.mask.getDefiningOp();
    if (def && !matchPattern(block.mask, m_Constant()))
      block.maskNote = why;
    return;
  }
  bool bounded = structure->minOffset || structure->maxOffset;
  // The op's bounds are aligned to the end of the keys; the graph's are on
  // j - i, the same when seq_q = seq_kv.
  if (bounded && (*s)[2] != (*s)[3]) {
    block.maskNote = "mask structure: cannot prove that seq_q = seq_kv for "
                     "the position bounds";
    return;
  }
  int64_t left = -1, right = -1;
  bool causal = false;
  if (structure->maxOffset) {
    if (*structure->maxOffset < 0) {
      block.maskNote = "mask structure: the mask hides the diagonal";
      return;
    }
    causal = *structure->maxOffset == 0;
    if (!causal)
      right = *structure->maxOffset;
  }
  if (structure->minOffset) {
    if (*structure->minOffset > 0) {
      block.maskNote = "mask structure: the mask hides the diagonal";
      return;
    }
    left = -*structure->minOffset;
  }
  block.mask = Value();
  block.invertMask = false;
  block.causal = causal;
  block.windowLeft = left;
  block.windowRight = right;
  block.keyTerms = structure->terms;
  // A finite fill makes a row that keeps no key uniform over every key
  // (with -inf it is NaN, or 0 behind an IsNaN guard).
  if (!std::isinf(structure->fill))
    block.fullyMaskedRows = "uniform";
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
  if (block.mask)
    recoverMaskStructure(block, facts, scores);
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
    // The padding terms of a recovered mask, as one [.., seq_kv] bool mask.
    Value keyMask;
    for (const MaskStructure::Term &term : block->keyTerms) {
      Value t = term.value;
      if (term.negated) {
        Operation *negated =
            createInferred(rewriter, loc, NotOp::getOperationName(), {t});
        if (!negated)
          return discard("internal: cannot build a padding term's negation");
        created.push_back(negated);
        t = negated->getResult(0);
      }
      SmallVector<int64_t> axes;
      for (int64_t axis = 0; axis < 4; ++axis)
        if (!llvm::is_contained(term.axes, axis))
          axes.push_back(axis);
      if (!axes.empty()) {
        Operation *unsqueeze = createInferred(
            rewriter, loc, UnsqueezeOp::getOperationName(), {t},
            {rewriter.getNamedAttr("axes",
                                   rewriter.getDenseI64ArrayAttr(axes))});
        if (!unsqueeze)
          return discard("internal: cannot place a padding term");
        created.push_back(unsqueeze);
        t = unsqueeze->getResult(0);
      }
      if (keyMask) {
        Operation *both = createInferred(rewriter, loc,
                                         AndOp::getOperationName(), {keyMask, t});
        if (!both)
          return discard("internal: cannot combine padding terms");
        created.push_back(both);
        t = both->getResult(0);
      }
      keyMask = t;
    }
    if (keyMask)
      operands.push_back(keyMask);
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
    if (block->windowLeft >= 0)
      attrs.push_back(rewriter.getNamedAttr(
          "window_left", rewriter.getI64IntegerAttr(block->windowLeft)));
    if (block->windowRight >= 0)
      attrs.push_back(rewriter.getNamedAttr(
          "window_right", rewriter.getI64IntegerAttr(block->windowRight)));
    if (!block->maskNote.empty())
      attrs.push_back(rewriter.getNamedAttr(
          "tessel.mask_note", rewriter.getStringAttr(block->maskNote)));
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
