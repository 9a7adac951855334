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
    run time. Unsigned element types become signless. Rotary embedding is one
    linalg.generic that reads each element's pair and the caches with
    tensor.extract. Composite ops (attention, RMS norm) must have been
    expanded first by `tessel-expand-composite-ops`; an op without a
    lowering makes the pass fail with a diagnostic on that op.
  }];
  let dependentDialects = [
    "linalg::LinalgDialect", "tensor::TensorDialect", "arith::ArithDialect",
    "math::MathDialect", "scf::SCFDialect", "bufferization::BufferizationDialect"
  ];
}

def TesselExpandCompositeOpsPass
    : Pass<"tessel-expand-composite-ops", "func::FuncOp"> {
  let summary = "Rewrites attention, RMS normalisation and Gemm into "
                "primitive tessel ops.";
  let description = [{
    The reference expansion the CPU target uses for ops it has no dedicated
    kernel for:
      tessel.attention(q, k, v, mask) ->
        softmax(scale * q x k^T (+ mask, causal)) x v, with k/v heads
        repeated for GQA
      tessel.rms_normalization(x, s) -> x / sqrt(mean(x^2) + eps) * s
      tessel.gemm -> transpose / matmul / mul / add
  }];
  let dependentDialects = ["tessel::TesselDialect"];
}

def TesselOutlineWeightsPass : Pass<"tessel-outline-weights", "ModuleOp"> {
  let summary = "Gives @main (and each `tessel.entry` function) the model "
                "ABI: weights come from a buffer argument, results are fresh "
                "buffers.";
  let description = [{
    Each `tessel.constant dense_resource<...>` in @main becomes a read-only
    view at a 64-byte aligned offset of a new first argument
    `%weights: memref<?xi8>` (`memref.view` + `bufferization.to_tensor
    restrict`). The module gets a `tessel.weights` attribute listing, per
    weight, its name, offset and value, from which the emitter writes
    `model.weights`. Inline (small) constants stay in the code. Each result
    of @main is copied into a fresh `bufferization.alloc_tensor`, so the
    caller owns every returned buffer (none aliases an input or a weight).
    Functions marked `tessel.entry` (the `prefill`/`decode` entry points of
    `tessel-insert-kv-cache`) get the same treatment and share the buffer:
    a weight they have in common is stored once.
  }];
  let dependentDialects = [
    "memref::MemRefDialect", "bufferization::BufferizationDialect",
    "arith::ArithDialect"
  ];
}

def TesselLinalgToBlasPass : Pass<"tessel-linalg-to-blas", "ModuleOp"> {
  let summary = "Calls OpenBLAS sgemm for f32 matrix products on buffers.";
  let description = [{
    After bufferization, `linalg.matmul`, `linalg.batch_matmul` and their
    `_transpose_b` forms on f32 memrefs whose last two dims are row- or
    column-major become `func.call @cblas_sgemm` (one per batch entry, in an
    `scf.for`), guarded against empty problems. Other element types and
    layouts keep the loop lowering. The model library then links OpenBLAS.
    With `gemm=tessel_cuda_sgemm` (the CUDA target) the calls go to the
    runtime's cuBLAS-backed function of the same signature instead, and
    with `mixed-gemm=tessel_cuda_gemm_mixed` products of f16 or bf16
    operands into an f32 result (`--precision`) go to the runtime's
    cuBLAS GemmEx-backed function (f32 compute).
    A module pass: it declares the callee in the module, which a pass
    running on several functions in parallel (@main, @prefill, @decode)
    must not do.
  }];
  let options = [
    Option<"gemm", "gemm", "std::string", "\"cblas_sgemm\"",
           "The function called: cblas_sgemm, or tessel_cuda_sgemm (same "
           "CBLAS signature, on memory the GPU reaches)">,
    Option<"mixedGemm", "mixed-gemm", "std::string", "\"\"",
           "The function products of f16/bf16 operands into f32 call (the "
           "CBLAS signature plus an i32: 0 f16, 1 bf16), e.g. "
           "tessel_cuda_gemm_mixed; empty: they keep the loop lowering">
  ];
  let dependentDialects = [
    "LLVM::LLVMDialect", "scf::SCFDialect", "arith::ArithDialect",
    "memref::MemRefDialect", "func::FuncDialect"
  ];
}

def TesselFuseElementwisePass
    : Pass<"tessel-fuse-elementwise", "func::FuncOp"> {
  let summary = "Fuses producer/consumer element-wise linalg.generic ops, "
                "folding reshapes into them, but never into named ops.";
  let description = [{
    Upstream's `linalg-fuse-elementwise-ops` with one difference: a reshape
    is folded into (or out of) a `linalg.generic` only, never into a named
    op such as `linalg.batch_matmul`, which folding would turn into a
    generic and so take away from `tessel-linalg-to-blas` (unfused 4-D
    attention graphs ran 25x slower that way).
  }];
  let dependentDialects = ["linalg::LinalgDialect", "tensor::TensorDialect",
                           "affine::AffineDialect"];
}

def TesselWidenNarrowFloatMathPass
    : Pass<"tessel-widen-narrow-float-math", "func::FuncOp"> {
  let summary = "Computes f16/bf16 arith/math ops in f32; drops roundings "
                "whose value goes straight back to f32.";
  let description = [{
    Each arith/math op with f16/bf16 operands or results is rebuilt in f32
    (`arith.extf` of its narrow operands, `arith.truncf` of its narrow
    results), and `extf(truncf(x))` of an f32 `x` becomes `x`. Run after
    element-wise fusion, a fused kernel's intermediate values stay f32 and
    only what it stores is rounded (once), instead of once per op.

    Before:
      %s = arith.addf %a, %b : bf16
      %t = arith.mulf %s, %c : bf16
    After:
      %a1 = arith.extf %a : bf16 to f32    (b, c too)
      %s = arith.addf %a1, %b1 : f32
      %t = arith.mulf %s, %c1 : f32
      %r = arith.truncf %t : f32 to bf16
  }];
  let dependentDialects = ["arith::ArithDialect"];
}

def TesselMarkSameShapeOperandsPass
    : Pass<"tessel-mark-same-shape-operands", "func::FuncOp"> {
  let summary = "Records the operands of tessel ops that provably have the "
                "result's (dynamic) shape.";
  let description = [{
    The element-wise lowering checks every dynamic operand dim at run time
    (it may be a broadcast 1) and emits two `linalg.generic` ops under an
    `scf.if`, which element-wise fusion cannot merge across. This pass
    proves, with the symbolic shape analysis the fusion passes use (which
    knows the model's `tessel.dim_params`), which operands have exactly the
    result's dims, and lists them in `tessel.same_shape_operands`; the
    lowering reads those with an identity map and no check. Run it before
    `tessel-outline-weights` (it reads the entry's dim_params by argument
    position).

      %z = tessel.mul %x, %y : (tensor<?x4096xf32>, tensor<?x4096xf32>) -> ...
    with %x, %y inputs of one dim_param ("rows") becomes
      %z = tessel.mul %x, %y {tessel.same_shape_operands = array<i64: 0, 1>}
  }];
}

def TesselResolveReshapeShapesPass
    : Pass<"tessel-resolve-reshape-shapes", "func::FuncOp"> {
  let summary = "Replaces a Reshape's computed target shape by a constant "
                "where the symbolic shape analysis proves every entry.";
  let description = [{
    Exporters compute a Reshape's target from the input's own shape; the
    lowering then sees a run-time shape tensor and emits tensor.reshape,
    which element-wise fusion cannot see through. Using ShapeFacts (which
    knows the entry's ONNX dim_params), a target whose every result dim is
    the input's dim at the same index or a positive constant becomes a
    constant with ONNX's 0 ("copy the input dim") for the former:

      %s = tessel.concat %b, %n, %c4, %c16   // from tessel.shape %x
      %y = tessel.reshape %x, %s : (tensor<?x?x64xf32>, ...) -> tensor<?x?x?x16xf32>
    becomes
      %s = tessel.constant dense<[0, 0, 4, 16]> : tensor<4xi64>
      %y = tessel.reshape %x, %s ...

    Reshapes with allowzero = 1, with a target already constant, or with a
    dim the analysis cannot prove keep their operand. Run it before
    `tessel-outline-weights` (ShapeFacts reads the dim_params by argument
    position).
  }];
  let dependentDialects = ["tessel::TesselDialect"];
}

def TesselTileGpuLoopsPass : Pass<"tessel-tile-gpu-loops", "func::FuncOp"> {
  let summary = "Tiles each outermost scf.parallel so that its inner loop "
                "maps to the threads of a GPU block.";
  let description = [{
    `gpu-map-parallel-loops` maps an scf.parallel to the grid and a nested
    one to the threads of a block; a lone loop nest would run one thread per
    block. Each outermost scf.parallel has its dims reversed (the innermost,
    contiguous one becomes dim 0, i.e. x) and is tiled (no min/max bounds:
    the inner loop runs the whole tile behind a guard) with tiles of at most
    `threads` iterations from dim 0 on, within the block limits of x, y and
    z (1024, 1024, 64), so that neighbouring threads touch neighbouring
    elements.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", "256",
           "Iterations per tile (threads per block)">
  ];
  let dependentDialects = ["scf::SCFDialect", "arith::ArithDialect"];
}

def TesselLaunchRowReductionsPass
    : Pass<"tessel-launch-row-reductions", "func::FuncOp"> {
  let summary = "Lowers a linalg.generic that reduces its innermost dim to a "
                "gpu.launch with a warp or block per row.";
  let description = [{
    The generic CUDA path (parallel loops mapped to the grid) gives each
    output element one thread that walks the reduced dim alone. This pass
    takes a `linalg.generic` on buffers whose loops are parallel except the
    innermost, reduced one, with one f32 or i32 output indexed by the
    parallel dims, inputs that are contiguous along the reduced dim, and a
    body that combines into the output with one op that has a neutral
    element (`arith.addf`, `arith.maximumf`, `arith.maxnumf`, `arith.addi`,
    ...). It becomes

      scf.if %rows > 0 {
        gpu.launch blocks(ceil(rows / R), 1, 1) threads(32 * W, R, 1)
            [workgroup(memref<R*W x f32, workgroup>) when W > 1] {
          each lane: acc = neutral; for k = lane; k < K; k += 32 * W:
                     acc = body(inputs[row, k], acc)
          warp shuffles (xor), then shared memory across the W warps;
          lane 0: out[row] = combine(total, out[row])
        }
      }

    with W warps per row (a static K: K / 256 rounded down to a power of
    two, 1 to 8; a dynamic K: 1) and R = 8 / W rows per 256-thread block.
    Anything else (several outputs, a reduced dim that is not the
    innermost, f16/f64 results) keeps the generic lowering.
  }];
  let dependentDialects = ["gpu::GPUDialect", "scf::SCFDialect",
                           "arith::ArithDialect", "memref::MemRefDialect"];
}

def TesselAsyncGpuLaunchesPass
    : Pass<"tessel-async-gpu-launches", "ModuleOp"> {
  let summary = "Makes every host-side gpu.launch_func async and waits only "
                "where the host touches memory.";
  let description = [{
    A plain `gpu.launch_func` lowers to stream create, launch, stream
    synchronize: the host waits for every kernel. Every launch of a CUDA
    model goes to one stream (the runtime's per-thread stream: gpu.wait
    async returns it), so kernels stay ordered without those waits. Each
    launch becomes

      %s = gpu.wait async
      %t = gpu.launch_func async [%s] @kernels::@k ...

    and the host waits (`%w = gpu.wait async; gpu.wait [%w]`) only before
    the first op after a launch that may read or write buffer contents on
    the host: memref.load/store/copy/atomic_rmw, calls of external functions
    other than the runtime's stream-ordered ones (tessel_cuda_* cuBLAS
    products, tessel_rt_cuda_* kernels: they read descriptors, never buffer
    contents), and ops with unknown effects. Allocations and frees do not
    wait: the runtime's memory pool hands a block to later work of the same
    stream. Small static integer buffers outside loops that only the host
    touches (loads, stores, a reshape's shape operand: shape tensors) become
    `memref.alloca`, whose loads and stores need no wait; loads of the
    function's arguments (inputs, weights: never written by kernels) need
    none either.
    The runtime waits for the stream when the entry point returns, and
    calls public functions with the stream idle. Runs on host code after
    scf-to-cf (control enters any other block with work pending).
  }];
  let dependentDialects = ["gpu::GPUDialect"];
}

def TesselStageGpuConstantsPass
    : Pass<"tessel-stage-gpu-constants", "func::FuncOp"> {
  let summary = "Copies the memref.global constants GPU kernels read into "
                "buffers the device can reach.";
  let description = [{
    After `convert-parallel-loops-to-gpu`, kernels would read constants
    (small folded tensors) straight from host globals. Each
    `memref.get_global` outside a `gpu.launch` whose value a launch uses
    (or whose pointer goes to `tessel_cuda_sgemm`) is
    replaced by a fresh buffer (`memref.alloc`, managed memory on the CUDA
    target) filled with `linalg.copy` on the host, and freed before the
    terminator of its block.
  }];
  let dependentDialects = ["linalg::LinalgDialect", "memref::MemRefDialect"];
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

def TesselTileAttentionPass : Pass<"tessel-tile-attention", "func::FuncOp"> {
  let summary = "Chooses the query/key tile sizes of each `tessel.attention`.";
  let description = [{
    Sets `tile_q` / `tile_kv` on every `tessel.attention` that
    `convert-tessel-attention-to-loops` can lower (ranked 3-D or 4-D
    operands, static head counts and head dims, a bool or float mask of rank
    <= 4). One online-softmax step keeps a q tile, the running max and sum,
    the [tile_q, head_dim_v] accumulator, the [tile_q, tile_kv] scores and
    probabilities and a k/v tile in f32; the pass takes the largest tiles
    whose step fits in `cache-bytes`, never larger than a static sequence.

    Before:
      %o = tessel.attention %q, %k, %v {is_causal = 1 : i64} : ...
    After:
      %o = tessel.attention %q, %k, %v {is_causal = 1 : i64,
             tile_kv = 256 : i64, tile_q = 64 : i64} : ...

    Ops that already have both tile sizes keep them; ops the lowering does
    not handle get none (the composite expansion lowers those).
  }];
  let options = [
    Option<"tileQ", "tile-q", "int64_t", /*default=*/"0",
           "Query tile size (0: chosen from the head dim and cache-bytes)">,
    Option<"tileKv", "tile-kv", "int64_t", /*default=*/"0",
           "Key/value tile size (0: chosen from the head dim and "
           "cache-bytes)">,
    Option<"cacheBytes", "cache-bytes", "int64_t", /*default=*/"512 * 1024",
           "On-chip bytes one tile step may use (CPU: 512 KiB)">,
  ];
}

def ConvertTesselAttentionToLoopsPass
    : Pass<"convert-tessel-attention-to-loops", "func::FuncOp"> {
  let summary = "Lowers tiled `tessel.attention` to an online-softmax loop "
                "nest on tensors.";
  let description = [{
    Each `tessel.attention` with `tile_q` and `tile_kv` becomes scf.for loops
    over batch, query heads and query tiles, and an inner scf.for over
    key/value tiles carrying the running row max `m`, row sum `l` and the
    [tile_q, head_dim_v] accumulator (f32 for f16/bf16 inputs):
      s = (scale * q_tile) x k_tile^T   (softcap, mask, causal/window)
      m' = max(m, rowmax(s)); p = exp(s - m'); a = exp(m - m')
      l' = l * a + rowsum(p); acc' = acc * a + p x v_tile
    and the tile's output is acc / l. Key tiles that the causal or window
    mask hides entirely are not visited (the inner loop's bounds depend on
    the query tile); tiles crossing the mask's edge are masked element-wise.
    A row with every key masked gives NaN (`fully_masked_rows = "nan"`, as
    the softmax formula) or 0 (`"zero"`). Query head h reads key/value head
    h / (q_heads / kv_heads) in place. Products are linalg.matmul /
    linalg.matmul_transpose_b on tiles (OpenBLAS for f32 after
    bufferization); nothing of size seq_q x seq_kv is created.

    It does not fire on ops without tile sizes, and leaves (with a reason)
    those it cannot lower: unranked operands, dynamic head counts or head
    dims, masks that are not bool/float or have rank > 4, a mask longer than
    the keys.
  }];
  let dependentDialects = [
    "linalg::LinalgDialect", "tensor::TensorDialect", "arith::ArithDialect",
    "math::MathDialect", "scf::SCFDialect"
  ];
}

def ConvertTesselAttentionToCudaKernelPass
    : Pass<"convert-tessel-attention-to-cuda-kernel", "ModuleOp"> {
  let summary = "Lowers f16/bf16 `tessel.attention` to the runtime's "
                "tensor-core FlashAttention kernel (CUDA target).";
  let description = [{
    Each `tessel.attention` the kernel computes becomes

      %q = bufferization.to_memref %q read_only    (k, v too)
      %o = memref.alloc(batch, heads, seq, head_dim) {alignment = 16}
      func.call @tessel_rt_cuda_attention_f16(%q, %k, %v, %o, %scale,
                                              %causal, %window_left,
                                              %zero_masked_rows)
      %y = bufferization.to_tensor %o restrict writable

    (`_bf16` for bf16) with a private declaration carrying
    `llvm.emit_c_interface`: libtessel_rt exports
    `_mlir_ciface_tessel_rt_cuda_attention_*`, which launches
    runtime/cuda/FlashAttention.cu. The kernel takes 4-D f16/bf16 operands
    with head dim 64, 80, 96, 128 or 256, MHA/GQA/MQA (static head counts),
    causal (bottom-right aligned) and left windows, and no mask operand or
    softcap; other attention ops are left to the loop lowering. Strides and
    alignment are checked at run time (the run fails with a message if the
    kernel cannot read a buffer).
  }];
  let dependentDialects = [
    "bufferization::BufferizationDialect", "memref::MemRefDialect",
    "func::FuncDialect", "arith::ArithDialect", "tensor::TensorDialect"
  ];
}

def ConvertTesselKvAttentionToRuntimePass
    : Pass<"convert-tessel-kv-attention-to-runtime", "ModuleOp"> {
  let summary = "Lowers `tessel.kv_attention` to a call into libtessel_rt's "
                "paged KV cache.";
  let description = [{
    The paged cache is runtime state, so its attention is a runtime kernel:
    each op becomes

      %q = bufferization.to_memref %q read_only    (k, v, past_lens too)
      %o = memref.alloc(batch, heads, seq, head_dim)
      func.call @tessel_rt_kv_attention(%layer, %mode, %q, %k, %v,
                                        %past_lens, %o, %scale, %softcap,
                                        %window_left)
      %y = bufferization.to_tensor %o restrict writable

    with a private declaration carrying `llvm.emit_c_interface`: the model
    calls `_mlir_ciface_tessel_rt_kv_attention` with pointers to memref
    descriptors (any strides), which libtessel_rt exports. On the CPU
    (`target=cpu`) only f32 is lowered; other element types are left with a
    reason. With `target=cuda` the call is
    `@tessel_rt_cuda_kv_attention_{f32,f16,bf16}` (same operands, memrefs
    of the element type): the runtime's CUDA paged cache, which stores that
    type.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"cpu\"",
           "cpu (f32 host kernel) or cuda (f32/f16/bf16 device kernels)">,
  ];
  let dependentDialects = [
    "func::FuncDialect", "memref::MemRefDialect",
    "bufferization::BufferizationDialect", "arith::ArithDialect"
  ];
}

#endif // TESSEL_CODEGEN_PASSES_TD
