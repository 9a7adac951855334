//===- TesselOps.td - tessel op definitions -----------------*- tablegen -*-===//
//
// Ops mean what their ONNX namesakes mean at opset 23. Every op is Pure and
// infers its result types (InferTypeOpInterface); the inferred type may be
// less static than the declared one (`?` vs a number) but never disagree.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_OPS_TD
#define TESSEL_OPS_TD

include "dialect/TesselDialect.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Base classes
//===----------------------------------------------------------------------===//

class Tessel_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tessel_Dialect, mnemonic,
         !listconcat([Pure, InferTypeOpAdaptorWithIsCompatible], traits)> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    bool $cppClass::isCompatibleReturnTypes(::mlir::TypeRange l,
                                            ::mlir::TypeRange r) {
      return ::mlir::tessel::areCompatibleTensorTypes(l, r);
    }
  }];
}

def Tessel_Tensor : TensorOf<[AnyType]>;
def Tessel_FloatTensor : TensorOf<[AnyFloat]>;
def Tessel_BoolTensor : TensorOf<[I1]>;
def Tessel_I64Tensor : TensorOf<[I64]>;
def Tessel_IndexTensor : TensorOf<[I32, I64]>;

// y = f(x), same type.
class Tessel_UnaryOp<string mnemonic, string onnxName,
                     Type operandType = Tessel_Tensor, list<Trait> traits = []>
    : Tessel_Op<mnemonic, traits> {
  let summary = "Element-wise ONNX `" # onnxName # "`.";
  let arguments = (ins operandType:$input);
  let results = (outs operandType:$output);
}

// y = f(x), i1 result.
class Tessel_UnaryPredicateOp<string mnemonic, string onnxName>
    : Tessel_Op<mnemonic> {
  let summary = "Element-wise ONNX `" # onnxName # "`, an i1 tensor.";
  let results = (outs Tessel_BoolTensor:$output);
}

// z = f(x, y) with numpy broadcasting; the result has lhs's element type.
class Tessel_BinaryOp<string mnemonic, string onnxName,
                      Type operandType = Tessel_Tensor>
    : Tessel_Op<mnemonic> {
  let summary = "Broadcasting element-wise ONNX `" # onnxName # "`.";
  let arguments = (ins operandType:$lhs, operandType:$rhs);
  let results = (outs operandType:$output);
}

// z = x <cmp> y with numpy broadcasting, i1 result.
class Tessel_CompareOp<string mnemonic, string onnxName>
    : Tessel_Op<mnemonic> {
  let summary = "Broadcasting ONNX `" # onnxName # "`, an i1 tensor.";
  let arguments = (ins Tessel_Tensor:$lhs, Tessel_Tensor:$rhs);
  let results = (outs Tessel_BoolTensor:$output);
}

class Tessel_ReduceOp<string mnemonic, string onnxName>
    : Tessel_Op<mnemonic> {
  let summary = "ONNX `" # onnxName # "` over `axes` (all when absent).";
  let arguments = (ins Tessel_Tensor:$data,
                   OptionalAttr<DenseI64ArrayAttr>:$axes,
                   DefaultValuedAttr<I64Attr, "1">:$keepdims,
                   DefaultValuedAttr<I64Attr, "0">:$noop_with_empty_axes);
  let results = (outs Tessel_Tensor:$reduced);
}

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

def Tessel_AddOp : Tessel_BinaryOp<"add", "Add">;
def Tessel_SubOp : Tessel_BinaryOp<"sub", "Sub">;
def Tessel_MulOp : Tessel_BinaryOp<"mul", "Mul">;
def Tessel_DivOp : Tessel_BinaryOp<"div", "Div">;
def Tessel_MinOp : Tessel_BinaryOp<"min", "Min">;
def Tessel_MaxOp : Tessel_BinaryOp<"max", "Max">;
def Tessel_AndOp : Tessel_BinaryOp<"and", "And", Tessel_BoolTensor>;
def Tessel_OrOp : Tessel_BinaryOp<"or", "Or", Tessel_BoolTensor>;
def Tessel_XorOp : Tessel_BinaryOp<"xor", "Xor", Tessel_BoolTensor>;

def Tessel_PowOp : Tessel_Op<"pow"> {
  let summary = "Broadcasting ONNX `Pow`; the result has the base's type.";
  let arguments = (ins Tessel_Tensor:$lhs, Tessel_Tensor:$rhs);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_EqualOp : Tessel_CompareOp<"equal", "Equal">;
def Tessel_LessOp : Tessel_CompareOp<"less", "Less">;
def Tessel_LessOrEqualOp : Tessel_CompareOp<"less_or_equal", "LessOrEqual">;
def Tessel_GreaterOp : Tessel_CompareOp<"greater", "Greater">;
def Tessel_GreaterOrEqualOp
    : Tessel_CompareOp<"greater_or_equal", "GreaterOrEqual">;

def Tessel_NegOp : Tessel_UnaryOp<"neg", "Neg">;
def Tessel_AbsOp : Tessel_UnaryOp<"abs", "Abs">;
def Tessel_SqrtOp : Tessel_UnaryOp<"sqrt", "Sqrt", Tessel_FloatTensor>;
def Tessel_ReciprocalOp
    : Tessel_UnaryOp<"reciprocal", "Reciprocal", Tessel_FloatTensor>;
def Tessel_ExpOp : Tessel_UnaryOp<"exp", "Exp", Tessel_FloatTensor>;
def Tessel_LogOp : Tessel_UnaryOp<"log", "Log", Tessel_FloatTensor>;
def Tessel_TanhOp : Tessel_UnaryOp<"tanh", "Tanh", Tessel_FloatTensor>;
def Tessel_SigmoidOp : Tessel_UnaryOp<"sigmoid", "Sigmoid", Tessel_FloatTensor>;
def Tessel_ErfOp : Tessel_UnaryOp<"erf", "Erf", Tessel_FloatTensor>;
def Tessel_SinOp : Tessel_UnaryOp<"sin", "Sin", Tessel_FloatTensor>;
def Tessel_CosOp : Tessel_UnaryOp<"cos", "Cos", Tessel_FloatTensor>;
def Tessel_ReluOp : Tessel_UnaryOp<"relu", "Relu">;
def Tessel_SoftplusOp
    : Tessel_UnaryOp<"softplus", "Softplus", Tessel_FloatTensor>;
def Tessel_FloorOp : Tessel_UnaryOp<"floor", "Floor", Tessel_FloatTensor>;
def Tessel_CeilOp : Tessel_UnaryOp<"ceil", "Ceil", Tessel_FloatTensor>;
def Tessel_RoundOp : Tessel_UnaryOp<"round", "Round", Tessel_FloatTensor>;
def Tessel_NotOp : Tessel_UnaryOp<"not", "Not", Tessel_BoolTensor>;

def Tessel_IdentityOp : Tessel_UnaryOp<"identity", "Identity"> {
  let hasFolder = 1;
}

def Tessel_GeluOp : Tessel_Op<"gelu"> {
  let summary = "ONNX `Gelu` (opset 20): exact (erf) or tanh approximation.";
  let arguments = (ins Tessel_FloatTensor:$input,
                   DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let results = (outs Tessel_FloatTensor:$output);
}

def Tessel_SiluOp : Tessel_UnaryOp<"silu", "x * Sigmoid(x)", Tessel_FloatTensor> {
  let summary = "SiLU (swish): x * sigmoid(x); created by tessel-fuse-activations.";
}

def Tessel_IsNaNOp : Tessel_UnaryPredicateOp<"is_nan", "IsNaN"> {
  let arguments = (ins Tessel_FloatTensor:$input);
}

def Tessel_IsInfOp : Tessel_UnaryPredicateOp<"is_inf", "IsInf"> {
  let arguments = (ins Tessel_FloatTensor:$input,
                   DefaultValuedAttr<I64Attr, "1">:$detect_negative,
                   DefaultValuedAttr<I64Attr, "1">:$detect_positive);
}

def Tessel_ClipOp : Tessel_Op<"clip"> {
  let summary = "ONNX `Clip`; the importer materialises absent bounds.";
  let arguments = (ins Tessel_Tensor:$input, Tessel_Tensor:$min,
                   Tessel_Tensor:$max);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_WhereOp : Tessel_Op<"where"> {
  let summary = "Broadcasting ONNX `Where`: x where condition, else y.";
  let arguments = (ins Tessel_BoolTensor:$condition, Tessel_Tensor:$x,
                   Tessel_Tensor:$y);
  let results = (outs Tessel_Tensor:$output);
}

//===----------------------------------------------------------------------===//
// Shapes, data movement, constants
//===----------------------------------------------------------------------===//

def Tessel_ConstantOp : Tessel_Op<"constant", [ConstantLike]> {
  let summary = "A constant tensor (inline, or a blob resource for weights).";
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Tessel_Tensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Tessel_ConstantOfShapeOp : Tessel_Op<"constant_of_shape"> {
  let summary = "ONNX `ConstantOfShape`: a tensor of the given shape filled "
                "with the one-element `value` (default f32 0).";
  let arguments = (ins Tessel_I64Tensor:$input, OptionalAttr<ElementsAttr>:$value);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_ShapeOp : Tessel_Op<"shape"> {
  let summary = "ONNX `Shape`: dims [start, end) of the input as a 1-D i64.";
  let arguments = (ins Tessel_Tensor:$data,
                   DefaultValuedAttr<I64Attr, "0">:$start,
                   OptionalAttr<I64Attr>:$end);
  let results = (outs Tessel_I64Tensor:$shape);
}

def Tessel_SizeOp : Tessel_Op<"size"> {
  let summary = "ONNX `Size`: the number of elements as a 0-D i64.";
  let arguments = (ins Tessel_Tensor:$data);
  let results = (outs Tessel_I64Tensor:$size);
}

def Tessel_ReshapeOp : Tessel_Op<"reshape"> {
  let summary = "ONNX `Reshape` (0 copies the input dim unless allowzero, "
                "-1 is inferred).";
  let arguments = (ins Tessel_Tensor:$data, Tessel_I64Tensor:$shape,
                   DefaultValuedAttr<I64Attr, "0">:$allowzero);
  let results = (outs Tessel_Tensor:$reshaped);
}

def Tessel_FlattenOp : Tessel_Op<"flatten"> {
  let summary = "ONNX `Flatten` into 2-D at `axis`.";
  let arguments = (ins Tessel_Tensor:$input,
                   DefaultValuedAttr<I64Attr, "1">:$axis);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_SqueezeOp : Tessel_Op<"squeeze"> {
  let summary = "ONNX `Squeeze` of `axes` (all static 1-dims when absent).";
  let arguments = (ins Tessel_Tensor:$data,
                   OptionalAttr<DenseI64ArrayAttr>:$axes);
  let results = (outs Tessel_Tensor:$squeezed);
}

def Tessel_UnsqueezeOp : Tessel_Op<"unsqueeze"> {
  let summary = "ONNX `Unsqueeze`: insert 1-dims at `axes` of the output.";
  let arguments = (ins Tessel_Tensor:$data, DenseI64ArrayAttr:$axes);
  let results = (outs Tessel_Tensor:$expanded);
}

def Tessel_TransposeOp : Tessel_Op<"transpose"> {
  let summary = "ONNX `Transpose` by `perm` (reversed dims when absent).";
  let arguments = (ins Tessel_Tensor:$data,
                   OptionalAttr<DenseI64ArrayAttr>:$perm);
  let results = (outs Tessel_Tensor:$transposed);
}

def Tessel_ConcatOp : Tessel_Op<"concat"> {
  let summary = "ONNX `Concat` along `axis`.";
  let arguments = (ins Variadic<Tessel_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Tessel_Tensor:$concat_result);
}

def Tessel_SplitOp : Tessel_Op<"split"> {
  let summary = "ONNX `Split` along `axis` into `split` sizes, or into "
                "`num_outputs` equal parts (the last smaller).";
  let arguments = (ins Tessel_Tensor:$input,
                   DefaultValuedAttr<I64Attr, "0">:$axis,
                   OptionalAttr<DenseI64ArrayAttr>:$split,
                   OptionalAttr<I64Attr>:$num_outputs);
  let results = (outs Variadic<Tessel_Tensor>:$outputs);
}

def Tessel_SliceOp : Tessel_Op<"slice"> {
  let summary = "ONNX `Slice`; the importer materialises default axes/steps.";
  let arguments = (ins Tessel_Tensor:$data, Tessel_IndexTensor:$starts,
                   Tessel_IndexTensor:$ends, Tessel_IndexTensor:$axes,
                   Tessel_IndexTensor:$steps);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_GatherOp : Tessel_Op<"gather"> {
  let summary = "ONNX `Gather` of `indices` along `axis`.";
  let arguments = (ins Tessel_Tensor:$data, Tessel_IndexTensor:$indices,
                   DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_GatherElementsOp : Tessel_Op<"gather_elements"> {
  let summary = "ONNX `GatherElements` along `axis`.";
  let arguments = (ins Tessel_Tensor:$data, Tessel_IndexTensor:$indices,
                   DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_GatherNDOp : Tessel_Op<"gather_nd"> {
  let summary = "ONNX `GatherND` with `batch_dims`.";
  let arguments = (ins Tessel_Tensor:$data, Tessel_I64Tensor:$indices,
                   DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_ScatterNDOp : Tessel_Op<"scatter_nd"> {
  let summary = "ONNX `ScatterND` with `reduction` none/add/mul/max/min.";
  let arguments = (ins Tessel_Tensor:$data, Tessel_I64Tensor:$indices,
                   Tessel_Tensor:$updates,
                   DefaultValuedStrAttr<StrAttr, "none">:$reduction);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_ExpandOp : Tessel_Op<"expand"> {
  let summary = "ONNX `Expand`: broadcast the input with `shape`.";
  let arguments = (ins Tessel_Tensor:$input, Tessel_I64Tensor:$shape);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_TileOp : Tessel_Op<"tile"> {
  let summary = "ONNX `Tile`: repeat the input `repeats[i]` times on dim i.";
  let arguments = (ins Tessel_Tensor:$input, Tessel_I64Tensor:$repeats);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_RangeOp : Tessel_Op<"range"> {
  let summary = "ONNX `Range`: start, start+delta, ... up to (not incl.) limit.";
  let arguments = (ins Tessel_Tensor:$start, Tessel_Tensor:$limit,
                   Tessel_Tensor:$delta);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_CastOp : Tessel_Op<"cast"> {
  let summary = "ONNX `Cast` to the element type `to`.";
  let arguments = (ins Tessel_Tensor:$input, TypeAttr:$to,
                   DefaultValuedAttr<I64Attr, "1">:$saturate);
  let results = (outs Tessel_Tensor:$output);
  // A cast to the element type the input already has is the input.
  let hasFolder = 1;
}

def Tessel_CastLikeOp : Tessel_Op<"cast_like"> {
  let summary = "ONNX `CastLike`: cast to `target_type`'s element type.";
  let arguments = (ins Tessel_Tensor:$input, Tessel_Tensor:$target_type,
                   DefaultValuedAttr<I64Attr, "1">:$saturate);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_TriluOp : Tessel_Op<"trilu"> {
  let summary = "ONNX `Trilu`: keep the upper (or lower) triangle from "
                "diagonal k of the last two dims.";
  let arguments = (ins Tessel_Tensor:$input, Optional<Tessel_I64Tensor>:$k,
                   DefaultValuedAttr<I64Attr, "1">:$upper);
  let results = (outs Tessel_Tensor:$output);
}

def Tessel_PadOp : Tessel_Op<"pad"> {
  let summary = "ONNX `Pad` with full-rank `pads` [begins..., ends...].";
  let arguments = (ins Tessel_Tensor:$data, Tessel_I64Tensor:$pads,
                   Tessel_Tensor:$constant_value,
                   DefaultValuedStrAttr<StrAttr, "constant">:$mode);
  let results = (outs Tessel_Tensor:$output);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

def Tessel_ReduceMeanOp : Tessel_ReduceOp<"reduce_mean", "ReduceMean">;
def Tessel_ReduceSumOp : Tessel_ReduceOp<"reduce_sum", "ReduceSum">;
def Tessel_ReduceMaxOp : Tessel_ReduceOp<"reduce_max", "ReduceMax">;
def Tessel_ReduceMinOp : Tessel_ReduceOp<"reduce_min", "ReduceMin">;

def Tessel_ArgMaxOp : Tessel_Op<"arg_max"> {
  let summary = "ONNX `ArgMax` along `axis`, i64 indices.";
  let arguments = (ins Tessel_Tensor:$data,
                   DefaultValuedAttr<I64Attr, "0">:$axis,
                   DefaultValuedAttr<I64Attr, "1">:$keepdims,
                   DefaultValuedAttr<I64Attr, "0">:$select_last_index);
  let results = (outs Tessel_I64Tensor:$reduced);
}

def Tessel_CumSumOp : Tessel_Op<"cum_sum"> {
  let summary = "ONNX `CumSum` along the 0-D `axis` tensor.";
  let arguments = (ins Tessel_Tensor:$x, Tessel_IndexTensor:$axis,
                   DefaultValuedAttr<I64Attr, "0">:$exclusive,
                   DefaultValuedAttr<I64Attr, "0">:$reverse);
  let results = (outs Tessel_Tensor:$y);
}

//===----------------------------------------------------------------------===//
// Matrix products, normalisation, attention
//===----------------------------------------------------------------------===//

def Tessel_MatMulOp : Tessel_Op<"matmul"> {
  let summary = "ONNX `MatMul` (numpy matmul: batch broadcasting, 1-D "
                "operands promoted and squeezed).";
  let arguments = (ins Tessel_Tensor:$a, Tessel_Tensor:$b);
  let results = (outs Tessel_Tensor:$y);
}

def Tessel_GemmOp : Tessel_Op<"gemm"> {
  let summary = "ONNX `Gemm`: alpha * op(A) x op(B) + beta * C.";
  let arguments = (ins Tessel_Tensor:$a, Tessel_Tensor:$b,
                   Optional<Tessel_Tensor>:$c,
                   DefaultValuedAttr<F32Attr, "1.0">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.0">:$beta,
                   DefaultValuedAttr<I64Attr, "0">:$transA,
                   DefaultValuedAttr<I64Attr, "0">:$transB);
  let results = (outs Tessel_Tensor:$y);
}

def Tessel_SoftmaxOp : Tessel_Op<"softmax"> {
  let summary = "ONNX `Softmax` (opset 13+) along `axis`.";
  let arguments = (ins Tessel_FloatTensor:$input,
                   DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Tessel_FloatTensor:$output);
}

def Tessel_LogSoftmaxOp : Tessel_Op<"log_softmax"> {
  let summary = "ONNX `LogSoftmax` (opset 13+) along `axis`.";
  let arguments = (ins Tessel_FloatTensor:$input,
                   DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Tessel_FloatTensor:$output);
}

def Tessel_LayerNormalizationOp : Tessel_Op<"layer_normalization"> {
  let summary = "ONNX `LayerNormalization` over dims [axis, rank).";
  let arguments = (ins Tessel_FloatTensor:$x, Tessel_FloatTensor:$scale,
                   Optional<Tessel_FloatTensor>:$bias,
                   DefaultValuedAttr<I64Attr, "-1">:$axis,
                   DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon,
                   DefaultValuedAttr<I64Attr, "1">:$stash_type);
  let results = (outs Tessel_FloatTensor:$y);
}

def Tessel_RMSNormalizationOp : Tessel_Op<"rms_normalization"> {
  let summary = "ONNX `RMSNormalization` (opset 23) over dims [axis, rank).";
  let arguments = (ins Tessel_FloatTensor:$x, Tessel_FloatTensor:$scale,
                   DefaultValuedAttr<I64Attr, "-1">:$axis,
                   DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon,
                   DefaultValuedAttr<I64Attr, "1">:$stash_type);
  let results = (outs Tessel_FloatTensor:$y);
}

def Tessel_AttentionOp : Tessel_Op<"attention"> {
  let summary = "Scaled dot-product attention over heads (ONNX `Attention`).";
  let description = [{
    `softmax(scale * q x k^T + mask) x v` per head. 4-D operands are
    `[batch, heads, seq, head_dim]`; 3-D operands are `[batch, seq,
    heads * head_dim]` and then `q_num_heads`/`kv_num_heads` are required.
    `q` heads must be a multiple of `k`/`v` heads (equal: MHA; fewer: GQA):
    query head h reads key/value head h / (q_heads / kv_heads), k/v are
    never replicated. `scale` defaults to 1/sqrt(head_dim). A boolean mask
    keeps `true` positions; a float mask is added to the scores.
    `is_causal` masks keys after the query, aligned to the end of the keys
    (query i sees key j iff j <= i + seq_kv - seq_q). `window_left` /
    `window_right` (>= 0) further restrict query i to keys j with
    i' - window_left <= j <= i' + window_right, where i' = i + seq_kv -
    seq_q; -1 means unbounded. `softcap` > 0 applies
    softcap * tanh(scores / softcap) before masking.
    `fully_masked_rows` says what a query row whose every key is masked
    (-inf) produces: "nan" (the plain softmax formula, as an exported
    softmax computes it), "zero" (as graphs that guard the probabilities
    with IsNaN -> Where compute it) or "uniform" (equal weights on every
    key, the mean of v: what adding a huge finite fill such as float32
    lowest to every score of the row computes). `tile_q`/`tile_kv`, when set (by
    `tessel-tile-attention`), are the query/key block sizes of the tiled
    online-softmax evaluation.
  }];
  let arguments = (ins Tessel_FloatTensor:$q, Tessel_FloatTensor:$k,
                   Tessel_FloatTensor:$v, Optional<Tessel_Tensor>:$mask,
                   DefaultValuedAttr<I64Attr, "0">:$is_causal,
                   OptionalAttr<I64Attr>:$q_num_heads,
                   OptionalAttr<I64Attr>:$kv_num_heads,
                   OptionalAttr<F32Attr>:$scale,
                   DefaultValuedAttr<F32Attr, "0.0">:$softcap,
                   DefaultValuedAttr<I64Attr, "-1">:$window_left,
                   DefaultValuedAttr<I64Attr, "-1">:$window_right,
                   DefaultValuedStrAttr<StrAttr, "nan">:$fully_masked_rows,
                   OptionalAttr<I64Attr>:$tile_q,
                   OptionalAttr<I64Attr>:$tile_kv);
  let results = (outs Tessel_FloatTensor:$y);
}

def Tessel_KvAttentionOp
    : Op<Tessel_Dialect, "kv_attention",
         [InferTypeOpAdaptorWithIsCompatible,
          MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "Causal attention over a sequence's paged KV cache.";
  let description = [{
    Created by `tessel-insert-kv-cache`. `q` is `[batch, num_heads, seq,
    head_dim]`, `k`/`v` are the new tokens' keys and values `[batch,
    num_kv_heads, seq, head_dim]`; `past_lens[b]` is how many tokens sequence
    b already holds in the cache. The op appends k/v of cache `layer` at
    positions `past_lens[b] .. past_lens[b] + seq - 1`, then computes causal
    attention of each new query (at position p) over the cached keys
    `max(0, p - window_left) .. p` (`window_left` = -1: unbounded), with
    `scale` and `softcap` as in `tessel.attention`. The cache itself is
    runtime state (the runtime binds it to the batch's sequences before an
    entry point runs), hence the memory effects. `mode` is "prefill" or
    "decode" and selects the kernel; the result is the same.
  }];
  let arguments = (ins Tessel_FloatTensor:$q, Tessel_FloatTensor:$k,
                   Tessel_FloatTensor:$v, Tessel_I64Tensor:$past_lens,
                   I64Attr:$layer, F32Attr:$scale,
                   DefaultValuedAttr<F32Attr, "0.0">:$softcap,
                   DefaultValuedAttr<I64Attr, "-1">:$window_left,
                   DefaultValuedStrAttr<StrAttr, "prefill">:$mode);
  let results = (outs Tessel_FloatTensor:$y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    bool $cppClass::isCompatibleReturnTypes(::mlir::TypeRange l,
                                            ::mlir::TypeRange r) {
      return ::mlir::tessel::areCompatibleTensorTypes(l, r);
    }
  }];
}

def Tessel_RotaryEmbeddingOp : Tessel_Op<"rotary_embedding"> {
  let summary = "ONNX `RotaryEmbedding` (opset 23).";
  let arguments = (ins Tessel_FloatTensor:$x, Tessel_FloatTensor:$cos_cache,
                   Tessel_FloatTensor:$sin_cache,
                   Optional<Tessel_I64Tensor>:$position_ids,
                   DefaultValuedAttr<I64Attr, "0">:$interleaved,
                   OptionalAttr<I64Attr>:$num_heads,
                   DefaultValuedAttr<I64Attr, "0">:$rotary_embedding_dim);
  let results = (outs Tessel_FloatTensor:$y);
}

#endif // TESSEL_OPS_TD
