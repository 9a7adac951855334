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

#endif // TESSEL_PASSES_TD
