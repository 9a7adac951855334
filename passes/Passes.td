//===- Passes.td - tessel graph passes ----------------------*- tablegen -*-===//

#ifndef TESSEL_PASSES_TD
#define TESSEL_PASSES_TD

include "mlir/Pass/PassBase.td"

def TesselInferShapesPass : Pass<"tessel-infer-shapes", "func::FuncOp"> {
  let summary = "Refines result types from operand types and known shape "
                "values, and the function's result types to match.";
  let description = [{
    Walks the function in order and replaces each result type by the most
    static type compatible with both the declared type and what the op
    infers. Dims that depend on a dynamic input stay `?`.

    Before:
      %s = tessel.constant dense<[2, 8]> : tensor<2xi64>
      %r = tessel.reshape %x, %s : (tensor<16xf32>, tensor<2xi64>) -> tensor<?x?xf32>
    After:
      %r = tessel.reshape %x, %s : (tensor<16xf32>, tensor<2xi64>) -> tensor<2x8xf32>

    It never makes a type less static and leaves ops that fail to infer
    untouched (the verifier reports those). A function with callers keeps
    its signature; refined results are cast back with `tensor.cast`.
  }];
  let dependentDialects = ["tessel::TesselDialect", "tensor::TensorDialect"];
}

def TesselFoldConstantsPass : Pass<"tessel-fold-constants", "func::FuncOp"> {
  let summary = "Evaluates ops whose operands are constants, and shape "
                "computations whose dims are static, into constants.";
  let description = [{
    The exporters fill graphs with `Shape -> Gather -> Unsqueeze -> Concat ->
    Reshape` chains and mask construction over constants. This pass walks the
    function in order, refines each op's types (as `tessel-infer-shapes`),
    and replaces an op by `tessel.constant` when the constant evaluator can
    compute it, or when it is a 1-D integer shape value whose every entry is
    known (e.g. `tessel.shape` of a tensor whose read dims are static).

    Before:
      %s = tessel.shape %x : (tensor<?x64xf32>) -> tensor<2xi64>
      %d = tessel.gather %s, %c1 {axis = 0} : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
    After:
      %d = tessel.constant dense<64> : tensor<i64>

    It does not fold results larger than `max-elements` (unless splat), ops
    reading blob-resource weights, or ops whose shape depends on a dynamic
    dim. Dead ops are left for `canonicalize`.
  }];
  let dependentDialects = ["tessel::TesselDialect", "tensor::TensorDialect"];
  let options = [
    Option<"maxElements", "max-elements", "int64_t", /*default=*/"65536",
           "Largest non-splat constant (in elements) the pass creates">,
  ];
}

def TesselFuseAttentionPass : Pass<"tessel-fuse-attention", "func::FuncOp"> {
  let summary = "Rewrites each exported attention block into one 4-D "
                "`tessel.attention`.";
  let description = [{
    Starts at every `tessel.softmax` over the last axis of 4-D scores and
    matches `softmax(scale * q x k^T + mask) x v` in the spellings the
    PyTorch exporters emit:
    - the scale as mul/div of the scores by a scalar constant, or as a mul
      of q and of k^T each (sqrt(scale) on both); the factors multiply;
    - k^T as `transpose(k, [0, 1, 3, 2])` (through transposes of k, e.g. a
      `[b, s, h, d]` k with perm `[0, 2, 3, 1]`), or as
      `reshape(transpose(reshape(k, [b*h, s, d]), [0, 2, 1]), [b, h, d, s])`;
    - the mask as a float tensor added to the scores, or as
      `where(mask, scores, -inf)` (`where(mask, -inf, scores)` gives
      `not(mask)`);
    - identity casts of the probabilities, and `where(is_nan(p), 0, p)`,
      which becomes `fully_masked_rows = "zero"` (else "nan");
    - repeat_kv (`reshape(expand(unsqueeze(x, [2]), [b, h, n, s, d]),
      [b, h*n, s, d])`) of both k and v: the op reads the kv heads x (GQA).

    Before:
      %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : ...
      %s = tessel.matmul %q, %kt : ... -> tensor<1x4x16x16xf32>
      %ss = tessel.div %s, %c8 : (tensor<1x4x16x16xf32>, tensor<f32>) -> ...
      %m = tessel.add %ss, %mask : ...
      %p = tessel.softmax %m {axis = -1 : i64} : ...
      %o = tessel.matmul %p, %v : ... -> tensor<1x4x16x64xf32>
    After:
      %o = tessel.attention %q, %k, %v, %mask {fully_masked_rows = "nan",
             is_causal = 0 : i64, scale = 1.250000e-01 : f32, ...} : ...

    The graph's mask is kept as the op's mask (is_causal = 0), so the
    semantics are exact; only a constant mask that is exactly the causal one
    (bool, or float 0 / -inf, for static sequence lengths) becomes
    is_causal = 1 without a mask. Dims are compared symbolically (the
    exporters leave batch, sequence and head counts `?`), using the model's
    `tessel.dim_params` (inputs' dims of one ONNX dim_param are one size): a
    head count the pass proves (e.g. `Reshape` to `[b, s, -1, 16]` of
    `[b, s, 64]`) is made static with a `tensor.cast` of the operand.

    It does not fire, and sets `tessel.unfused = "<reason>"` on the softmax,
    when the block deviates: the scores or probabilities have other users,
    the scale is not a scalar constant, the softmax is not over the keys,
    k^T is not provably k with its last two dims swapped, the head counts
    are not static or not what the graph's matmuls compute, the mask may
    widen the scores (a mask dim other than 1 that is not provably the
    scores' dim; on the key dim only a static mismatch counts, since p x v
    would reject any other), more than one mask, a mask fill other than
    -inf. Softmaxes with no matmul around them are left alone.
  }];
  let dependentDialects = ["tessel::TesselDialect", "tensor::TensorDialect"];
}

def TesselFuseNormsPass : Pass<"tessel-fuse-norms", "func::FuncOp"> {
  let summary = "Fuses spelled-out RMSNorm and LayerNorm chains into "
                "tessel.rms_normalization / tessel.layer_normalization.";
  let description = [{
    Matches the normalisation `n = v / Sqrt(ReduceMean(Pow(v, 2)) + eps)`
    (also `v * Reciprocal(r)` and `v * (1 / r)`, `v * v` for the square)
    over trailing axes with keepdims, and absorbs what follows it when it
    is the only user: a Cast back to the input's element type, a Mul by a
    scale, and (LayerNorm) an Add of a bias. `v = x` gives RMSNorm,
    `v = x - ReduceMean(x)` LayerNorm. The statistics may be computed on
    `Cast(x, f32)` (the llama exports do), which becomes stash_type = 1.

    Before (llama RMSNorm):
      %xf = tessel.cast %x {to = f32}
      %p = tessel.pow %xf, %two
      %m = tessel.reduce_mean %p {axes = array<i64: -1>}
      %a = tessel.add %m, %eps
      %r = tessel.sqrt %a
      %i = tessel.div %one, %r
      %n = tessel.mul %xf, %i
      %c = tessel.cast %n {to = f32}
      %y = tessel.mul %w, %c
    After:
      %y = tessel.rms_normalization %x, %w {epsilon = 1.0e-06 : f32}

    It does not fire when an intermediate value has another user, when the
    exponent is not exactly 2, epsilon not a scalar constant >= 0, the
    reduction not over trailing axes with keepdims, the statistics computed
    in a type other than f32, or a scale/bias would broadcast x to a larger
    shape (its rank must be at most the number of normalised dims and each
    of its dims 1 or x's static dim). Without a scale the op gets ones.
  }];
  let dependentDialects = ["tessel::TesselDialect"];
}

def TesselFuseActivationsPass
    : Pass<"tessel-fuse-activations", "func::FuncOp"> {
  let summary = "Fuses spelled-out GELU (erf and tanh forms) and SiLU into "
                "tessel.gelu / tessel.silu.";
  let description = [{
    GELU is matched as a product, in any association order, of exactly the
    three factors x, 0.5 and (1 + f) with f one of
      Erf(x / sqrt(2)) or Erf(x * (1/sqrt(2)))            -> approximate = "none"
      Tanh(sqrt(2/pi) * (x + 0.044715 * Pow(x, 3)))        -> approximate = "tanh"
    every sum and product with operands in either order. SiLU is
    `x * Sigmoid(x)`; a SwiGLU `silu(gate) * up` keeps its Mul.

    Before (bert, TorchScript exporter):
      %d = tessel.div %x, %sqrt2
      %e = tessel.erf %d
      %a = tessel.add %e, %one
      %m = tessel.mul %x, %a
      %y = tessel.mul %m, %half
    After:
      %y = tessel.gelu %x {approximate = "none"}

    Constants must be splats whose dims are all 1 and whose rank is at most
    x's (so they never broadcast x), with 1, 0.5, 2 and 3 exact and
    sqrt(2), 1/sqrt(2), sqrt(2/pi), 0.044715 within two ulps of the element
    type. It does not fire when an intermediate value has another user or
    the product has another factor.
  }];
  let dependentDialects = ["tessel::TesselDialect"];
}

def TesselFuseRotaryPass : Pass<"tessel-fuse-rotary", "func::FuncOp"> {
  let summary = "Fuses the rotate-half spelling of rotary position "
                "embeddings into tessel.rotary_embedding.";
  let description = [{
    Matches `x * cos + Concat(Neg(x[..., h:]), x[..., :h]) * sin` (halves
    by Slice or an even Split) with x `[B, H, S, 2h]` and cos/sin
    `[b, 1, S', 2h]`, and replaces it by ONNX RotaryEmbedding without
    position_ids over caches `[b, S', h]`: the first halves of the caches.
    That is the same function only when each cache repeats its first half
    in its second, which the pass proves from how it is built (a
    `Concat(freqs, freqs)` on the last axis seen through point-wise ops, or
    equal halves of a constant). It also proves, through the shape ops,
    that b and S' are x's batch and sequence dims or 1, so the caches never
    enlarge x. A b or S' of 1 broadcasts, as in the ONNX reference
    implementation.

    Before (llama):
      %c = tessel.concat %f, %f {axis = -1}
      %cos3 = tessel.cos %c
      %cos = tessel.unsqueeze %cos3 {axes = array<i64: 1>}
      (%sin likewise)
      %x1 = tessel.slice %x, [0], [h], [3], [1]
      %x2 = tessel.slice %x, [h], [INT64_MAX], [3], [1]
      %n = tessel.neg %x2
      %r = tessel.concat %n, %x1 {axis = -1}
      %a = tessel.mul %x, %cos
      %b = tessel.mul %r, %sin
      %y = tessel.add %a, %b
    After:
      %cosh = tessel.slice %cos3, [0], [h], [2], [1]
      %sinh = tessel.slice %sin3, [0], [h], [2], [1]
      %y = tessel.rotary_embedding %x, %cosh, %sinh

    It does not fire for interleaved (rotate-every-two) or partial
    rotations, x not 4-D with a static even head dim, intermediate values
    with other users, or when a proof fails; then the Add gets the
    discardable attributes `tessel.unfused = "<why>"` and
    `tessel.unfused_kind = "rotary_embedding"` (read by `tesselc --report`).
  }];
  let dependentDialects = ["tessel::TesselDialect"];
}

def TesselInsertKvCachePass : Pass<"tessel-insert-kv-cache", "ModuleOp"> {
  let summary = "Turns a stateless causal decoder into `prefill` and `decode` "
                "entry points over a paged KV cache.";
  let description = [{
    Input: `@main(input_ids [B, S], attention_mask [B, S]) -> logits [B, S,
    V]` whose attention is fused (`tessel.attention`, causal, 4-D). Output:
    `@main` unchanged, plus `@prefill` and `@decode`, both
    `(input_ids [B, S], past_lens [B]) -> logits [B, V]` (the last
    position's logits), sharing `@main`'s weights:

    - every `tessel.attention` becomes `tessel.kv_attention` with its
      layer index (in program order): the new tokens' k/v go into the
      cache, the queries attend over the cache. Its key-padding mask goes:
      a paged cache holds exactly each sequence's tokens;
    - positions: the exporters build position ids as `Range(0, S, 1)`
      unsqueezed at axis 0; that `[1, S]` value becomes `past_lens[:,
      None] + Range(0, S, 1)[None, :]` (`[B, S]`) and the types of its
      users are inferred again, so rotary and learned position
      embeddings both see each sequence's own positions;
    - `attention_mask` must then be dead; it is removed.

    The module gets `tessel.kv_cache = {num_layers, num_kv_heads,
    head_dim, window_left, dtype}`, which the runtime sizes the cache
    from. The pass fails, naming the op, when an attention is not causal,
    looks right of the query, is not 4-D, has a mask that depends on
    anything but `attention_mask`, when layers disagree on kv heads /
    head dim, or when `attention_mask` feeds something besides masks (the
    positions would not follow the cache then).

    `decode` differs from `prefill` only in `mode = "decode"` on its
    `tessel.kv_attention` ops (one query per sequence: the split-KV
    kernel).
  }];
  let dependentDialects = ["tessel::TesselDialect", "func::FuncDialect"];
}

def TesselConvertPrecisionPass
    : Pass<"tessel-convert-precision", "ModuleOp"> {
  let summary = "Converts a graph's f32 weights and activations to f16 or "
                "bf16 (accumulation stays f32).";
  let description = [{
    Every f32 tensor of every function becomes `precision`'s type: blob and
    inline constants are converted (round to nearest even; f16 saturates
    finite values beyond +-65504, so a float32-lowest mask fill stays a
    finite fill), and so are the results and f32 type attributes (`to` of
    `tessel.cast`) of every op. Inputs and outputs keep f32 at the
    interface: a cast follows each f32 input and precedes each f32 output.
    `tessel.kv_attention` keeps f32 operands (casts around it): the CPU's
    paged cache is f32. With `narrow-kv-cache` (the CUDA target) it converts
    like every other op, and the module's `tessel.kv_cache` dtype follows:
    the cache stores the narrow type.

    Before (precision=bf16):
      %y = tessel.gelu %x : (tensor<2x8xf32>) -> tensor<2x8xf32>
    After:
      %0 = tessel.cast %x {to = bf16} : (tensor<2x8xf32>) -> tensor<2x8xbf16>
      %y = tessel.gelu %0 : (tensor<2x8xbf16>) -> tensor<2x8xbf16>
      %1 = tessel.cast %y {to = f32} : (tensor<2x8xbf16>) -> tensor<2x8xf32>

    Accumulation stays f32 in the lowerings (products, sums, softmax,
    norms of narrow floats accumulate in f32).
  }];
  let options = [
    Option<"precision", "precision", "std::string", "\"fp16\"",
           "fp32 (no change), fp16 or bf16">,
    Option<"narrowKvCache", "narrow-kv-cache", "bool", "false",
           "tessel.kv_attention (and the paged cache) in the narrow type too">,
  ];
  let dependentDialects = ["tessel::TesselDialect", "func::FuncDialect"];
}

#endif // TESSEL_PASSES_TD
