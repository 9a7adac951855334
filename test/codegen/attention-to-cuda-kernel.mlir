// RUN: tessel-opt %s -convert-tessel-attention-to-cuda-kernel -split-input-file | FileCheck %s
//
// f16/bf16 attention the runtime's FlashAttention kernel computes becomes a
// call through its C interface; everything else stays tessel.attention for
// the tiled loop lowering.

// Causal GQA in f16: read-only buffers of q, k, v, a fresh 16-byte aligned
// result, scale (default 1/sqrt(64)), causal 1, no window (-1), rows
// without keys are not "zero" (0).
// CHECK-LABEL: func.func @causal_gqa_f16
// CHECK-SAME:    (%[[Q:.+]]: tensor<?x4x?x64xf16>, %[[K:.+]]: tensor<?x2x?x64xf16>, %[[V:.+]]: tensor<?x2x?x64xf16>)
// CHECK-DAG:     %[[SCALE:.+]] = arith.constant 1.250000e-01 : f32
// CHECK-DAG:     %[[ONE:.+]] = arith.constant 1 : i64
// CHECK-DAG:     %[[NONE:.+]] = arith.constant -1 : i64
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0 : i64
// CHECK-DAG:     %[[QM:.+]] = bufferization.to_memref %[[Q]] read_only : memref<?x4x?x64xf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-DAG:     %[[KM:.+]] = bufferization.to_memref %[[K]] read_only : memref<?x2x?x64xf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-DAG:     %[[VM:.+]] = bufferization.to_memref %[[V]] read_only
// CHECK:         %[[OUT:.+]] = memref.alloc(%{{.+}}, %{{.+}}) {alignment = 16 : i64} : memref<?x4x?x64xf16>
// CHECK:         call @tessel_rt_cuda_attention_f16(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[SCALE]], %[[ONE]], %[[NONE]], %[[ZERO]])
// CHECK:         %[[R:.+]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<?x4x?x64xf16>
// CHECK:         return %[[R]]
// CHECK-NOT:     tessel.attention
// CHECK:       func.func private @tessel_rt_cuda_attention_f16(memref<?x?x?x?xf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xf16, strided<[?, ?, ?, ?], offset: ?>>, f32, i64, i64, i64) attributes {llvm.emit_c_interface}
func.func @causal_gqa_f16(%q: tensor<?x4x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>) -> tensor<?x4x?x64xf16> {
  %0 = tessel.attention %q, %k, %v {is_causal = 1 : i64} : (tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>) -> tensor<?x4x?x64xf16>
  return %0 : tensor<?x4x?x64xf16>
}

// -----

// bf16, a left window, an explicit scale, "zero" rows: one declaration for
// two calls.
// CHECK-LABEL: func.func @window_bf16
// CHECK-DAG:     %[[SCALE:.+]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG:     %[[WINDOW:.+]] = arith.constant 31 : i64
// CHECK-DAG:     %[[ONE:.+]] = arith.constant 1 : i64
// CHECK:         call @tessel_rt_cuda_attention_bf16(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[SCALE]], %[[ONE]], %[[WINDOW]], %[[ONE]])
// CHECK:         call @tessel_rt_cuda_attention_bf16(
// CHECK-COUNT-1: func.func private @tessel_rt_cuda_attention_bf16
// CHECK-NOT:     func.func private
func.func @window_bf16(%q: tensor<2x8x100x128xbf16>) -> tensor<2x8x100x128xbf16> {
  %0 = tessel.attention %q, %q, %q {is_causal = 1 : i64, window_left = 31 : i64, scale = 0.5 : f32, fully_masked_rows = "zero"} : (tensor<2x8x100x128xbf16>, tensor<2x8x100x128xbf16>, tensor<2x8x100x128xbf16>) -> tensor<2x8x100x128xbf16>
  %1 = tessel.attention %0, %0, %0 {is_causal = 1 : i64, window_left = 31 : i64, scale = 0.5 : f32, fully_masked_rows = "zero"} : (tensor<2x8x100x128xbf16>, tensor<2x8x100x128xbf16>, tensor<2x8x100x128xbf16>) -> tensor<2x8x100x128xbf16>
  return %1 : tensor<2x8x100x128xbf16>
}

// -----

// Not causal, no window (window_right's default -1 is unbounded; it once
// read as a right window and kept every non-causal attention on the loop
// path): causal 0, window -1.
// CHECK-LABEL: func.func @full_mha_f16
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0 : i64
// CHECK-DAG:     %[[NONE:.+]] = arith.constant -1 : i64
// CHECK:         call @tessel_rt_cuda_attention_f16(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[ZERO]], %[[NONE]], %[[ZERO]])
func.func @full_mha_f16(%q: tensor<?x2x?x128xf16>) -> tensor<?x2x?x128xf16> {
  %0 = tessel.attention %q, %q, %q : (tensor<?x2x?x128xf16>, tensor<?x2x?x128xf16>, tensor<?x2x?x128xf16>) -> tensor<?x2x?x128xf16>
  return %0 : tensor<?x2x?x128xf16>
}

// -----

// What the kernel does not compute stays: f32, head dim 16, a mask
// operand, a softcap, a right window without causal, 3-D operands.
// CHECK-LABEL: func.func @unsupported
// CHECK-COUNT-6: tessel.attention
// CHECK-NOT:     call
func.func @unsupported(%f: tensor<1x2x8x64xf32>, %s: tensor<1x2x8x16xf16>, %h: tensor<1x2x8x64xf16>, %m: tensor<1x1x8x8xi1>, %t: tensor<1x8x128xf16>) -> (tensor<1x2x8x64xf32>, tensor<1x2x8x16xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x8x128xf16>) {
  %0 = tessel.attention %f, %f, %f {is_causal = 1 : i64} : (tensor<1x2x8x64xf32>, tensor<1x2x8x64xf32>, tensor<1x2x8x64xf32>) -> tensor<1x2x8x64xf32>
  %1 = tessel.attention %s, %s, %s {is_causal = 1 : i64} : (tensor<1x2x8x16xf16>, tensor<1x2x8x16xf16>, tensor<1x2x8x16xf16>) -> tensor<1x2x8x16xf16>
  %2 = tessel.attention %h, %h, %h, %m : (tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x1x8x8xi1>) -> tensor<1x2x8x64xf16>
  %3 = tessel.attention %h, %h, %h {softcap = 30.0 : f32} : (tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>) -> tensor<1x2x8x64xf16>
  %4 = tessel.attention %h, %h, %h {window_left = 2 : i64, window_right = 2 : i64} : (tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>) -> tensor<1x2x8x64xf16>
  %5 = tessel.attention %t, %t, %t {q_num_heads = 2 : i64, kv_num_heads = 2 : i64} : (tensor<1x8x128xf16>, tensor<1x8x128xf16>, tensor<1x8x128xf16>) -> tensor<1x8x128xf16>
  return %0, %1, %2, %3, %4, %5 : tensor<1x2x8x64xf32>, tensor<1x2x8x16xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x8x128xf16>
}
