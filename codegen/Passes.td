//===- Passes.td - tessel code generation passes ------------*- tablegen -*-===//

#ifndef TESSEL_CODEGEN_PASSES_TD
#define TESSEL_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertTesselToLinalgPass
    : Pass<"convert-tessel-to-linalg", "func::FuncOp"> {
  let summary = "Lowers tessel ops to linalg/tensor/arith/math on tensors.";
  let description = [{
    Every tessel op becomes linalg (generic, matmul, fill, transpose), tensor
    (empty, extract_slice, insert_slice, reshape, pad) and arith/math ops on
    tensors; batch and sequence dims stay dynamic. Element-wise ops broadcast
    with affine maps where the dims are known and resolve `?` against `?` at
    run time. Unsigned element types become signless. Composite ops
    (attention, rotary embedding, RMS norm) must have been expanded first by
    `tessel-expand-composite-ops`; an op without a lowering makes the pass
    fail with a diagnostic on that op.
  }];
  let dependentDialects = [
    "linalg::LinalgDialect", "tensor::TensorDialect", "arith::ArithDialect",
    "math::MathDialect", "scf::SCFDialect", "bufferization::BufferizationDialect"
  ];
}

def TesselExpandCompositeOpsPass
    : Pass<"tessel-expand-composite-ops", "func::FuncOp"> {
  let summary = "Rewrites attention, rotary embedding, RMS normalisation and "
                "Gemm into primitive tessel ops.";
  let description = [{
    The reference expansion the CPU target uses for ops it has no dedicated
    kernel for:
      tessel.attention(q, k, v, mask) ->
        softmax(scale * q x k^T (+ mask, causal)) x v, with k/v heads
        repeated for GQA
      tessel.rms_normalization(x, s) -> x / sqrt(mean(x^2) + eps) * s
      tessel.rotary_embedding -> gathers of the caches and rotate-half
      tessel.gemm -> transpose / matmul / mul / add
  }];
  let dependentDialects = ["tessel::TesselDialect"];
}

def TesselOutlineWeightsPass : Pass<"tessel-outline-weights", "ModuleOp"> {
  let summary = "Gives @main the model ABI: weights come from a buffer "
                "argument, results are fresh buffers.";
  let description = [{
    Each `tessel.constant dense_resource<...>` in @main becomes a read-only
    view at a 64-byte aligned offset of a new first argument
    `%weights: memref<?xi8>` (`memref.view` + `bufferization.to_tensor
    restrict`). The module gets a `tessel.weights` attribute listing, per
    weight, its name, offset and value, from which the emitter writes
    `model.weights`. Inline (small) constants stay in the code. Each result
    of @main is copied into a fresh `bufferization.alloc_tensor`, so the
    caller owns every returned buffer (none aliases an input or a weight).
  }];
  let dependentDialects = [
    "memref::MemRefDialect", "bufferization::BufferizationDialect",
    "arith::ArithDialect"
  ];
}

def TesselLinalgToBlasPass : Pass<"tessel-linalg-to-blas", "func::FuncOp"> {
  let summary = "Calls OpenBLAS sgemm for f32 matrix products on buffers.";
  let description = [{
    After bufferization, `linalg.matmul`, `linalg.batch_matmul` and their
    `_transpose_b` forms on f32 memrefs whose last two dims are row- or
    column-major become `func.call @cblas_sgemm` (one per batch entry, in an
    `scf.for`), guarded against empty problems. Other element types and
    layouts keep the loop lowering. The model library then links OpenBLAS.
  }];
  let dependentDialects = [
    "LLVM::LLVMDialect", "scf::SCFDialect", "arith::ArithDialect",
    "memref::MemRefDialect", "func::FuncDialect"
  ];
}

def TesselApproximateMathPass
    : Pass<"tessel-approximate-math", "func::FuncOp"> {
  let summary = "Replaces f32 transcendental math ops by polynomial "
                "approximations.";
  let description = [{
    Applies MLIR's polynomial approximations (exp, expm1, log, log1p, tanh,
    erf, sin, cos, ...) to f32 math ops so that loops calling them vectorise
    instead of calling libm per element. Other element types keep the math
    ops (lowered to libm later).
  }];
  let dependentDialects = ["arith::ArithDialect", "math::MathDialect",
                           "vector::VectorDialect", "LLVM::LLVMDialect"];
}

#endif // TESSEL_CODEGEN_PASSES_TD
