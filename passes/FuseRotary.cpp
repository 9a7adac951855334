//===- FuseRotary.cpp - rotary embedding from its rotate-half spelling ----===//
//
// Llama exports apply rotary position embeddings as
//   rotate_half(x) = Concat(Neg(x[..., D/2:]), x[..., :D/2])
//   y = x * cos + rotate_half(x) * sin
// with x [B, H, S, D] and full-width caches cos/sin [b, 1, S, D] built as
// Unsqueeze(f(Concat(freqs, freqs)), 1). ONNX RotaryEmbedding (opset 23)
// without position_ids takes caches [B, S, D/2] and computes
//   y[:h] = cos * x[:h] - sin * x[h:],  y[h:] = sin * x[:h] + cos * x[h:]
// which is the same function exactly when cos[i] == cos[i + D/2] and
// sin[i] == sin[i + D/2]. The pass proves that duplication from how the
// caches are built (or from their values when they are constants), proves
// that the caches' batch and sequence dims are x's (or 1), and only then
// replaces the chain by tessel.rotary_embedding over the first halves of
// the caches. A rotate-half chain it cannot prove gets a discardable
// `tessel.unfused` attribute on its Add saying why, for the fusion report.
//
//===----------------------------------------------------------------------===//

#include "dialect/ShapeUtils.h"
#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELFUSEROTARYPASS
#include "passes/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::fusion;

namespace {

//===----------------------------------------------------------------------===//
// Element-wise op classes
//===----------------------------------------------------------------------===//

/// One-operand ops whose result element i depends on operand element i only.
bool isPointwiseUnary(Operation *op) {
  return isa<CastOp, NegOp, AbsOp, SqrtOp, ReciprocalOp, ExpOp, LogOp, TanhOp,
             SigmoidOp, ErfOp, SinOp, CosOp, ReluOp, SoftplusOp, FloorOp,
             CeilOp, RoundOp, IdentityOp, GeluOp, SiluOp>(op);
}

/// Numpy-broadcasting element-wise ops.
bool isBroadcastElementwise(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, PowOp, MinOp, MaxOp>(op);
}

/// Ops whose result has the shape of their operand 0.
bool keepsShapeOfFirstOperand(Operation *op) {
  return isPointwiseUnary(op) ||
         isa<NotOp, IsNaNOp, IsInfOp, ClipOp, SoftmaxOp, LogSoftmaxOp,
             LayerNormalizationOp, RMSNormalizationOp, RotaryEmbeddingOp>(op);
}

//===----------------------------------------------------------------------===//
// Symbolic dims
//===----------------------------------------------------------------------===//

/// A runtime size, symbolically: a static number, "dim i of v" or "entry i
/// of the integer tensor v" for a value nothing more is known of. Two
/// symbols compare equal only when they provably are.
struct Sym {
  enum Kind { Unknown, Static, DimOf, EntryOf } kind = Unknown;
  int64_t size = 0;
  Value value;
  int64_t index = 0;

  static Sym unknown() { return {}; }
  static Sym of(int64_t size) { return {Static, size, Value(), 0}; }
  static Sym dimOf(Value v, int64_t i) { return {DimOf, 0, v, i}; }
  static Sym entryOf(Value v, int64_t i) { return {EntryOf, 0, v, i}; }
  bool isStatic(int64_t n) const { return kind == Static && size == n; }
  /// Known to be >= 0: a dim, or a static size >= 0.
  bool isSize() const { return kind == DimOf || (kind == Static && size >= 0); }
  bool operator==(const Sym &o) const {
    if (kind == Unknown || kind != o.kind)
      return false;
    if (kind == Static)
      return size == o.size;
    return value == o.value && index == o.index;
  }
};

/// Resolves dims (and entries of shape vectors) to symbols by walking back
/// through the ops that only move dims around: element-wise ops, Unsqueeze,
/// Transpose, Reshape by a shape vector, MatMul, Gather, Range(0, n, 1), ...
class DimResolver {
public:
  Sym dim(Value v, int64_t d) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || d < 0 || d >= type.getRank())
      return Sym::unknown();
    if (!type.isDynamicDim(d))
      return Sym::of(type.getDimSize(d));
    auto key = std::make_pair(v, d);
    auto it = dims.find(key);
    if (it != dims.end())
      return it->second;
    Sym s = Sym::dimOf(v, d);
    if (depth < kMaxDepth) {
      ++depth;
      if (Operation *def = v.getDefiningOp())
        if (Sym r = resolveDim(def, cast<OpResult>(v).getResultNumber(), d);
            r.kind != Sym::Unknown)
          s = r;
      --depth;
    }
    dims[key] = s;
    return s;
  }

  Sym entry(Value v, int64_t i) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || type.getRank() > 1 || !type.getElementType().isInteger())
      return Sym::unknown();
    auto key = std::make_pair(v, i);
    auto it = entries.find(key);
    if (it != entries.end())
      return it->second;
    Sym s = Sym::entryOf(v, i);
    if (std::optional<SmallVector<int64_t>> values = getConstantIntValues(v)) {
      s = i < (int64_t)values->size() ? Sym::of((*values)[i]) : Sym::unknown();
    } else if (depth < kMaxDepth) {
      ++depth;
      if (Operation *def = v.getDefiningOp())
        if (Sym r = resolveEntry(def, i); r.kind != Sym::Unknown)
          s = r;
      --depth;
    }
    entries[key] = s;
    return s;
  }

private:
  static constexpr unsigned kMaxDepth = 256;

  /// The symbol of a broadcast result dim `d` (result rank `rank`) over
  /// `operands`.
  Sym broadcastDim(ValueRange operands, int64_t rank, int64_t d) {
    SmallVector<Sym> syms;
    for (Value operand : operands) {
      if (rankOf(operand) < 0)
        return Sym::unknown();
      int64_t k = d - (rank - rankOf(operand));
      if (k >= 0)
        syms.push_back(dim(operand, k));
    }
    return broadcastSyms(syms);
  }

  /// The broadcast of sizes `syms` (numpy rules).
  static Sym broadcastSyms(ArrayRef<Sym> all) {
    SmallVector<Sym> syms;
    for (const Sym &s : all)
      if (!s.isStatic(1))
        syms.push_back(s);
    if (syms.empty())
      return Sym::of(1);
    // A static size > 1 is the result's whatever the others are (they must
    // be that size or 1).
    std::optional<Sym> fixed;
    for (const Sym &s : syms) {
      if (s.kind != Sym::Static)
        continue;
      if (fixed && !(*fixed == s))
        return Sym::unknown();
      fixed = s;
    }
    if (fixed)
      return *fixed;
    // Otherwise every size that is not 1 at run time is the result's: they
    // must all be one symbol.
    for (const Sym &s : syms)
      if (!(s == syms.front()))
        return Sym::unknown();
    return syms.front();
  }

  Sym resolveDim(Operation *def, unsigned resultNumber, int64_t d) {
    int64_t rank = rankOf(def->getResult(resultNumber));
    if (keepsShapeOfFirstOperand(def))
      return dim(def->getOperand(0), d);
    if (isBroadcastElementwise(def) ||
        isa<AndOp, OrOp, XorOp, EqualOp, LessOp, LessOrEqualOp, GreaterOp,
            GreaterOrEqualOp, WhereOp>(def))
      return broadcastDim(def->getOperands(), rank, d);
    if (auto op = dyn_cast<UnsqueezeOp>(def)) {
      int64_t skipped = 0;
      for (int64_t a : op.getAxes()) {
        std::optional<int64_t> axis = normalizeAxis(a, rank);
        if (!axis)
          return Sym::unknown();
        if (*axis == d)
          return Sym::of(1);
        if (*axis < d)
          ++skipped;
      }
      return dim(op.getData(), d - skipped);
    }
    if (auto op = dyn_cast<SqueezeOp>(def)) {
      int64_t inRank = rankOf(op.getData());
      std::optional<ArrayRef<int64_t>> axes = op.getAxes();
      if (!axes || inRank < 0)
        return Sym::unknown();
      SmallVector<bool> squeezed(inRank, false);
      for (int64_t a : *axes) {
        std::optional<int64_t> axis = normalizeAxis(a, inRank);
        if (!axis)
          return Sym::unknown();
        squeezed[*axis] = true;
      }
      for (int64_t i = 0, out = 0; i < inRank; ++i) {
        if (squeezed[i])
          continue;
        if (out++ == d)
          return dim(op.getData(), i);
      }
      return Sym::unknown();
    }
    if (auto op = dyn_cast<TransposeOp>(def)) {
      if (!op.getPerm())
        return dim(op.getData(), rank - 1 - d);
      ArrayRef<int64_t> perm = *op.getPerm();
      return d < (int64_t)perm.size() ? dim(op.getData(), perm[d])
                                      : Sym::unknown();
    }
    if (auto op = dyn_cast<ReduceMeanOp>(def))
      return reducedDim(op, d);
    if (auto op = dyn_cast<ReduceSumOp>(def))
      return reducedDim(op, d);
    if (auto op = dyn_cast<ReduceMaxOp>(def))
      return reducedDim(op, d);
    if (auto op = dyn_cast<MatMulOp>(def)) {
      int64_t ra = rankOf(op.getA()), rb = rankOf(op.getB());
      if (ra < 2 || rb < 2)
        return Sym::unknown();
      if (d == rank - 1)
        return dim(op.getB(), rb - 1);
      if (d == rank - 2)
        return dim(op.getA(), ra - 2);
      // Batch dims: broadcast of a[:-2] and b[:-2], right-aligned.
      std::optional<Sym> known;
      for (auto [v, r] :
           {std::make_pair(op.getA(), ra), std::make_pair(op.getB(), rb)}) {
        int64_t k = d - (rank - 2 - (r - 2));
        if (k < 0)
          continue;
        Sym s = dim(v, k);
        if (s.isStatic(1))
          continue;
        if (known && !(*known == s))
          return Sym::unknown();
        known = s;
      }
      return known ? *known : Sym::of(1);
    }
    if (auto op = dyn_cast<ReshapeOp>(def)) {
      Sym e = entry(op.getShape(), d);
      if (e.kind == Sym::Static) {
        if (e.size > 0)
          return e;
        if (e.size == 0)
          return op.getAllowzero() ? e : dim(op.getData(), d);
        return Sym::unknown(); // -1: inferred from the element count
      }
      if (!e.isSize())
        return Sym::unknown();
      // An entry of 0 copies the input dim unless allowzero: equal only
      // when the input dim is that same size.
      if (op.getAllowzero() || dim(op.getData(), d) == e)
        return e;
      return Sym::unknown();
    }
    if (auto op = dyn_cast<ConcatOp>(def)) {
      std::optional<int64_t> axis = normalizeAxis(op.getAxis(), rank);
      if (!axis || *axis == d || op.getInputs().empty())
        return Sym::unknown();
      // Concat requires the other dims of every input to agree.
      return dim(op.getInputs().front(), d);
    }
    if (auto op = dyn_cast<GatherOp>(def)) {
      int64_t rd = rankOf(op.getData()), ri = rankOf(op.getIndices());
      if (rd < 1 || ri < 0)
        return Sym::unknown();
      std::optional<int64_t> axis = normalizeAxis(op.getAxis(), rd);
      if (!axis)
        return Sym::unknown();
      if (d < *axis)
        return dim(op.getData(), d);
      if (d < *axis + ri)
        return dim(op.getIndices(), d - *axis);
      return dim(op.getData(), d - ri + 1);
    }
    if (auto op = dyn_cast<SliceOp>(def)) {
      std::optional<SmallVector<int64_t>> axes =
          getConstantIntValues(op.getAxes());
      if (!axes)
        return Sym::unknown();
      for (int64_t a : *axes)
        if (normalizeAxis(a, rank) == d)
          return Sym::unknown();
      return dim(op.getData(), d);
    }
    if (auto op = dyn_cast<RangeOp>(def)) {
      // Range(0, n, 1) has n elements when n >= 0, which a size is.
      std::optional<SmallVector<int64_t>> start =
          getConstantIntValues(op.getStart());
      std::optional<SmallVector<int64_t>> delta =
          getConstantIntValues(op.getDelta());
      if (!start || !delta || start->size() != 1 || delta->size() != 1 ||
          (*start)[0] != 0 || (*delta)[0] != 1)
        return Sym::unknown();
      Sym n = entry(op.getLimit(), 0);
      return n.isSize() ? n : Sym::unknown();
    }
    if (auto op = dyn_cast<ConstantOfShapeOp>(def))
      return entry(op.getInput(), d);
    if (auto op = dyn_cast<AttentionOp>(def)) {
      // [B, H, Sq, Dv] from q and v, or [B, Sq, H * Dv].
      if (d < rank - 1)
        return dim(op.getQ(), d);
      return rank == 4 ? dim(op.getV(), 3) : Sym::unknown();
    }
    if (auto op = dyn_cast<ExpandOp>(def)) {
      // Broadcast of the input's dims and the shape's entries.
      auto shapeType = dyn_cast<RankedTensorType>(op.getShape().getType());
      int64_t inRank = rankOf(op.getInput());
      if (!shapeType || shapeType.getRank() != 1 || shapeType.isDynamicDim(0) ||
          inRank < 0)
        return Sym::unknown();
      SmallVector<Sym> syms;
      if (int64_t k = d - (rank - inRank); k >= 0)
        syms.push_back(dim(op.getInput(), k));
      if (int64_t j = d - (rank - shapeType.getDimSize(0)); j >= 0) {
        Sym e = entry(op.getShape(), j);
        if (!e.isSize())
          return Sym::unknown();
        syms.push_back(e);
      }
      return broadcastSyms(syms);
    }
    return Sym::unknown();
  }

  template <typename ReduceOpTy> Sym reducedDim(ReduceOpTy op, int64_t d) {
    std::optional<ArrayRef<int64_t>> axes = op.getAxes();
    if (op.getKeepdims() != 1 || !axes)
      return Sym::unknown();
    int64_t rank = rankOf(op.getData());
    for (int64_t a : *axes)
      if (normalizeAxis(a, rank) == d)
        return Sym::of(1);
    return dim(op.getData(), d);
  }

  Sym resolveEntry(Operation *def, int64_t i) {
    if (auto op = dyn_cast<ShapeOp>(def)) {
      int64_t rank = rankOf(op.getData());
      if (rank < 0)
        return Sym::unknown();
      int64_t start = op.getStart();
      start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
      return dim(op.getData(), start + i);
    }
    if (auto op = dyn_cast<ConcatOp>(def)) {
      int64_t offset = 0;
      for (Value input : op.getInputs()) {
        auto type = dyn_cast<RankedTensorType>(input.getType());
        if (!type || type.getRank() != 1 || type.isDynamicDim(0))
          return Sym::unknown();
        if (i < offset + type.getDimSize(0))
          return entry(input, i - offset);
        offset += type.getDimSize(0);
      }
      return Sym::unknown();
    }
    if (isa<UnsqueezeOp, SqueezeOp, ReshapeOp, IdentityOp>(def))
      return entry(def->getOperand(0), i);
    if (auto op = dyn_cast<CastOp>(def)) {
      auto from =
          dyn_cast<IntegerType>(getElementTypeOrSelf(op.getInput().getType()));
      if (!from || from.getWidth() < 32 || !op.getTo().isInteger() ||
          op.getTo().getIntOrFloatBitWidth() < 32)
        return Sym::unknown();
      return entry(op.getInput(), i);
    }
    if (auto op = dyn_cast<WhereOp>(def)) {
      // Where(v == -1, 1, v), as exporters write before Expand: v where v
      // is a size.
      auto equal = op.getCondition().getDefiningOp<EqualOp>();
      if (!equal || equal.getLhs() != op.getY())
        return Sym::unknown();
      Sym minusOne = entryBroadcast(equal.getRhs(), i);
      Sym one = entryBroadcast(op.getX(), i);
      Sym v = entry(op.getY(), i);
      if (!minusOne.isStatic(-1) || !one.isStatic(1))
        return Sym::unknown();
      if (v.kind == Sym::Static)
        return v.size == -1 ? Sym::of(1) : v;
      return v.isSize() ? v : Sym::unknown();
    }
    if (auto op = dyn_cast<GatherOp>(def)) {
      std::optional<SmallVector<int64_t>> indices =
          getConstantIntValues(op.getIndices());
      auto dataType = dyn_cast<RankedTensorType>(op.getData().getType());
      if (!indices || i >= (int64_t)indices->size() || !dataType ||
          dataType.getRank() != 1 || dataType.isDynamicDim(0))
        return Sym::unknown();
      int64_t index = (*indices)[i];
      if (index < 0)
        index += dataType.getDimSize(0);
      return entry(op.getData(), index);
    }
    return Sym::unknown();
  }

  /// Entry `i` of `v` broadcast to a longer vector (a 0-D or 1-element `v`
  /// gives its only entry).
  Sym entryBroadcast(Value v, int64_t i) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (type && type.getNumElements() == 1 && type.getRank() <= 1)
      return entry(v, 0);
    return entry(v, i);
  }

  llvm::DenseMap<std::pair<Value, int64_t>, Sym> dims, entries;
  unsigned depth = 0;
};

//===----------------------------------------------------------------------===//
// Duplicated halves
//===----------------------------------------------------------------------===//

/// True when `v`'s last dim is 2h and v[..., i] == v[..., i + h] provably:
/// Concat(a, a) on the last axis, or a constant with equal halves, seen
/// through point-wise ops whose other operands are constant along the last
/// axis (last dim 1) or themselves duplicated.
bool hasDuplicatedHalves(Value v, unsigned depth = 0) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() < 1 || depth > 64)
    return false;
  int64_t rank = type.getRank();
  int64_t width = type.getDimSize(rank - 1);
  if (ShapedType::isDynamic(width) || width % 2 != 0)
    return false;
  int64_t half = width / 2;

  DenseElementsAttr constant;
  if (matchPattern(v, m_Constant(&constant))) {
    if (constant.isSplat())
      return true;
    if (!isa<FloatType>(type.getElementType()))
      return false;
    auto values = llvm::to_vector(constant.getValues<APFloat>());
    for (int64_t row = 0; row < (int64_t)values.size(); row += width)
      for (int64_t i = 0; i < half; ++i)
        if (!values[row + i].bitwiseIsEqual(values[row + half + i]))
          return false;
    return true;
  }
  Operation *def = v.getDefiningOp();
  if (!def)
    return false;
  if (auto concat = dyn_cast<ConcatOp>(def))
    return normalizeAxis(concat.getAxis(), rank) == rank - 1 &&
           concat.getInputs().size() == 2 &&
           concat.getInputs()[0] == concat.getInputs()[1];
  if (isPointwiseUnary(def))
    return hasDuplicatedHalves(def->getOperand(0), depth + 1);
  if (isBroadcastElementwise(def)) {
    for (Value operand : def->getOperands()) {
      auto operandType = dyn_cast<RankedTensorType>(operand.getType());
      if (!operandType)
        return false;
      if (operandType.getRank() == 0 ||
          operandType.getDimSize(operandType.getRank() - 1) == 1)
        continue; // constant along the last axis
      if (!hasDuplicatedHalves(operand, depth + 1))
        return false;
    }
    return true;
  }
  if (auto unsqueeze = dyn_cast<UnsqueezeOp>(def)) {
    for (int64_t a : unsqueeze.getAxes())
      if (normalizeAxis(a, rank) == rank - 1)
        return false;
    return hasDuplicatedHalves(unsqueeze.getData(), depth + 1);
  }
  if (auto transpose = dyn_cast<TransposeOp>(def)) {
    if (!transpose.getPerm() || transpose.getPerm()->back() != rank - 1)
      return false;
    return hasDuplicatedHalves(transpose.getData(), depth + 1);
  }
  return false;
}

//===----------------------------------------------------------------------===//
// The rotate-half chain
//===----------------------------------------------------------------------===//

struct RotaryMatch {
  Value x, cos, sin;
  int64_t half = 0;
  SmallVector<Operation *> ops;
};

/// `v` as one half of `x` along the last axis: Slice [0, h) (first) or
/// [h, D) (second), or result 0 / 1 of an even Split.
bool isHalfOf(Value v, Value x, int64_t width, bool second,
              SmallVectorImpl<Operation *> &ops) {
  if (!v.hasOneUse())
    return false;
  int64_t half = width / 2;
  if (auto slice = v.getDefiningOp<SliceOp>()) {
    auto starts = getConstantIntValues(slice.getStarts());
    auto ends = getConstantIntValues(slice.getEnds());
    auto axes = getConstantIntValues(slice.getAxes());
    auto steps = getConstantIntValues(slice.getSteps());
    if (slice.getData() != x || !starts || !ends || !axes || !steps ||
        starts->size() != 1 || ends->size() != 1 || axes->size() != 1 ||
        steps->size() != 1 || (*steps)[0] != 1 ||
        normalizeAxis((*axes)[0], 4) != 3)
      return false;
    auto clampIndex = [&](int64_t i) {
      return std::clamp<int64_t>(i < 0 ? i + width : i, 0, width);
    };
    int64_t start = clampIndex((*starts)[0]), end = clampIndex((*ends)[0]);
    if (start != (second ? half : 0) || end != (second ? width : half))
      return false;
    ops.push_back(slice);
    return true;
  }
  if (auto split = v.getDefiningOp<SplitOp>()) {
    if (split.getInput() != x || split.getNumResults() != 2 ||
        normalizeAxis(split.getAxis(), 4) != 3 ||
        cast<OpResult>(v).getResultNumber() != (second ? 1u : 0u))
      return false;
    if (std::optional<ArrayRef<int64_t>> sizes = split.getSplit()) {
      if (sizes->size() != 2 || (*sizes)[0] != half || (*sizes)[1] != half)
        return false;
    } else if (split.getNumOutputs() != 2) {
      return false;
    }
    ops.push_back(split);
    return true;
  }
  return false;
}

/// `rot` as Concat(Neg(second half of x), first half of x); sets `x`.
bool isRotateHalf(Value rot, Value &x, SmallVectorImpl<Operation *> &ops) {
  auto concat = rot.getDefiningOp<ConcatOp>();
  if (!concat || concat.getInputs().size() != 2 ||
      normalizeAxis(concat.getAxis(), 4) != 3)
    return false;
  auto neg = concat.getInputs()[0].getDefiningOp<NegOp>();
  if (!neg)
    return false;
  Operation *source = neg.getInput().getDefiningOp();
  if (!source || !isa<SliceOp, SplitOp>(source))
    return false;
  Value candidate = source->getOperand(0);
  auto type = dyn_cast<RankedTensorType>(candidate.getType());
  if (!type || type.getRank() != 4 || type.isDynamicDim(3) ||
      type.getDimSize(3) % 2 != 0)
    return false;
  int64_t width = type.getDimSize(3);
  SmallVector<Operation *> halves;
  if (!isHalfOf(neg.getInput(), candidate, width, /*second=*/true, halves) ||
      !isHalfOf(concat.getInputs()[1], candidate, width, /*second=*/false,
                halves))
    return false;
  x = candidate;
  ops.append({concat, neg});
  ops.append(halves);
  return true;
}

/// Matches `add` as x * cos + rotate_half(x) * sin. `structural` is set
/// when the rotate-half skeleton is there (so a failure is worth
/// reporting); `why` says what did not hold.
FailureOr<RotaryMatch> matchRotary(AddOp add, DimResolver &dims,
                                   bool &structural, std::string &why) {
  structural = false;
  RotaryMatch m;
  MulOp mulCos, mulSin;
  for (auto [a, b] : {std::make_pair(add.getLhs(), add.getRhs()),
                      std::make_pair(add.getRhs(), add.getLhs())}) {
    auto cosMul = a.getDefiningOp<MulOp>();
    auto sinMul = b.getDefiningOp<MulOp>();
    if (!cosMul || !sinMul)
      continue;
    for (Value operand : sinMul->getOperands()) {
      Value x;
      SmallVector<Operation *> rotOps;
      if (!isRotateHalf(operand, x, rotOps))
        continue;
      if (cosMul.getLhs() != x && cosMul.getRhs() != x)
        continue;
      m.x = x;
      m.sin = otherOperand(sinMul, operand);
      m.cos = otherOperand(cosMul, x);
      m.ops = rotOps;
      mulCos = cosMul;
      mulSin = sinMul;
      break;
    }
    if (m.x)
      break;
  }
  if (!m.x) {
    why = "not x * cos + Concat(-x[h:], x[:h]) * sin";
    return failure();
  }
  structural = true;
  m.ops.append({mulCos, mulSin, add});
  for (Operation *op : m.ops)
    if (op != add && !op->getResult(0).hasOneUse() && !isa<SplitOp>(op)) {
      why = "an intermediate value of the rotate-half chain has other users";
      return failure();
    }
  // x * cos is the one use of the rotate-half chain outside it.
  auto xType = cast<RankedTensorType>(m.x.getType());
  Type element = xType.getElementType();
  if (!isa<FloatType>(element)) {
    why = "x is not a float tensor";
    return failure();
  }
  int64_t width = xType.getDimSize(3);
  m.half = width / 2;
  for (Value cache : {m.cos, m.sin}) {
    auto type = dyn_cast<RankedTensorType>(cache.getType());
    if (!type || type.getRank() != 4 || type.getElementType() != element) {
      why = "cos/sin are not 4-D tensors of x's element type";
      return failure();
    }
    if (type.getDimSize(1) != 1) {
      why = "cos/sin are not shared across heads (dim 1 is not 1)";
      return failure();
    }
    if (type.getDimSize(3) != width) {
      why = "cos/sin are not as wide as the head dim";
      return failure();
    }
    // The caches may broadcast over x but never enlarge it.
    for (int64_t d : {0, 2}) {
      Sym c = dims.dim(cache, d);
      if (!c.isStatic(1) && !(c == dims.dim(m.x, d))) {
        why = d == 0 ? "cannot prove cos/sin's batch dim is x's or 1"
                     : "cannot prove cos/sin's sequence dim is x's or 1";
        return failure();
      }
    }
    if (!hasDuplicatedHalves(cache)) {
      why = "cannot prove cos/sin repeat their first half in their second "
            "(e.g. built by Concat(freqs, freqs)); the op reads the first "
            "half only";
      return failure();
    }
  }
  return m;
}

struct FuseRotaryEmbedding : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    DimResolver dims;
    bool structural;
    std::string why;
    FailureOr<RotaryMatch> m = matchRotary(add, dims, structural, why);
    if (failed(m))
      return rewriter.notifyMatchFailure(add, why);
    Location loc = fusedLocation(getContext(), m->ops);
    Value cos = halfCache(rewriter, m->cos, m->half, add);
    Value sin = halfCache(rewriter, m->sin, m->half, add);
    rewriter.setInsertionPoint(add);
    auto rotary = rewriter.create<RotaryEmbeddingOp>(
        loc, add.getType(), m->x, cos, sin, /*position_ids=*/Value(),
        /*interleaved=*/rewriter.getI64IntegerAttr(0),
        /*num_heads=*/IntegerAttr(),
        /*rotary_embedding_dim=*/rewriter.getI64IntegerAttr(0));
    rewriter.replaceOp(add, rotary.getResult());
    return success();
  }

  /// cache [b, 1, S, 2h] -> [b, S, h]: the Unsqueeze's operand (or a Squeeze)
  /// sliced to its first half, placed right after the cache so that every
  /// layer reading it shares one slice.
  static Value halfCache(PatternRewriter &rewriter, Value cache, int64_t half,
                         Operation *user) {
    Value cache3;
    if (auto unsqueeze = cache.getDefiningOp<UnsqueezeOp>();
        unsqueeze && rankOf(unsqueeze.getData()) == 3 &&
        unsqueeze.getAxes().size() == 1 &&
        normalizeAxis(unsqueeze.getAxes()[0], 4) == 1)
      cache3 = unsqueeze.getData();
    auto type4 = cast<RankedTensorType>(cache.getType());
    if (!cache3) {
      rewriter.setInsertionPointAfterValue(cache);
      auto type3 = RankedTensorType::get(
          {type4.getDimSize(0), type4.getDimSize(2), type4.getDimSize(3)},
          type4.getElementType());
      cache3 = rewriter.create<SqueezeOp>(cache.getLoc(), type3, cache,
                                          rewriter.getDenseI64ArrayAttr({1}));
    }
    for (Operation *other : cache3.getUsers()) {
      auto slice = dyn_cast<SliceOp>(other);
      if (slice && slice->getBlock() == user->getBlock() &&
          slice->isBeforeInBlock(user) && slice.getData() == cache3 &&
          isFirstHalfSlice(slice, half))
        return slice;
    }
    rewriter.setInsertionPointAfterValue(cache3);
    Location loc = cache3.getLoc();
    auto i64s = [&](int64_t v) -> Value {
      auto type = RankedTensorType::get({1}, rewriter.getI64Type());
      return rewriter.create<ConstantOp>(
          loc, type, DenseElementsAttr::get(type, ArrayRef<int64_t>{v}));
    };
    Value starts = i64s(0), ends = i64s(half), axes = i64s(2), steps = i64s(1);
    auto type3 = cast<RankedTensorType>(cache3.getType());
    auto halfType =
        RankedTensorType::get({type3.getDimSize(0), type3.getDimSize(1), half},
                              type3.getElementType());
    return rewriter.create<SliceOp>(loc, halfType, cache3, starts, ends, axes,
                                    steps);
  }

  static bool isFirstHalfSlice(SliceOp slice, int64_t half) {
    auto starts = getConstantIntValues(slice.getStarts());
    auto ends = getConstantIntValues(slice.getEnds());
    auto axes = getConstantIntValues(slice.getAxes());
    auto steps = getConstantIntValues(slice.getSteps());
    return starts && ends && axes && steps && *starts == ArrayRef<int64_t>{0} &&
           *ends == ArrayRef<int64_t>{half} && *axes == ArrayRef<int64_t>{2} &&
           *steps == ArrayRef<int64_t>{1};
  }
};

struct TesselFuseRotaryPass
    : tessel::impl::TesselFuseRotaryPassBase<TesselFuseRotaryPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseRotaryEmbedding>(&getContext());
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    annotateUnfused();
  }

  /// Rotate-half chains left unfused say why, for `tesselc --report`.
  void annotateUnfused() {
    MLIRContext *context = &getContext();
    getOperation().walk([&](AddOp add) {
      DimResolver dims;
      bool structural;
      std::string why;
      if (succeeded(matchRotary(add, dims, structural, why)) || !structural)
        return;
      add->setAttr("tessel.unfused", StringAttr::get(context, why));
      add->setAttr("tessel.unfused_kind",
                   StringAttr::get(context, "rotary_embedding"));
    });
  }
};

} // namespace
