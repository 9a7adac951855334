//===- FuseNorms.cpp - RMSNorm and LayerNorm from their spelled-out form --===//
//
// Llama exports spell RMSNorm as
//   xf = Cast(x, f32)                       (optional)
//   r  = Sqrt(ReduceMean(Pow(xf, 2), [-1], keepdims) + eps)
//   n  = xf * Reciprocal(r) | xf * (1 / r) | xf / r
//   y  = weight * Cast(n, T)                (cast optional, weight optional)
// and some models spell LayerNorm the same way with a centred x:
//   d = x - ReduceMean(x); n = d / Sqrt(ReduceMean(d^2) + eps); y = n * w + b
// Both become one tessel.rms_normalization / tessel.layer_normalization.
//
// The patterns are rooted at the normalising multiplication/division `n`
// and absorb the single-use consumers after it (cast back, scale, bias), so
// the result does not depend on the order the driver visits ops in.
//
//===----------------------------------------------------------------------===//

#include "dialect/ShapeUtils.h"
#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELFUSENORMSPASS
#include "passes/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::fusion;

namespace {

/// `n = numerator / Sqrt(ReduceMean(square) + eps)` in one of its spellings.
struct Normalization {
  Value numerator;
  /// The operand of the squaring (Pow(v, 2) or v * v).
  Value squared;
  /// The normalised dims [axis, rank) of the statistics.
  int64_t axis = 0;
  double epsilon = 0;
  SmallVector<Operation *> ops;
};

/// The first axis of a trailing, contiguous set of reduced axes with
/// keepdims, e.g. [-1] or [2, 3] of a rank-4 tensor.
std::optional<int64_t> trailingReducedAxis(ReduceMeanOp mean) {
  int64_t rank = rankOf(mean.getData());
  if (rank < 1 || mean.getKeepdims() != 1)
    return std::nullopt;
  SmallVector<int64_t> axes;
  if (std::optional<ArrayRef<int64_t>> attr = mean.getAxes()) {
    for (int64_t a : *attr) {
      std::optional<int64_t> axis = normalizeAxis(a, rank);
      if (!axis)
        return std::nullopt;
      axes.push_back(*axis);
    }
  }
  if (axes.empty()) {
    if (mean.getNoopWithEmptyAxes() != 0)
      return std::nullopt;
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  llvm::sort(axes);
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] != rank - (int64_t)axes.size() + (int64_t)i)
      return std::nullopt;
  return axes.front();
}

/// Matches `n` as numerator / sqrt(mean(square) + eps); the message says why
/// not.
FailureOr<Normalization> matchNormalization(Operation *n, std::string &why) {
  Normalization result;
  Value root;
  if (auto div = dyn_cast<DivOp>(n)) {
    result.numerator = div.getLhs();
    root = div.getRhs();
  } else if (auto mul = dyn_cast<MulOp>(n)) {
    for (Value operand : mul->getOperands()) {
      if (auto recip = singleUseDef<ReciprocalOp>(operand)) {
        result.ops.push_back(recip);
        root = recip.getInput();
      } else if (auto inv = singleUseDef<DivOp>(operand)) {
        std::optional<double> one = getScalarFloat(inv.getLhs());
        if (!one || *one != 1.0 || rankOf(inv.getLhs()) > rankOf(inv.getRhs()))
          continue;
        result.ops.push_back(inv);
        root = inv.getRhs();
      } else {
        continue;
      }
      result.numerator = otherOperand(mul, operand);
      break;
    }
  }
  if (!root) {
    why = "not x / r, x * Reciprocal(r) or x * (1 / r)";
    return failure();
  }
  result.ops.push_back(n);

  auto sqrt = singleUseDef<SqrtOp>(root);
  if (!sqrt) {
    why = "the divisor is not a single-use Sqrt";
    return failure();
  }
  auto add = singleUseDef<AddOp>(sqrt.getInput());
  if (!add) {
    why = "the Sqrt operand is not a single-use Add";
    return failure();
  }
  ReduceMeanOp mean;
  for (Value operand : add->getOperands()) {
    auto candidate = singleUseDef<ReduceMeanOp>(operand);
    Value eps = otherOperand(add, operand);
    std::optional<double> value = getScalarFloatUpToRank(eps, rankOf(operand));
    if (candidate && value && *value >= 0) {
      mean = candidate;
      result.epsilon = *value;
    }
  }
  if (!mean) {
    why = "the Sqrt operand is not ReduceMean(...) + a scalar epsilon >= 0";
    return failure();
  }
  std::optional<int64_t> axis = trailingReducedAxis(mean);
  if (!axis) {
    why = "the ReduceMean does not keep dims or does not reduce trailing "
          "axes";
    return failure();
  }
  result.axis = *axis;

  Value square = mean.getData();
  if (auto pow = singleUseDef<PowOp>(square)) {
    std::optional<double> exponent = getScalarFloat(pow.getRhs());
    if (!exponent || *exponent != 2.0 ||
        rankOf(pow.getRhs()) > rankOf(pow.getLhs())) {
      why = "the Pow exponent is not a scalar 2";
      return failure();
    }
    result.squared = pow.getLhs();
    result.ops.push_back(pow);
  } else if (auto mul = singleUseDef<MulOp>(square);
             mul && mul.getLhs() == mul.getRhs()) {
    result.squared = mul.getLhs();
    result.ops.push_back(mul);
  } else {
    why = "the ReduceMean operand is not Pow(v, 2) or v * v";
    return failure();
  }
  result.ops.append({sqrt, add, mean});
  return result;
}

/// The statistics' input: `computed` = Cast(x, f32) (then `x` is the
/// pre-cast value) or x itself, which must then be f32.
struct StatsInput {
  Value x;
  Operation *cast = nullptr;
};

FailureOr<StatsInput> matchStatsInput(Value computed, std::string &why) {
  StatsInput input{computed};
  if (auto cast = computed.getDefiningOp<CastOp>()) {
    auto from = dyn_cast<RankedTensorType>(cast.getInput().getType());
    if (from && isa<FloatType>(from.getElementType()) && cast.getTo().isF32()) {
      input.x = cast.getInput();
      input.cast = cast;
    }
  }
  auto type = dyn_cast<RankedTensorType>(computed.getType());
  if (!type || !type.getElementType().isF32()) {
    why = "the statistics are not computed in f32";
    return failure();
  }
  return input;
}

/// True when `param` (a scale or bias) broadcasts onto the dims [axis, rank)
/// of `xType` without changing x's shape: rank at most rank - axis, every
/// dim 1 or equal to x's static dim.
bool broadcastsOntoNormalizedDims(Value param, RankedTensorType xType,
                                  int64_t axis) {
  auto type = dyn_cast<RankedTensorType>(param.getType());
  if (!type || type.getElementType() != xType.getElementType() ||
      type.getRank() > xType.getRank() - axis)
    return false;
  int64_t offset = xType.getRank() - type.getRank();
  for (int64_t i = 0; i < type.getRank(); ++i) {
    int64_t p = type.getDimSize(i), d = xType.getDimSize(i + offset);
    if (p != 1 && (ShapedType::isDynamic(p) || p != d))
      return false;
  }
  return true;
}

/// What follows `n`: an optional cast back to x's element type, then an
/// optional Mul by a scale and (LayerNorm) Add of a bias, each the only user
/// of the value before it.
struct Epilogue {
  Value scale, bias;
  /// The last op of the chain, whose result the fused op replaces.
  Operation *last = nullptr;
  SmallVector<Operation *> ops;
};

FailureOr<Epilogue> matchEpilogue(Operation *n, const StatsInput &input,
                                  int64_t axis, bool withBias,
                                  std::string &why) {
  Epilogue result;
  result.last = n;
  auto xType = cast<RankedTensorType>(input.x.getType());
  Type element = xType.getElementType();
  bool statsInXType = element.isF32();
  auto absorbCastBack = [&]() {
    auto cast = dyn_cast_or_null<CastOp>(singleUser(result.last->getResult(0)));
    if (!cast || cast.getTo() != element)
      return false;
    result.ops.push_back(cast);
    result.last = cast;
    return true;
  };
  bool castBack = absorbCastBack();
  if (!castBack && !statsInXType) {
    why = "the f32 result is not cast back to the input's element type";
    return failure();
  }
  // Casts to f32 of an f32 value are identities: also absorb one after
  // the scale (LayerNorm spellings apply the affine part in f32).
  auto absorbIdentityCast = [&]() {
    if (statsInXType)
      absorbCastBack();
  };

  if (auto mul =
          dyn_cast_or_null<MulOp>(singleUser(result.last->getResult(0)))) {
    Value scale = otherOperand(mul, result.last->getResult(0));
    if (scale != result.last->getResult(0) &&
        broadcastsOntoNormalizedDims(scale, xType, axis)) {
      result.scale = scale;
      result.ops.push_back(mul);
      result.last = mul;
      absorbIdentityCast();
    }
  }
  if (withBias) {
    if (auto add =
            dyn_cast_or_null<AddOp>(singleUser(result.last->getResult(0)))) {
      Value bias = otherOperand(add, result.last->getResult(0));
      if (bias != result.last->getResult(0) &&
          broadcastsOntoNormalizedDims(bias, xType, axis)) {
        result.bias = bias;
        result.ops.push_back(add);
        result.last = add;
        absorbIdentityCast();
      }
    }
  }
  return result;
}

/// A scale of ones over the normalised dims (or [1] when they are dynamic),
/// for norms the graph does not scale.
Value onesScale(PatternRewriter &rewriter, Location loc, RankedTensorType xType,
                int64_t axis) {
  SmallVector<int64_t> shape(xType.getShape().drop_front(axis));
  if (llvm::any_of(shape, ShapedType::isDynamic))
    shape.assign({1});
  auto type = RankedTensorType::get(shape, xType.getElementType());
  auto one = rewriter.getFloatAttr(xType.getElementType(), 1.0);
  return rewriter.create<ConstantOp>(loc, type,
                                     DenseElementsAttr::get(type, one));
}

/// Everything common to both norms: the statistics, their input and what
/// follows.
struct NormMatch {
  Normalization norm;
  StatsInput input;
  Epilogue epilogue;
  RankedTensorType xType;
};

LogicalResult finishMatch(Operation *n, NormMatch &match, Value statsInput,
                          bool withBias, PatternRewriter &rewriter) {
  std::string why;
  FailureOr<StatsInput> input = matchStatsInput(statsInput, why);
  if (failed(input))
    return rewriter.notifyMatchFailure(n, why);
  match.input = *input;
  match.xType = dyn_cast<RankedTensorType>(input->x.getType());
  if (!match.xType)
    return rewriter.notifyMatchFailure(n, "x is unranked");
  if (match.xType.getRank() != rankOf(statsInput))
    return rewriter.notifyMatchFailure(n,
                                       "x and the statistics differ in rank");
  FailureOr<Epilogue> epilogue =
      matchEpilogue(n, *input, match.norm.axis, withBias, why);
  if (failed(epilogue))
    return rewriter.notifyMatchFailure(n, why);
  match.epilogue = *epilogue;
  return success();
}

template <typename OpTy> struct FuseRMSNormalization : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy n,
                                PatternRewriter &rewriter) const override {
    std::string why;
    FailureOr<Normalization> norm = matchNormalization(n, why);
    if (failed(norm))
      return rewriter.notifyMatchFailure(n, why);
    if (norm->squared != norm->numerator)
      return rewriter.notifyMatchFailure(
          n, "the squared value is not the normalised value");
    NormMatch match{*norm};
    if (failed(finishMatch(n, match, norm->numerator, /*withBias=*/false,
                           rewriter)))
      return failure();

    SmallVector<Operation *> ops(match.norm.ops);
    ops.append(match.epilogue.ops);
    if (match.input.cast)
      ops.push_back(match.input.cast);
    Location loc = fusedLocation(rewriter.getContext(), ops);
    Value scale = match.epilogue.scale;
    if (!scale)
      scale = onesScale(rewriter, loc, match.xType, match.norm.axis);
    Operation *last = match.epilogue.last;
    auto fused = rewriter.create<RMSNormalizationOp>(
        loc, last->getResult(0).getType(), match.input.x, scale,
        rewriter.getI64IntegerAttr(match.norm.axis - match.xType.getRank()),
        rewriter.getF32FloatAttr(match.norm.epsilon),
        /*stash_type=*/rewriter.getI64IntegerAttr(1));
    rewriter.replaceOp(last, fused.getResult());
    return success();
  }
};

/// Tried before the RMSNorm pattern (higher benefit): a centred x makes
/// it a LayerNorm; RMSNorm of x - mean is what is left when this fails.
template <typename OpTy>
struct FuseLayerNormalization : OpRewritePattern<OpTy> {
  FuseLayerNormalization(MLIRContext *context)
      : OpRewritePattern<OpTy>(context, /*benefit=*/2) {}

  LogicalResult matchAndRewrite(OpTy n,
                                PatternRewriter &rewriter) const override {
    std::string why;
    FailureOr<Normalization> norm = matchNormalization(n, why);
    if (failed(norm))
      return rewriter.notifyMatchFailure(n, why);
    auto centred = norm->numerator.getDefiningOp<SubOp>();
    if (!centred || norm->squared != norm->numerator)
      return rewriter.notifyMatchFailure(
          n, "the normalised value is not the squared x - mean");
    // d = x - mean is read by the square and the normalisation only.
    for (Operation *user : centred->getUsers())
      if (!llvm::is_contained(norm->ops, user))
        return rewriter.notifyMatchFailure(n, "x - mean has other users");
    auto mean = singleUseDef<ReduceMeanOp>(centred.getRhs());
    if (!mean || mean.getData() != centred.getLhs())
      return rewriter.notifyMatchFailure(
          n, "the subtrahend is not a single-use ReduceMean of x");
    std::optional<int64_t> axis = trailingReducedAxis(mean);
    if (!axis || *axis != norm->axis)
      return rewriter.notifyMatchFailure(
          n, "mean and variance reduce different axes");
    norm->ops.append({centred, mean});
    NormMatch match{*norm};
    if (failed(finishMatch(n, match, centred.getLhs(), /*withBias=*/true,
                           rewriter)))
      return failure();

    SmallVector<Operation *> ops(match.norm.ops);
    ops.append(match.epilogue.ops);
    if (match.input.cast)
      ops.push_back(match.input.cast);
    Location loc = fusedLocation(rewriter.getContext(), ops);
    Value scale = match.epilogue.scale;
    if (!scale)
      scale = onesScale(rewriter, loc, match.xType, match.norm.axis);
    Operation *last = match.epilogue.last;
    auto fused = rewriter.create<LayerNormalizationOp>(
        loc, last->getResult(0).getType(), match.input.x, scale,
        match.epilogue.bias,
        rewriter.getI64IntegerAttr(match.norm.axis - match.xType.getRank()),
        rewriter.getF32FloatAttr(match.norm.epsilon),
        /*stash_type=*/rewriter.getI64IntegerAttr(1));
    rewriter.replaceOp(last, fused.getResult());
    return success();
  }
};

struct TesselFuseNormsPass
    : tessel::impl::TesselFuseNormsPassBase<TesselFuseNormsPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseRMSNormalization<MulOp>, FuseRMSNormalization<DivOp>,
                 FuseLayerNormalization<MulOp>, FuseLayerNormalization<DivOp>>(
        &getContext());
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
