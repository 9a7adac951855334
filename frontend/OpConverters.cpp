//===- OpConverters.cpp - per-op ONNX node converters ---------------------===//
//
// One table keyed by (op type, since-version). Each converter checks the
// node's inputs and attributes, normalises the opset's spelling into the
// tessel op's (axes given as inputs become attributes, absent optional
// inputs are materialised) and creates the op.
//
//===----------------------------------------------------------------------===//

#include "frontend/ImportContext.h"
#include "frontend/OnnxImporter.h"

#include "dialect/ShapeUtils.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::onnx_import;

namespace {

/// Reads the int attributes in `names` that are present into `attrs`.
LogicalResult copyIntAttributes(NodeContext &ctx, ArrayRef<StringRef> names,
                                SmallVectorImpl<NamedAttribute> &attrs) {
  for (StringRef name : names) {
    if (!ctx.hasAttribute(name))
      continue;
    int64_t v = 0;
    if (failed(ctx.readInt(name, v)))
      return failure();
    attrs.push_back(ctx.i64Attr(name, v));
  }
  return success();
}

LogicalResult finish(NodeContext &ctx, FailureOr<Value> v) {
  if (failed(v))
    return failure();
  ctx.setResults(*v);
  return success();
}

LogicalResult finish(NodeContext &ctx, FailureOr<Operation *> op) {
  if (failed(op))
    return failure();
  ctx.setResults((*op)->getResults());
  return success();
}

/// Ops that take N inputs, int attributes `intAttrs` and nothing else.
template <typename OpTy, unsigned N>
LogicalResult convertSimple(NodeContext &ctx,
                            ArrayRef<StringRef> intAttrs = {}) {
  if (failed(ctx.expectInputs(N, N)) || failed(ctx.expectAttributes(intAttrs)))
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (failed(copyIntAttributes(ctx, intAttrs, attrs)))
    return failure();
  SmallVector<Value> operands;
  for (unsigned i = 0; i < N; ++i)
    operands.push_back(ctx.input(i));
  if (llvm::is_contained(operands, Value()))
    return ctx.error() << "an input is given as '' but is required";
  return finish(ctx, ctx.createValue<OpTy>(operands, attrs));
}

template <typename OpTy>
LogicalResult convertUnary(NodeContext &ctx) {
  return convertSimple<OpTy, 1>(ctx);
}

template <typename OpTy>
LogicalResult convertBinary(NodeContext &ctx) {
  return convertSimple<OpTy, 2>(ctx);
}

template <typename OpTy>
LogicalResult convertTernary(NodeContext &ctx) {
  return convertSimple<OpTy, 3>(ctx);
}

/// Min/Max take 1 to 2147483647 inputs: a chain of binary ops.
template <typename OpTy>
LogicalResult convertVariadic(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, ctx.node.input_size())) ||
      failed(ctx.expectAttributes({})))
    return failure();
  Value acc = ctx.input(0);
  for (int i = 1; i < ctx.node.input_size(); ++i) {
    auto next = ctx.createValue<OpTy>({acc, ctx.input(i)});
    if (failed(next))
      return failure();
    acc = *next;
  }
  if (ctx.node.input_size() == 1)
    return finish(ctx, ctx.createValue<IdentityOp>({acc}));
  ctx.setResults(acc);
  return success();
}

LogicalResult convertGelu(NodeContext &ctx) {
  std::string approximate = "none";
  if (failed(ctx.expectInputs(1, 1)) ||
      failed(ctx.expectAttributes({"approximate"})) ||
      failed(ctx.readString("approximate", approximate)))
    return failure();
  return finish(ctx, ctx.createValue<GeluOp>(
                         {ctx.input(0)},
                         {ctx.strAttr("approximate", approximate)}));
}

LogicalResult convertIsInf(NodeContext &ctx) {
  return convertSimple<IsInfOp, 1>(ctx, {"detect_negative", "detect_positive"});
}

/// The lowest or highest value of `type`, as a 0-D constant.
Value boundConstant(NodeContext &ctx, Type type, bool highest) {
  auto tensorType = RankedTensorType::get({}, type);
  if (auto floatType = dyn_cast<FloatType>(type)) {
    APFloat inf = APFloat::getInf(floatType.getFloatSemantics(), !highest);
    return ctx.constant(DenseElementsAttr::get(tensorType, inf));
  }
  auto intType = cast<IntegerType>(type);
  unsigned width = intType.getWidth();
  APInt v = intType.isUnsigned()
                ? (highest ? APInt::getMaxValue(width) : APInt::getMinValue(width))
                : (highest ? APInt::getSignedMaxValue(width)
                           : APInt::getSignedMinValue(width));
  return ctx.constant(DenseElementsAttr::get(tensorType, v));
}

LogicalResult convertClip(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 3)) || failed(ctx.expectAttributes({})))
    return failure();
  Value x = ctx.input(0);
  Type element = getElementTypeOrSelf(x.getType());
  if (!isa<FloatType, IntegerType>(element))
    return ctx.error() << "unsupported element type " << element;
  Value lo = ctx.input(1) ? ctx.input(1) : boundConstant(ctx, element, false);
  Value hi = ctx.input(2) ? ctx.input(2) : boundConstant(ctx, element, true);
  return finish(ctx, ctx.createValue<ClipOp>({x, lo, hi}));
}

LogicalResult convertConstant(NodeContext &ctx) {
  if (failed(ctx.expectInputs(0, 0)))
    return failure();
  if (ctx.node.attribute_size() != 1)
    return ctx.error() << "needs exactly one value attribute, has "
                       << ctx.node.attribute_size();
  const auto &attr = ctx.node.attribute(0);
  StringRef name = attr.name();
  Builder &b = ctx.builder;
  ElementsAttr value;
  if (name == "value") {
    if (failed(ctx.readTensor("value", value)))
      return failure();
  } else if (name == "value_float") {
    float f = 0;
    if (failed(ctx.readFloat(name, f)))
      return failure();
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()), f);
  } else if (name == "value_int") {
    int64_t i = 0;
    if (failed(ctx.readInt(name, i)))
      return failure();
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()), i);
  } else if (name == "value_ints") {
    std::optional<SmallVector<int64_t>> ints;
    if (failed(ctx.readInts(name, ints)))
      return failure();
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)ints->size()}, b.getI64Type()),
        ArrayRef<int64_t>(*ints));
  } else if (name == "value_floats") {
    if (attr.type() != onnx::AttributeProto::FLOATS)
      return ctx.error() << "attribute 'value_floats' must be a list of floats";
    SmallVector<float> floats(attr.floats().begin(), attr.floats().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)floats.size()}, b.getF32Type()),
        ArrayRef<float>(floats));
  } else {
    return ctx.error() << "unsupported attribute '" << name
                       << "' (sparse and string constants are not supported)";
  }
  ctx.setResults(ctx.constant(value));
  return success();
}

LogicalResult convertConstantOfShape(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)) || failed(ctx.expectAttributes({"value"})))
    return failure();
  ElementsAttr value;
  if (failed(ctx.readTensor("value", value)))
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (value)
    attrs.push_back(ctx.builder.getNamedAttr("value", value));
  return finish(ctx, ctx.createValue<ConstantOfShapeOp>({ctx.input(0)}, attrs));
}

LogicalResult convertShape(NodeContext &ctx) {
  return convertSimple<ShapeOp, 1>(ctx, {"start", "end"});
}

LogicalResult convertReshape(NodeContext &ctx) {
  return convertSimple<ReshapeOp, 2>(ctx, {"allowzero"});
}

LogicalResult convertFlatten(NodeContext &ctx) {
  return convertSimple<FlattenOp, 1>(ctx, {"axis"});
}

/// Squeeze/Unsqueeze: axes is a (constant) input since opset 13.
template <typename OpTy, bool AxesRequired>
LogicalResult convertSqueezeLike(NodeContext &ctx) {
  if (failed(ctx.expectInputs(AxesRequired ? 2 : 1, 2)) ||
      failed(ctx.expectAttributes({})))
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (Value axes = ctx.input(1)) {
    auto values = ctx.constantInts(axes, "axes");
    if (failed(values))
      return failure();
    attrs.push_back(ctx.i64ArrayAttr("axes", *values));
  }
  return finish(ctx, ctx.createValue<OpTy>({ctx.input(0)}, attrs));
}

LogicalResult convertTranspose(NodeContext &ctx) {
  std::optional<SmallVector<int64_t>> perm;
  if (failed(ctx.expectInputs(1, 1)) || failed(ctx.expectAttributes({"perm"})) ||
      failed(ctx.readInts("perm", perm)))
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (perm)
    attrs.push_back(ctx.i64ArrayAttr("perm", *perm));
  return finish(ctx, ctx.createValue<TransposeOp>({ctx.input(0)}, attrs));
}

LogicalResult convertConcat(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, ctx.node.input_size())) ||
      failed(ctx.expectAttributes({"axis"})))
    return failure();
  if (!ctx.hasAttribute("axis"))
    return ctx.error() << "missing required attribute 'axis'";
  int64_t axis = 0;
  if (failed(ctx.readInt("axis", axis)))
    return failure();
  SmallVector<Value> inputs;
  for (int i = 0; i < ctx.node.input_size(); ++i)
    if (Value v = ctx.input(i))
      inputs.push_back(v);
  return finish(ctx,
                ctx.createValue<ConcatOp>(inputs, {ctx.i64Attr("axis", axis)}));
}

LogicalResult convertSplit(NodeContext &ctx) {
  SmallVector<StringRef> allowed = {"axis"};
  if (ctx.opset >= 18)
    allowed.push_back("num_outputs");
  if (failed(ctx.expectInputs(1, 2)) || failed(ctx.expectAttributes(allowed)))
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (failed(copyIntAttributes(ctx, {"axis"}, attrs)))
    return failure();
  if (Value split = ctx.input(1)) {
    auto sizes = ctx.constantInts(split, "split");
    if (failed(sizes))
      return failure();
    if ((int)sizes->size() != ctx.node.output_size())
      return ctx.error() << "split has " << sizes->size()
                         << " sizes but the node has "
                         << ctx.node.output_size() << " outputs";
    attrs.push_back(ctx.i64ArrayAttr("split", *sizes));
  } else {
    int64_t n = ctx.node.output_size();
    if (failed(ctx.readInt("num_outputs", n)))
      return failure();
    if (n != ctx.node.output_size())
      return ctx.error() << "num_outputs " << n << " disagrees with the "
                         << ctx.node.output_size() << " outputs of the node";
    attrs.push_back(ctx.i64Attr("num_outputs", n));
  }
  return finish(ctx, ctx.create(SplitOp::getOperationName(), {ctx.input(0)},
                                attrs));
}

LogicalResult convertSlice(NodeContext &ctx) {
  if (failed(ctx.expectInputs(3, 5)) || failed(ctx.expectAttributes({})))
    return failure();
  Value starts = ctx.input(1);
  auto startsType = dyn_cast<RankedTensorType>(starts.getType());
  Value axes = ctx.input(3), steps = ctx.input(4);
  if (!axes || !steps) {
    if (!startsType || startsType.getRank() != 1 || startsType.isDynamicDim(0))
      return ctx.error() << "starts must have a static length when axes or "
                            "steps are omitted";
    int64_t n = startsType.getDimSize(0);
    if (!axes)
      axes = ctx.constantI64(llvm::to_vector(llvm::seq<int64_t>(0, n)));
    if (!steps)
      steps = ctx.constantI64(SmallVector<int64_t>(n, 1));
  }
  return finish(ctx, ctx.createValue<SliceOp>(
                         {ctx.input(0), starts, ctx.input(2), axes, steps}));
}

LogicalResult convertGather(NodeContext &ctx) {
  return convertSimple<GatherOp, 2>(ctx, {"axis"});
}

LogicalResult convertGatherElements(NodeContext &ctx) {
  return convertSimple<GatherElementsOp, 2>(ctx, {"axis"});
}

LogicalResult convertGatherND(NodeContext &ctx) {
  return convertSimple<GatherNDOp, 2>(ctx, {"batch_dims"});
}

LogicalResult convertScatterND(NodeContext &ctx) {
  std::string reduction = "none";
  if (failed(ctx.expectInputs(3, 3)) ||
      failed(ctx.expectAttributes(ctx.opset >= 16 ? ArrayRef<StringRef>{"reduction"}
                                                  : ArrayRef<StringRef>{})) ||
      failed(ctx.readString("reduction", reduction)))
    return failure();
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, reduction))
    return ctx.error() << "unknown reduction '" << reduction << "'";
  return finish(ctx, ctx.createValue<ScatterNDOp>(
                         {ctx.input(0), ctx.input(1), ctx.input(2)},
                         {ctx.strAttr("reduction", reduction)}));
}

LogicalResult convertCast(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)) ||
      failed(ctx.expectAttributes({"to", "saturate"})))
    return failure();
  int64_t to = -1;
  if (failed(ctx.readInt("to", to)))
    return failure();
  Type element = TensorSource::elementType(ctx.context(), to);
  if (!element)
    return ctx.error() << "unsupported target type " << to;
  SmallVector<NamedAttribute> attrs = {
      ctx.builder.getNamedAttr("to", TypeAttr::get(element))};
  if (failed(copyIntAttributes(ctx, {"saturate"}, attrs)))
    return failure();
  return finish(ctx, ctx.createValue<CastOp>({ctx.input(0)}, attrs));
}

LogicalResult convertCastLike(NodeContext &ctx) {
  return convertSimple<CastLikeOp, 2>(ctx, {"saturate"});
}

LogicalResult convertTrilu(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 2)) || failed(ctx.expectAttributes({"upper"})))
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (failed(copyIntAttributes(ctx, {"upper"}, attrs)))
    return failure();
  SmallVector<Value> operands = {ctx.input(0)};
  if (Value k = ctx.input(1))
    operands.push_back(k);
  return finish(ctx, ctx.createValue<TriluOp>(operands, attrs));
}

LogicalResult convertPad(NodeContext &ctx) {
  std::string mode = "constant";
  if (failed(ctx.expectInputs(2, ctx.opset >= 18 ? 4 : 3)) ||
      failed(ctx.expectAttributes({"mode"})) ||
      failed(ctx.readString("mode", mode)))
    return failure();
  Value data = ctx.input(0), pads = ctx.input(1);
  auto dataType = dyn_cast<RankedTensorType>(data.getType());
  if (Value axesInput = ctx.input(3)) {
    // Scatter the per-axis pads into a full-rank [begins..., ends...].
    if (!dataType)
      return ctx.error() << "pads with axes need a ranked input";
    auto axes = ctx.constantInts(axesInput, "axes");
    auto given = ctx.constantInts(pads, "pads (with axes)");
    if (failed(axes) || failed(given))
      return failure();
    int64_t rank = dataType.getRank();
    if (given->size() != 2 * axes->size())
      return ctx.error() << "pads has " << given->size() << " entries for "
                         << axes->size() << " axes";
    SmallVector<int64_t> full(2 * rank, 0);
    for (auto [i, axis] : llvm::enumerate(*axes)) {
      auto a = normalizeAxis(axis, rank);
      if (!a)
        return ctx.error() << "axis " << axis << " is out of range for rank "
                           << rank;
      full[*a] = (*given)[i];
      full[*a + rank] = (*given)[i + axes->size()];
    }
    pads = ctx.constantI64(full);
  }
  Value value = ctx.input(2);
  if (!value) {
    Type element = getElementTypeOrSelf(data.getType());
    if (!isa<FloatType, IntegerType>(element))
      return ctx.error() << "unsupported element type " << element;
    value = ctx.constantSplat(element, 0);
  }
  return finish(ctx, ctx.createValue<PadOp>({data, pads, value},
                                            {ctx.strAttr("mode", mode)}));
}

/// Reductions: axes is an attribute before `axesInputSince`, an optional
/// constant input from then on.
template <typename OpTy, int AxesInputSince>
LogicalResult convertReduce(NodeContext &ctx) {
  bool axesAsInput = ctx.opset >= AxesInputSince;
  SmallVector<StringRef> allowed = {"keepdims"};
  if (axesAsInput)
    allowed.push_back("noop_with_empty_axes");
  else
    allowed.push_back("axes");
  if (failed(ctx.expectInputs(1, axesAsInput ? 2 : 1)) ||
      failed(ctx.expectAttributes(allowed)))
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (failed(copyIntAttributes(ctx, {"keepdims", "noop_with_empty_axes"},
                               attrs)))
    return failure();
  std::optional<SmallVector<int64_t>> axes;
  if (axesAsInput) {
    if (Value input = ctx.input(1)) {
      auto values = ctx.constantInts(input, "axes");
      if (failed(values))
        return failure();
      axes = *values;
    }
  } else if (failed(ctx.readInts("axes", axes))) {
    return failure();
  }
  if (axes)
    attrs.push_back(ctx.i64ArrayAttr("axes", *axes));
  return finish(ctx, ctx.createValue<OpTy>({ctx.input(0)}, attrs));
}

LogicalResult convertArgMax(NodeContext &ctx) {
  return convertSimple<ArgMaxOp, 1>(ctx,
                                    {"axis", "keepdims", "select_last_index"});
}

LogicalResult convertCumSum(NodeContext &ctx) {
  return convertSimple<CumSumOp, 2>(ctx, {"exclusive", "reverse"});
}

LogicalResult convertGemm(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 3)) ||
      failed(ctx.expectAttributes({"alpha", "beta", "transA", "transB"})))
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (failed(copyIntAttributes(ctx, {"transA", "transB"}, attrs)))
    return failure();
  for (StringRef name : {"alpha", "beta"}) {
    float v = 1.0f;
    if (failed(ctx.readFloat(name, v)))
      return failure();
    attrs.push_back(ctx.f32Attr(name, v));
  }
  SmallVector<Value> operands = {ctx.input(0), ctx.input(1)};
  if (Value c = ctx.input(2))
    operands.push_back(c);
  return finish(ctx, ctx.createValue<GemmOp>(operands, attrs));
}

template <typename OpTy>
LogicalResult convertSoftmaxLike(NodeContext &ctx) {
  return convertSimple<OpTy, 1>(ctx, {"axis"});
}

/// LayerNormalization / RMSNormalization: only the normalised output is
/// computed; the optional Mean/InvStdDev outputs are reported if used.
template <typename OpTy, unsigned MaxInputs>
LogicalResult convertNorm(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, MaxInputs)) ||
      failed(ctx.expectAttributes({"axis", "epsilon", "stash_type"})))
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (failed(copyIntAttributes(ctx, {"axis", "stash_type"}, attrs)))
    return failure();
  float epsilon = 1e-5f;
  if (failed(ctx.readFloat("epsilon", epsilon)))
    return failure();
  attrs.push_back(ctx.f32Attr("epsilon", epsilon));
  SmallVector<Value> operands = {ctx.input(0), ctx.input(1)};
  if (MaxInputs > 2 && ctx.input(2))
    operands.push_back(ctx.input(2));
  return finish(ctx, ctx.createValue<OpTy>(operands, attrs));
}

LogicalResult convertAttention(NodeContext &ctx) {
  if (failed(ctx.expectInputs(3, 6)) ||
      failed(ctx.expectAttributes({"is_causal", "kv_num_heads", "q_num_heads",
                                   "qk_matmul_output_mode", "scale",
                                   "softcap", "softmax_precision"})))
    return failure();
  int64_t qkMode = 0;
  if (failed(ctx.readInt("qk_matmul_output_mode", qkMode)))
    return failure();
  if (ctx.node.output_size() > 3 && !ctx.node.output(3).empty())
    return ctx.error() << "the qk_matmul_output output is not supported";
  SmallVector<NamedAttribute> attrs;
  if (failed(copyIntAttributes(ctx, {"is_causal", "kv_num_heads", "q_num_heads"},
                               attrs)))
    return failure();
  for (StringRef name : {"scale", "softcap"}) {
    if (!ctx.hasAttribute(name))
      continue;
    float v = 0;
    if (failed(ctx.readFloat(name, v)))
      return failure();
    attrs.push_back(ctx.f32Attr(name, v));
  }
  Value k = ctx.input(1), v = ctx.input(2);
  // A cache given as past_key/past_value is concatenated in front of k/v;
  // present_key/present_value are those concatenations.
  Value pastKey = ctx.input(4), pastValue = ctx.input(5);
  if ((bool)pastKey != (bool)pastValue)
    return ctx.error() << "past_key and past_value must be given together";
  if (pastKey) {
    auto kType = dyn_cast<RankedTensorType>(k.getType());
    if (!kType || kType.getRank() != 4)
      return ctx.error() << "past_key/past_value need 4-D k and v";
    auto fullK = ctx.createValue<ConcatOp>({pastKey, k}, {ctx.i64Attr("axis", 2)});
    auto fullV = ctx.createValue<ConcatOp>({pastValue, v}, {ctx.i64Attr("axis", 2)});
    if (failed(fullK) || failed(fullV))
      return failure();
    k = *fullK;
    v = *fullV;
  }
  SmallVector<Value> operands = {ctx.input(0), k, v};
  if (Value mask = ctx.input(3))
    operands.push_back(mask);
  auto y = ctx.createValue<AttentionOp>(operands, attrs);
  if (failed(y))
    return failure();
  ctx.setResults({*y, k, v});
  return success();
}

LogicalResult convertRotaryEmbedding(NodeContext &ctx) {
  if (failed(ctx.expectInputs(3, 4)) ||
      failed(ctx.expectAttributes(
          {"interleaved", "num_heads", "rotary_embedding_dim"})))
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (failed(copyIntAttributes(
          ctx, {"interleaved", "num_heads", "rotary_embedding_dim"}, attrs)))
    return failure();
  SmallVector<Value> operands = {ctx.input(0), ctx.input(1), ctx.input(2)};
  if (Value ids = ctx.input(3))
    operands.push_back(ids);
  return finish(ctx, ctx.createValue<RotaryEmbeddingOp>(operands, attrs));
}

struct TableEntry {
  SupportedOnnxOp info;
  ConvertFn convert;
};

#define UNARY(NAME, SINCE, OP, MNEMONIC)                                       \
  {{NAME, SINCE, "tessel." MNEMONIC, ""}, convertUnary<OP>}
#define BINARY(NAME, SINCE, OP, MNEMONIC)                                      \
  {{NAME, SINCE, "tessel." MNEMONIC, ""}, convertBinary<OP>}

// Versions newer than the one listed for an op only widened its type list
// within what tessel supports, unless a note says otherwise.
const TableEntry kTable[] = {
    BINARY("Add", 14, AddOp, "add"),
    BINARY("Sub", 14, SubOp, "sub"),
    BINARY("Mul", 14, MulOp, "mul"),
    BINARY("Div", 14, DivOp, "div"),
    BINARY("Add", 13, AddOp, "add"),
    BINARY("Sub", 13, SubOp, "sub"),
    BINARY("Mul", 13, MulOp, "mul"),
    BINARY("Div", 13, DivOp, "div"),
    BINARY("Pow", 13, PowOp, "pow"),
    BINARY("Pow", 15, PowOp, "pow"),
    BINARY("And", 7, AndOp, "and"),
    BINARY("Or", 7, OrOp, "or"),
    BINARY("Xor", 7, XorOp, "xor"),
    BINARY("Equal", 13, EqualOp, "equal"),
    BINARY("Equal", 19, EqualOp, "equal"),
    BINARY("Less", 13, LessOp, "less"),
    BINARY("LessOrEqual", 12, LessOrEqualOp, "less_or_equal"),
    BINARY("LessOrEqual", 16, LessOrEqualOp, "less_or_equal"),
    BINARY("Greater", 13, GreaterOp, "greater"),
    BINARY("GreaterOrEqual", 12, GreaterOrEqualOp, "greater_or_equal"),
    BINARY("GreaterOrEqual", 16, GreaterOrEqualOp, "greater_or_equal"),
    {{"Min", 13, "tessel.min", "variadic: a chain of binary ops"},
     convertVariadic<MinOp>},
    {{"Max", 13, "tessel.max", "variadic: a chain of binary ops"},
     convertVariadic<MaxOp>},
    UNARY("Neg", 13, NegOp, "neg"),
    UNARY("Abs", 13, AbsOp, "abs"),
    UNARY("Sqrt", 13, SqrtOp, "sqrt"),
    UNARY("Reciprocal", 13, ReciprocalOp, "reciprocal"),
    UNARY("Exp", 13, ExpOp, "exp"),
    UNARY("Log", 13, LogOp, "log"),
    UNARY("Tanh", 13, TanhOp, "tanh"),
    UNARY("Sigmoid", 13, SigmoidOp, "sigmoid"),
    UNARY("Erf", 13, ErfOp, "erf"),
    UNARY("Sin", 7, SinOp, "sin"),
    UNARY("Cos", 7, CosOp, "cos"),
    UNARY("Relu", 14, ReluOp, "relu"),
    UNARY("Relu", 13, ReluOp, "relu"),
    UNARY("Softplus", 1, SoftplusOp, "softplus"),
    UNARY("Floor", 13, FloorOp, "floor"),
    UNARY("Ceil", 13, CeilOp, "ceil"),
    UNARY("Round", 11, RoundOp, "round"),
    UNARY("Not", 1, NotOp, "not"),
    UNARY("IsNaN", 13, IsNaNOp, "is_nan"),
    UNARY("IsNaN", 20, IsNaNOp, "is_nan"),
    UNARY("Identity", 16, IdentityOp, "identity"),
    UNARY("Identity", 14, IdentityOp, "identity"),
    UNARY("Identity", 13, IdentityOp, "identity"),
    UNARY("Size", 13, SizeOp, "size"),
    UNARY("Size", 19, SizeOp, "size"),
    BINARY("MatMul", 13, MatMulOp, "matmul"),
    BINARY("Expand", 13, ExpandOp, "expand"),
    BINARY("Tile", 13, TileOp, "tile"),
    {{"Range", 11, "tessel.range", ""}, convertTernary<RangeOp>},
    {{"Where", 9, "tessel.where", ""}, convertTernary<WhereOp>},
    {{"Where", 16, "tessel.where", ""}, convertTernary<WhereOp>},
    {{"IsInf", 10, "tessel.is_inf", ""}, convertIsInf},
    {{"IsInf", 20, "tessel.is_inf", ""}, convertIsInf},
    {{"Gelu", 20, "tessel.gelu", ""}, convertGelu},
    {{"Clip", 13, "tessel.clip", "absent min/max become the type's bounds"},
     convertClip},
    {{"Constant", 13, "tessel.constant",
      "value, value_float(s), value_int(s); no sparse/string"},
     convertConstant},
    {{"Constant", 19, "tessel.constant", ""}, convertConstant},
    {{"ConstantOfShape", 9, "tessel.constant_of_shape", ""},
     convertConstantOfShape},
    {{"ConstantOfShape", 20, "tessel.constant_of_shape", ""},
     convertConstantOfShape},
    {{"Shape", 13, "tessel.shape", ""}, convertShape},
    {{"Shape", 15, "tessel.shape", "start/end attributes"}, convertShape},
    {{"Shape", 19, "tessel.shape", ""}, convertShape},
    {{"Reshape", 13, "tessel.reshape", ""}, convertReshape},
    {{"Reshape", 14, "tessel.reshape", "allowzero attribute"}, convertReshape},
    {{"Reshape", 19, "tessel.reshape", ""}, convertReshape},
    {{"Flatten", 13, "tessel.flatten", ""}, convertFlatten},
    {{"Squeeze", 13, "tessel.squeeze", "axes input (constant) becomes an attribute"},
     convertSqueezeLike<SqueezeOp, false>},
    {{"Unsqueeze", 13, "tessel.unsqueeze",
      "axes input (constant) becomes an attribute"},
     convertSqueezeLike<UnsqueezeOp, true>},
    {{"Transpose", 13, "tessel.transpose", ""}, convertTranspose},
    {{"Concat", 13, "tessel.concat", ""}, convertConcat},
    {{"Split", 13, "tessel.split", "split sizes input (constant)"},
     convertSplit},
    {{"Split", 18, "tessel.split", "num_outputs attribute"}, convertSplit},
    {{"Slice", 13, "tessel.slice", "absent axes/steps are materialised"},
     convertSlice},
    {{"Gather", 13, "tessel.gather", ""}, convertGather},
    {{"GatherElements", 13, "tessel.gather_elements", ""},
     convertGatherElements},
    {{"GatherND", 13, "tessel.gather_nd", ""}, convertGatherND},
    {{"ScatterND", 13, "tessel.scatter_nd", ""}, convertScatterND},
    {{"ScatterND", 16, "tessel.scatter_nd", "reduction add/mul"},
     convertScatterND},
    {{"ScatterND", 18, "tessel.scatter_nd", "reduction max/min"},
     convertScatterND},
    {{"Cast", 13, "tessel.cast", ""}, convertCast},
    {{"Cast", 19, "tessel.cast", "saturate attribute"}, convertCast},
    {{"CastLike", 15, "tessel.cast_like", ""}, convertCastLike},
    {{"CastLike", 19, "tessel.cast_like", "saturate attribute"},
     convertCastLike},
    {{"Trilu", 14, "tessel.trilu", ""}, convertTrilu},
    {{"Pad", 13, "tessel.pad", "pads/constant_value inputs"}, convertPad},
    {{"Pad", 18, "tessel.pad", "axes input"}, convertPad},
    {{"Pad", 19, "tessel.pad", "wrap mode"}, convertPad},
    {{"ReduceMean", 13, "tessel.reduce_mean", "axes attribute"},
     convertReduce<ReduceMeanOp, 18>},
    {{"ReduceMean", 18, "tessel.reduce_mean", "axes input (constant)"},
     convertReduce<ReduceMeanOp, 18>},
    {{"ReduceSum", 13, "tessel.reduce_sum", "axes input (constant)"},
     convertReduce<ReduceSumOp, 13>},
    {{"ReduceMax", 13, "tessel.reduce_max", "axes attribute"},
     convertReduce<ReduceMaxOp, 18>},
    {{"ReduceMax", 18, "tessel.reduce_max", "axes input (constant)"},
     convertReduce<ReduceMaxOp, 18>},
    {{"ReduceMax", 20, "tessel.reduce_max", ""},
     convertReduce<ReduceMaxOp, 18>},
    {{"ReduceMin", 13, "tessel.reduce_min", "axes attribute"},
     convertReduce<ReduceMinOp, 18>},
    {{"ReduceMin", 18, "tessel.reduce_min", "axes input (constant)"},
     convertReduce<ReduceMinOp, 18>},
    {{"ReduceMin", 20, "tessel.reduce_min", ""},
     convertReduce<ReduceMinOp, 18>},
    {{"ArgMax", 13, "tessel.arg_max", ""}, convertArgMax},
    {{"CumSum", 11, "tessel.cum_sum", ""}, convertCumSum},
    {{"CumSum", 14, "tessel.cum_sum", ""}, convertCumSum},
    {{"Gemm", 13, "tessel.gemm", ""}, convertGemm},
    {{"Softmax", 13, "tessel.softmax", ""}, convertSoftmaxLike<SoftmaxOp>},
    {{"LogSoftmax", 13, "tessel.log_softmax", ""},
     convertSoftmaxLike<LogSoftmaxOp>},
    {{"LayerNormalization", 17, "tessel.layer_normalization",
      "Y only (Mean/InvStdDev outputs rejected if used)"},
     convertNorm<LayerNormalizationOp, 3>},
    {{"RMSNormalization", 23, "tessel.rms_normalization", ""},
     convertNorm<RMSNormalizationOp, 2>},
    {{"Attention", 23, "tessel.attention",
      "past_key/past_value concatenated; no qk_matmul_output"},
     convertAttention},
    {{"RotaryEmbedding", 23, "tessel.rotary_embedding", ""},
     convertRotaryEmbedding},
};

#undef UNARY
#undef BINARY

/// The table sorted by (op, version), without duplicate rows.
const std::vector<TableEntry> &sortedTable() {
  static const std::vector<TableEntry> table = [] {
    std::vector<TableEntry> rows;
    for (const TableEntry &e : kTable) {
      bool duplicate = llvm::any_of(rows, [&](const TableEntry &r) {
        return r.info.opType == e.info.opType &&
               r.info.sinceVersion == e.info.sinceVersion;
      });
      if (!duplicate)
        rows.push_back(e);
    }
    llvm::sort(rows, [](const TableEntry &a, const TableEntry &b) {
      return std::make_pair(a.info.opType, a.info.sinceVersion) <
             std::make_pair(b.info.opType, b.info.sinceVersion);
    });
    return rows;
  }();
  return table;
}
} // namespace

ConvertFn mlir::tessel::onnx_import::lookupConverter(StringRef opType,
                                                     int opset, bool &knownOp) {
  ConvertFn best = nullptr;
  int bestVersion = -1;
  knownOp = false;
  for (const TableEntry &e : sortedTable()) {
    if (e.info.opType != opType)
      continue;
    knownOp = true;
    if (e.info.sinceVersion <= opset && e.info.sinceVersion > bestVersion) {
      best = e.convert;
      bestVersion = e.info.sinceVersion;
    }
  }
  return best;
}

ArrayRef<SupportedOnnxOp> mlir::tessel::getSupportedOnnxOps() {
  static const std::vector<SupportedOnnxOp> rows = [] {
    std::vector<SupportedOnnxOp> out;
    for (const TableEntry &e : sortedTable())
      out.push_back(e.info);
    return out;
  }();
  return rows;
}

std::string mlir::tessel::renderSupportedOpsMarkdown() {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "# Supported ONNX ops\n\n"
     << "Generated by `tesselc --print-supported-ops` from the importer's "
        "converter table (frontend/OpConverters.cpp); a test checks that this "
        "file is current.\n\n"
     << "Default ONNX domain, opsets " << kMinOpset << " to " << kMaxOpset
     << ". Each row is an ONNX definition version (\"since\"); it applies to "
        "every opset from that version up to the next row of the same op.\n\n"
     << "| ONNX op | since opset | tessel op | notes |\n"
     << "| --- | --- | --- | --- |\n";
  for (const SupportedOnnxOp &op : getSupportedOnnxOps())
    os << "| " << op.opType << " | " << op.sinceVersion << " | `"
       << op.tesselOp << "` | " << op.note << " |\n";
  return out;
}
