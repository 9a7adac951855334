//===- FuseActivations.cpp - GELU and SiLU from their element-wise spelling
//===//
//
// The exporters spell GELU and SiLU out in element-wise ops:
//   erf GELU:  0.5 * x * (1 + Erf(x / sqrt(2)))          (bert, TorchScript)
//   tanh GELU: 0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) (gpt2)
//   SiLU:      x * Sigmoid(x)                            (llama MLP)
// This pass turns each into one tessel.gelu / tessel.silu. The products are
// matched as a tree of single-use multiplications in any association order,
// and every constant is checked (to a couple of ulps of the element type).
//
//===----------------------------------------------------------------------===//

#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/MathExtras.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELFUSEACTIVATIONSPASS
#include "passes/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::fusion;

namespace {

/// The leaves of the tree of multiplications rooted at `root`: an operand
/// defined by a single-use tessel.mul is expanded, anything else is a leaf.
/// `interior` receives every mul of the tree, `root` included.
void collectFactors(MulOp root, SmallVectorImpl<Value> &leaves,
                    SmallVectorImpl<Operation *> &interior) {
  interior.push_back(root);
  for (Value operand : root->getOperands()) {
    if (auto mul = singleUseDef<MulOp>(operand))
      collectFactors(mul, leaves, interior);
    else
      leaves.push_back(operand);
  }
}

/// True when `v` is x^3: Pow(x, 3) or a single-use product of three x.
bool isCube(Value v, Value x, SmallVectorImpl<Operation *> &ops) {
  if (auto pow = singleUseDef<PowOp>(v)) {
    std::optional<double> exponent = getScalarFloat(pow.getRhs());
    if (pow.getLhs() != x || !exponent || *exponent != 3.0)
      return false;
    ops.push_back(pow);
    return true;
  }
  auto mul = singleUseDef<MulOp>(v);
  if (!mul)
    return false;
  SmallVector<Value> leaves;
  SmallVector<Operation *> interior;
  collectFactors(mul, leaves, interior);
  if (leaves.size() != 3 ||
      !llvm::all_of(leaves, [&](Value l) { return l == x; }))
    return false;
  ops.append(interior);
  return true;
}

/// GELU: a product of exactly three factors {x, 0.5, 1 + f(x)} with f the
/// erf or tanh inner function of x.
struct FuseGelu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp root,
                                PatternRewriter &rewriter) const override {
    SmallVector<Value> leaves;
    SmallVector<Operation *> ops;
    collectFactors(root, leaves, ops);
    if (leaves.size() != 3)
      return rewriter.notifyMatchFailure(
          root, "not a product of exactly three factors (0.5, x, 1 + f(x))");

    // The (1 + erf/tanh) factor decides which leaf is x.
    AddOp onePlus;
    Value inner;
    for (Value leaf : leaves) {
      auto add = singleUseDef<AddOp>(leaf);
      if (!add)
        continue;
      for (Value operand : add->getOperands()) {
        std::optional<double> one = getScalarFloat(operand);
        Value other = otherOperand(add, operand);
        if (one && *one == 1.0 &&
            (singleUseDef<ErfOp>(other) || singleUseDef<TanhOp>(other))) {
          onePlus = add;
          inner = other;
        }
      }
    }
    if (!onePlus)
      return rewriter.notifyMatchFailure(
          root, "no single-use factor 1 + Erf(...) or 1 + Tanh(...)");
    ops.push_back(onePlus);
    ops.push_back(inner.getDefiningOp());

    Value x, half;
    for (Value leaf : leaves) {
      if (leaf == onePlus.getResult())
        continue;
      if (!half && getScalarFloat(leaf))
        half = leaf;
      else
        x = leaf;
    }
    if (!x || !half)
      return rewriter.notifyMatchFailure(root, "no constant factor beside x");
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    if (!xType || !isa<FloatType>(xType.getElementType()))
      return rewriter.notifyMatchFailure(root,
                                         "x is not a ranked float tensor");
    Type element = xType.getElementType();
    std::optional<double> halfValue =
        getScalarFloatUpToRank(half, xType.getRank());
    if (!halfValue || *halfValue != 0.5)
      return rewriter.notifyMatchFailure(
          root, "the constant factor is not a scalar 0.5");
    if (getScalarFloatUpToRank(otherOperand(onePlus, inner), xType.getRank()) !=
        1.0)
      return rewriter.notifyMatchFailure(
          root, "the constant 1 broadcasts x to a larger rank");

    StringRef approximate;
    Value arg = inner.getDefiningOp()->getOperand(0);
    if (isa<ErfOp>(inner.getDefiningOp())) {
      approximate = "none";
      if (failed(matchErfArgument(arg, x, element, xType.getRank(), ops)))
        return rewriter.notifyMatchFailure(
            root, "the Erf argument is not x / sqrt(2) or x * (1 / sqrt(2))");
    } else {
      approximate = "tanh";
      if (failed(matchTanhArgument(arg, x, element, xType.getRank(), ops)))
        return rewriter.notifyMatchFailure(
            root, "the Tanh argument is not sqrt(2/pi) * (x + 0.044715 * x^3)");
    }

    Location loc = fusedLocation(getContext(), ops);
    auto gelu = rewriter.create<GeluOp>(loc, root.getType(), x,
                                        rewriter.getStringAttr(approximate));
    rewriter.replaceOp(root, gelu.getResult());
    return success();
  }

  /// x / sqrt(2) or x * (1 / sqrt(2)), operands in either order for Mul.
  static LogicalResult matchErfArgument(Value arg, Value x, Type element,
                                        int64_t rank,
                                        SmallVectorImpl<Operation *> &ops) {
    if (auto div = singleUseDef<DivOp>(arg)) {
      std::optional<double> c = getScalarFloatUpToRank(div.getRhs(), rank);
      if (div.getLhs() != x || !c ||
          !isCloseTo(*c, llvm::numbers::sqrt2, element))
        return failure();
      ops.push_back(div);
      return success();
    }
    if (auto mul = singleUseDef<MulOp>(arg)) {
      if (mul.getLhs() != x && mul.getRhs() != x)
        return failure();
      std::optional<double> c =
          getScalarFloatUpToRank(otherOperand(mul, x), rank);
      if (!c || !isCloseTo(*c, 1.0 / llvm::numbers::sqrt2, element))
        return failure();
      ops.push_back(mul);
      return success();
    }
    return failure();
  }

  /// sqrt(2/pi) * (x + 0.044715 * x^3), every product and sum in either
  /// operand order.
  static LogicalResult matchTanhArgument(Value arg, Value x, Type element,
                                         int64_t rank,
                                         SmallVectorImpl<Operation *> &ops) {
    auto scaled = singleUseDef<MulOp>(arg);
    if (!scaled)
      return failure();
    const double sqrt2OverPi = std::sqrt(2.0 / llvm::numbers::pi);
    Value poly;
    for (Value operand : scaled->getOperands()) {
      std::optional<double> c = getScalarFloatUpToRank(operand, rank);
      if (c && isCloseTo(*c, sqrt2OverPi, element))
        poly = otherOperand(scaled, operand);
    }
    auto sum = singleUseDef<AddOp>(poly);
    if (!sum || (sum.getLhs() != x && sum.getRhs() != x))
      return failure();
    auto cubic = singleUseDef<MulOp>(otherOperand(sum, x));
    if (!cubic)
      return failure();
    for (Value operand : cubic->getOperands()) {
      std::optional<double> c = getScalarFloatUpToRank(operand, rank);
      if (!c || !isCloseTo(*c, 0.044715, element))
        continue;
      SmallVector<Operation *> cubeOps;
      if (!isCube(otherOperand(cubic, operand), x, cubeOps))
        continue;
      ops.append({scaled, sum, cubic});
      ops.append(cubeOps);
      return success();
    }
    return failure();
  }
};

/// SiLU: x * Sigmoid(x), either order, the sigmoid used only here.
struct FuseSilu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp root,
                                PatternRewriter &rewriter) const override {
    for (Value operand : root->getOperands()) {
      auto sigmoid = singleUseDef<SigmoidOp>(operand);
      if (!sigmoid || sigmoid.getInput() != otherOperand(root, operand))
        continue;
      Value x = sigmoid.getInput();
      Location loc = fusedLocation(getContext(), {sigmoid, root});
      auto silu = rewriter.create<SiluOp>(loc, root.getType(), x);
      rewriter.replaceOp(root, silu.getResult());
      return success();
    }
    return rewriter.notifyMatchFailure(
        root, "no operand is a single-use Sigmoid of the other operand");
  }
};

struct TesselFuseActivationsPass
    : tessel::impl::TesselFuseActivationsPassBase<TesselFuseActivationsPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseGelu, FuseSilu>(&getContext());
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
