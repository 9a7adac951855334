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
    semantics are exact. Dims are compared symbolically (the exporters leave
    batch, sequence and head counts `?`): a head count the pass proves (e.g.
    `Reshape` to `[b, s, -1, 16]` of `[b, s, 64]`) is made static with a
    `tensor.cast` of the operand.

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

#endif // TESSEL_PASSES_TD
