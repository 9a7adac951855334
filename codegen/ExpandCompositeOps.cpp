//===- ExpandCompositeOps.cpp - the tessel-expand-composite-ops pass ------===//
//
// Rewrites the composite ops (attention, RMS normalisation, Gemm) into
// primitive tessel ops that convert-tessel-to-linalg lowers. Every
// new op gets its result type from the op's own type inference, so shapes
// stay as static as the inputs allow; dynamic batch and sequence dims are
// carried by ONNX Reshape's `0` (copy the input dim) and `-1` (infer).
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "dialect/ShapeUtils.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELEXPANDCOMPOSITEOPSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

/// A causal/window mask with at most this many elements is a constant; larger
/// or dynamic ones are computed with range and comparisons.
constexpr int64_t kMaxConstantPositionMask = 1 << 16;

/// Dim `i` of `v`, kDyn when unknown.
int64_t dimOf(Value v, int64_t i) {
  auto type = dyn_cast_or_null<RankedTensorType>(v ? v.getType() : Type());
  if (!type || i >= type.getRank())
    return kDyn;
  return type.getDimSize(i);
}

bool isRanked(Value v) { return isa<RankedTensorType>(v.getType()); }

Type elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// Creates tessel ops at one location with their result types inferred.
/// Failures are sticky: once one op cannot be built (its type inference
/// rejects the operands), every later call returns null and `error()` says
/// what went wrong, so a rewrite can build its whole chain and check once.
class TesselBuilder {
public:
  TesselBuilder(PatternRewriter &rewriter, Location loc)
      : rewriter(rewriter), loc(loc) {}

  bool failed() const { return !firstError.empty(); }
  StringRef error() const { return firstError; }

  /// Replaces `op` by `value`, or, when some op could not be built, erases
  /// everything built so far and reports why. Erasing keeps a failed
  /// expansion from counting as a change, so the greedy driver converges.
  LogicalResult replaceOrDiscard(Operation *op, Value value) {
    if (!failed()) {
      rewriter.replaceOp(op, value);
      return success();
    }
    for (Operation *built : llvm::reverse(created))
      rewriter.eraseOp(built);
    created.clear();
    return rewriter.notifyMatchFailure(op, firstError);
  }

  /// Creates `OpTy`. When `resultType` is given it replaces the (compatible)
  /// inferred type: the last op of an expansion keeps the composite op's
  /// declared type.
  template <typename OpTy>
  Operation *createOp(ValueRange operands, ArrayRef<NamedAttribute> attrs = {},
                      Type resultType = {}) {
    return createOp(OpTy::getOperationName(), operands, attrs, resultType);
  }
  template <typename OpTy>
  Value create(ValueRange operands, ArrayRef<NamedAttribute> attrs = {},
               Type resultType = {}) {
    Operation *op = createOp<OpTy>(operands, attrs, resultType);
    return op ? op->getResult(0) : Value();
  }

  NamedAttribute i64Attr(StringRef name, int64_t v) {
    return rewriter.getNamedAttr(name, rewriter.getI64IntegerAttr(v));
  }
  NamedAttribute i64ArrayAttr(StringRef name, ArrayRef<int64_t> v) {
    return rewriter.getNamedAttr(name, rewriter.getDenseI64ArrayAttr(v));
  }

  Value constant(DenseElementsAttr value) {
    auto op = rewriter.create<ConstantOp>(loc, value.getType(), value);
    created.push_back(op);
    return op;
  }
  /// A 1-D i64 tensor.
  Value i64s(ArrayRef<int64_t> values) {
    auto type =
        RankedTensorType::get({(int64_t)values.size()}, rewriter.getI64Type());
    return constant(DenseElementsAttr::get(type, values));
  }
  /// A 0-D tensor of `elementType` (float or integer) holding `value`.
  Value scalar(Type elementType, double value) {
    auto type = RankedTensorType::get({}, elementType);
    if (isa<FloatType>(elementType))
      return constant(DenseElementsAttr::get(
          type, rewriter.getFloatAttr(elementType, value)));
    return constant(DenseElementsAttr::get(
        type, rewriter.getIntegerAttr(elementType, (int64_t)value)));
  }

  Value reshape(Value x, ArrayRef<int64_t> shape, Type resultType = {}) {
    return create<ReshapeOp>({x, i64s(shape)}, {}, resultType);
  }
  Value reshape(Value x, Value shape, Type resultType = {}) {
    return create<ReshapeOp>({x, shape}, {}, resultType);
  }
  Value transpose(Value x, ArrayRef<int64_t> perm) {
    return create<TransposeOp>({x}, {i64ArrayAttr("perm", perm)});
  }
  Value unsqueeze(Value x, ArrayRef<int64_t> axes) {
    return create<UnsqueezeOp>({x}, {i64ArrayAttr("axes", axes)});
  }
  /// x[start:end:step] along `axis`.
  Value slice(Value x, int64_t axis, int64_t start, int64_t end,
              int64_t step = 1) {
    return create<SliceOp>(
        {x, i64s({start}), i64s({end}), i64s({axis}), i64s({step})});
  }
  Value concat(ValueRange inputs, int64_t axis, Type resultType = {}) {
    return create<ConcatOp>(inputs, {i64Attr("axis", axis)}, resultType);
  }
  Value add(Value a, Value b, Type resultType = {}) {
    return create<AddOp>({a, b}, {}, resultType);
  }
  Value sub(Value a, Value b) { return create<SubOp>({a, b}); }
  Value mul(Value a, Value b, Type resultType = {}) {
    return create<MulOp>({a, b}, {}, resultType);
  }
  Value div(Value a, Value b) { return create<DivOp>({a, b}); }
  Value cast(Value x, Type elementType) {
    if (x && elementTypeOf(x) == elementType)
      return x;
    return create<CastOp>(
        {x}, {rewriter.getNamedAttr("to", TypeAttr::get(elementType))});
  }

private:
  Operation *createOp(StringRef name, ValueRange operands,
                      ArrayRef<NamedAttribute> attrs, Type resultType);

  PatternRewriter &rewriter;
  Location loc;
  std::string firstError;
  SmallVector<Operation *> created;
};

Operation *TesselBuilder::createOp(StringRef name, ValueRange operands,
                                   ArrayRef<NamedAttribute> attrs,
                                   Type resultType) {
  if (failed() || llvm::is_contained(operands, Value()))
    return nullptr;
  MLIRContext *context = rewriter.getContext();
  OperationState state(loc, name);
  state.addOperands(operands);
  state.addAttributes(attrs);
  std::optional<RegisteredOperationName> registered =
      state.name.getRegisteredInfo();
  auto *infer =
      registered ? registered->getInterface<InferTypeOpInterface>() : nullptr;
  if (!infer) {
    firstError = ("internal: '" + name + "' does not infer its types").str();
    return nullptr;
  }
  // Defaults become explicit, as the importer writes them.
  registered->populateDefaultAttrs(state.attributes);
  SmallVector<Type> types;
  std::string why;
  {
    ScopedDiagnosticHandler capture(context, [&](Diagnostic &diag) {
      if (why.empty())
        why = diag.str();
      return success();
    });
    if (mlir::failed(infer->inferReturnTypes(
            context, loc, operands, state.attributes.getDictionary(context),
            /*properties=*/nullptr, /*regions=*/{}, types))) {
      firstError = ("cannot build '" + name + "': " + why).str();
      return nullptr;
    }
  }
  if (resultType) {
    if (types.size() != 1 ||
        !areCompatibleTensorTypes(TypeRange{resultType}, TypeRange{types[0]})) {
      std::string inferred;
      llvm::raw_string_ostream os(inferred);
      llvm::interleaveComma(types, os);
      std::string expected;
      llvm::raw_string_ostream es(expected);
      es << resultType;
      firstError = "expansion yields " + inferred + " where " + expected +
                   " is declared";
      return nullptr;
    }
    types[0] = resultType;
  }
  state.addTypes(types);
  Operation *op = rewriter.create(state);
  created.push_back(op);
  return op;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// [B, S, H*D] -> [B, H, S, D].
Value splitHeads(TesselBuilder &b, Value x, int64_t heads) {
  int64_t hidden = dimOf(x, 2);
  int64_t headDim = ShapedType::isDynamic(hidden) ? -1 : hidden / heads;
  return b.transpose(b.reshape(x, {0, 0, heads, headDim}), {0, 2, 1, 3});
}

/// [B, Hkv, S, D] -> [B, Hkv*n, S, D], each kv head repeated n times in a row
/// (q head h reads kv head h / n).
Value repeatKvHeads(TesselBuilder &b, Value x, int64_t n) {
  int64_t heads = dimOf(x, 1) * n;
  int64_t seq = dimOf(x, 2), headDim = dimOf(x, 3);
  Value expanded =
      b.create<ExpandOp>({b.unsqueeze(x, {2}), b.i64s({1, 1, n, 1, 1})});
  // `0` keeps the batch dim; seq/head dim are copied from x's type or its
  // run-time shape.
  if (!ShapedType::isDynamic(headDim))
    return b.reshape(expanded, {0, heads, -1, headDim});
  if (!ShapedType::isDynamic(seq))
    return b.reshape(expanded, {0, heads, seq, -1});
  Value shape = b.concat(
      {b.i64s({0, heads}),
       b.create<ShapeOp>({x}, {b.i64Attr("start", 2), b.i64Attr("end", 4)})},
      0);
  return b.reshape(expanded, shape);
}

/// Dim `i` of `x` as a 0-D i64 tensor (a constant when static).
Value dimScalar(TesselBuilder &b, Value x, int64_t i) {
  int64_t d = dimOf(x, i);
  if (!ShapedType::isDynamic(d))
    return b.scalar(IntegerType::get(x.getContext(), 64), d);
  Value shape =
      b.create<ShapeOp>({x}, {b.i64Attr("start", i), b.i64Attr("end", i + 1)});
  return b.create<SqueezeOp>({shape}, {b.i64ArrayAttr("axes", {0})});
}

/// Which (query i, key j) pairs `is_causal` and the window allow. With the
/// queries aligned to the end of the keys, i' = i + Skv - Sq: causal allows
/// j <= i'; the window allows i' - left <= j <= i' + right (-1: unbounded).
struct PositionLimits {
  bool causal = false;
  int64_t left = -1, right = -1;

  bool any() const { return causal || left >= 0 || right >= 0; }
  bool allows(int64_t i, int64_t j) const {
    return (!causal || j <= i) && (left < 0 || j >= i - left) &&
           (right < 0 || j <= i + right);
  }
};

/// The [Sq, Skv] i1 mask of the pairs `limits` allow.
Value positionMask(TesselBuilder &b, Value q, Value k, PositionLimits limits) {
  int64_t sq = dimOf(q, 2), skv = dimOf(k, 2);
  MLIRContext *context = q.getContext();
  if (!ShapedType::isDynamic(sq) && !ShapedType::isDynamic(skv) &&
      sq * skv <= kMaxConstantPositionMask) {
    SmallVector<bool> allowed;
    allowed.reserve(sq * skv);
    for (int64_t i = 0; i < sq; ++i)
      for (int64_t j = 0; j < skv; ++j)
        allowed.push_back(limits.allows(i + skv - sq, j));
    auto type = RankedTensorType::get({sq, skv}, IntegerType::get(context, 1));
    return b.constant(DenseElementsAttr::get(type, allowed));
  }
  Type i64 = IntegerType::get(context, 64);
  Value zero = b.scalar(i64, 0), one = b.scalar(i64, 1);
  Value sqV = dimScalar(b, q, 2), skvV = dimScalar(b, k, 2);
  Value rows = b.create<RangeOp>({zero, sqV, one});
  Value cols = b.create<RangeOp>({zero, skvV, one});
  Value last = b.add(b.unsqueeze(rows, {1}), b.sub(skvV, sqV)); // [Sq, 1]
  Value mask;
  auto require = [&](Value condition) {
    mask = mask ? b.create<AndOp>({mask, condition}) : condition;
  };
  if (limits.causal)
    require(b.create<LessOrEqualOp>({cols, last}));
  if (limits.left >= 0)
    require(b.create<GreaterOrEqualOp>(
        {cols, b.sub(last, b.scalar(i64, limits.left))}));
  if (limits.right >= 0)
    require(b.create<LessOrEqualOp>(
        {cols, b.add(last, b.scalar(i64, limits.right))}));
  return mask;
}

/// ONNX lets the mask's last dim be shorter than the keys: the rest is
/// masked out (false / -inf).
Value padMaskToKeys(TesselBuilder &b, Value mask, int64_t skv) {
  int64_t rank = cast<RankedTensorType>(mask.getType()).getRank();
  int64_t last = dimOf(mask, rank - 1);
  if (ShapedType::isDynamic(last) || ShapedType::isDynamic(skv) || last >= skv)
    return mask;
  SmallVector<int64_t> pads(2 * rank, 0);
  pads.back() = skv - last;
  Type element = elementTypeOf(mask);
  Value fill =
      element.isInteger(1)
          ? b.scalar(element, 0)
          : b.scalar(element, -std::numeric_limits<double>::infinity());
  return b.create<PadOp>({mask, b.i64s(pads), fill});
}

struct ExpandAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value q = op.getQ(), k = op.getK(), v = op.getV(), mask = op.getMask();
    if (!isRanked(q) || !isRanked(k) || !isRanked(v))
      return rewriter.notifyMatchFailure(op, "q, k and v must be ranked");
    if (mask && !isRanked(mask))
      return rewriter.notifyMatchFailure(op, "the mask must be ranked");
    int64_t rank = cast<RankedTensorType>(q.getType()).getRank();
    if (rank != 3 && rank != 4)
      return rewriter.notifyMatchFailure(op, "q must be 3-D or 4-D");
    Type element = elementTypeOf(q);
    if (mask && !elementTypeOf(mask).isInteger(1) &&
        !isa<FloatType>(elementTypeOf(mask)))
      return rewriter.notifyMatchFailure(op, "the mask must be bool or float");

    int64_t qHeads, kvHeads;
    if (rank == 3) {
      if (!op.getQNumHeads() || !op.getKvNumHeads())
        return rewriter.notifyMatchFailure(
            op, "3-D q/k/v need q_num_heads and kv_num_heads");
      qHeads = *op.getQNumHeads();
      kvHeads = *op.getKvNumHeads();
    } else {
      qHeads = dimOf(q, 1);
      kvHeads = dimOf(k, 1);
      if (ShapedType::isDynamic(qHeads) || ShapedType::isDynamic(kvHeads))
        return rewriter.notifyMatchFailure(
            op, "q and k head counts must be static to tell MHA from GQA");
      int64_t vHeads = dimOf(v, 1);
      if (!ShapedType::isDynamic(vHeads) && vHeads != kvHeads)
        return rewriter.notifyMatchFailure(op, "k and v head counts differ");
    }
    if (kvHeads <= 0 || qHeads % kvHeads != 0)
      return rewriter.notifyMatchFailure(
          op, "q heads must be a multiple of kv heads");

    double scale;
    if (auto given = op.getScale()) {
      scale = given->convertToDouble();
    } else {
      int64_t headDim = rank == 4 ? dimOf(q, 3) : dimOf(q, 2);
      if (!ShapedType::isDynamic(headDim) && rank == 3)
        headDim /= qHeads;
      if (ShapedType::isDynamic(headDim) || headDim <= 0)
        return rewriter.notifyMatchFailure(
            op, "the head dim must be static for the default scale");
      scale = 1.0 / std::sqrt((double)headDim);
    }

    TesselBuilder b(rewriter, op.getLoc());
    if (rank == 3) {
      q = splitHeads(b, q, qHeads);
      k = splitHeads(b, k, kvHeads);
      v = splitHeads(b, v, kvHeads);
    }
    // The masks need k's sequence length: take it before the repeat.
    Value kHeads = k;
    if (qHeads != kvHeads) {
      k = repeatKvHeads(b, k, qHeads / kvHeads);
      v = repeatKvHeads(b, v, qHeads / kvHeads);
    }

    Value scores =
        b.create<MatMulOp>({q, b.transpose(k, {0, 1, 3, 2})}); // [B,H,Sq,Skv]
    if (scale != 1.0)
      scores = b.mul(scores, b.scalar(element, scale));
    // Softcap goes before the masks so that masked scores stay -inf.
    double softcap = op.getSoftcap().convertToDouble();
    if (softcap > 0) {
      Value cap = b.scalar(element, softcap);
      scores = b.mul(b.create<TanhOp>({b.div(scores, cap)}), cap);
    }
    Value minusInf =
        b.scalar(element, -std::numeric_limits<double>::infinity());
    if (mask) {
      mask = padMaskToKeys(b, mask, dimOf(kHeads, 2));
      if (elementTypeOf(mask).isInteger(1))
        scores = b.create<WhereOp>({mask, scores, minusInf});
      else
        scores = b.add(scores, b.cast(mask, element));
    }
    PositionLimits limits{op.getIsCausal() != 0, (int64_t)op.getWindowLeft(),
                          (int64_t)op.getWindowRight()};
    if (limits.any())
      scores = b.create<WhereOp>(
          {positionMask(b, q, kHeads, limits), scores, minusInf});
    // "uniform": masked scores become the lowest float, as a huge finite
    // fill makes them; a row of only those has equal weights.
    if (op.getFullyMaskedRows() == "uniform") {
      auto floatType = cast<FloatType>(element);
      double lowest = APFloat::getLargest(floatType.getFloatSemantics(),
                                          /*Negative=*/true)
                          .convertToDouble();
      scores = b.create<MaxOp>({scores, b.scalar(element, lowest)});
    }
    Value probs = b.create<SoftmaxOp>({scores}, {b.i64Attr("axis", -1)});
    // A row whose every key is masked is NaN (0/0); "zero" makes it 0, as
    // where(is_nan(p), 0, p) in the exported graph does.
    if (op.getFullyMaskedRows() == "zero")
      probs = b.create<WhereOp>(
          {b.create<IsNaNOp>({probs}), b.scalar(element, 0.0), probs});
    Value y;
    if (rank == 4) {
      y = b.create<MatMulOp>({probs, v}, {}, op.getType());
    } else {
      Value heads = b.transpose(b.create<MatMulOp>({probs, v}), {0, 2, 1, 3});
      y = b.reshape(heads, {0, 0, -1}, op.getType());
    }
    return b.replaceOrDiscard(op, y);
  }
};

//===----------------------------------------------------------------------===//
// RMS normalisation
//===----------------------------------------------------------------------===//

struct ExpandRMSNormalization : OpRewritePattern<RMSNormalizationOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RMSNormalizationOp op,
                                PatternRewriter &rewriter) const override {
    Value x = op.getX();
    auto type = dyn_cast<RankedTensorType>(x.getType());
    if (!type)
      return rewriter.notifyMatchFailure(op, "x must be ranked");
    auto axis = normalizeAxis(op.getAxis(), type.getRank());
    if (!axis)
      return rewriter.notifyMatchFailure(op, "axis is out of range");
    Type element = type.getElementType();
    // stash_type 1: the statistics are computed in f32.
    Type compute = element;
    if (op.getStashType() == 1 && (element.isF16() || element.isBF16()))
      compute = rewriter.getF32Type();

    TesselBuilder b(rewriter, op.getLoc());
    Value xc = b.cast(x, compute);
    SmallVector<int64_t> axes;
    for (int64_t i = *axis; i < type.getRank(); ++i)
      axes.push_back(i);
    Value meanSquare =
        b.create<ReduceMeanOp>({b.mul(xc, xc)}, {b.i64ArrayAttr("axes", axes),
                                                 b.i64Attr("keepdims", 1)});
    Value rms = b.create<SqrtOp>({b.add(
        meanSquare, b.scalar(compute, op.getEpsilon().convertToDouble()))});
    Value normalized = b.mul(xc, b.create<ReciprocalOp>({rms}));
    Value y = b.mul(b.cast(normalized, element), op.getScale(), op.getType());
    return b.replaceOrDiscard(op, y);
  }
};

//===----------------------------------------------------------------------===//
// Gemm
//===----------------------------------------------------------------------===//

struct ExpandGemm : OpRewritePattern<GemmOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GemmOp op,
                                PatternRewriter &rewriter) const override {
    Value a = op.getA(), b = op.getB(), c = op.getC();
    if (!isRanked(a) || !isRanked(b))
      return rewriter.notifyMatchFailure(op, "A and B must be ranked");
    Type element = elementTypeOf(a);
    double alpha = op.getAlpha().convertToDouble();
    double beta = op.getBeta().convertToDouble();
    if (beta == 0.0)
      c = Value();
    bool needsScaling = alpha != 1.0 || (c && beta != 1.0);
    if (needsScaling && !isa<FloatType>(element))
      return rewriter.notifyMatchFailure(
          op, "alpha/beta other than 1 need a float element type");

    TesselBuilder builder(rewriter, op.getLoc());
    if (op.getTransA())
      a = builder.transpose(a, {1, 0});
    if (op.getTransB())
      b = builder.transpose(b, {1, 0});
    Type resultType = op.getType();
    bool last = alpha == 1.0 && !c;
    Value y = builder.create<MatMulOp>({a, b}, {}, last ? resultType : Type());
    if (alpha != 1.0)
      y = builder.mul(y, builder.scalar(element, alpha),
                      c ? Type() : resultType);
    if (c) {
      if (beta != 1.0)
        c = builder.mul(c, builder.scalar(element, beta));
      y = builder.add(y, c, resultType);
    }
    return builder.replaceOrDiscard(op, y);
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct TesselExpandCompositeOpsPass
    : tessel::impl::TesselExpandCompositeOpsPassBase<
          TesselExpandCompositeOpsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandAttention, ExpandRMSNormalization,
                 ExpandGemm>(&getContext());
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
