// RUN: tessel-opt %s -convert-tessel-kv-attention-to-runtime -split-input-file -verify-diagnostics | FileCheck %s
//
// tessel.kv_attention becomes a call of libtessel_rt's paged-attention
// kernel through its C interface: read-only buffers of q, k, v and
// past_lens (any layout), a fresh result buffer.

// CHECK-LABEL: func.func @prefill
// CHECK-SAME:    (%[[Q:.+]]: tensor<?x4x?x16xf32>, %[[K:.+]]: tensor<?x2x?x16xf32>, %[[V:.+]]: tensor<?x2x?x16xf32>, %[[P:.+]]: tensor<?xi64>)
// CHECK-DAG:     %[[SCALE:.+]] = arith.constant 2.500000e-01 : f32
// CHECK-DAG:     %[[LAYER:.+]] = arith.constant 3 : i64
// CHECK-DAG:     %[[PREFILL:.+]] = arith.constant 0 : i64
// CHECK-DAG:     %[[QM:.+]] = bufferization.to_memref %[[Q]] read_only : memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-DAG:     %[[KM:.+]] = bufferization.to_memref %[[K]] read_only
// CHECK-DAG:     %[[PM:.+]] = bufferization.to_memref %[[P]] read_only : memref<?xi64, strided<[?], offset: ?>>
// CHECK:         %[[OUT:.+]] = memref.alloc(%{{.+}}, %{{.+}}) : memref<?x4x?x16xf32>
// CHECK:         call @tessel_rt_kv_attention(%[[LAYER]], %[[PREFILL]], %{{.+}}, %{{.+}}, %{{.+}}, %[[PM]], %{{.+}}, %[[SCALE]], %{{.+}}, %{{.+}})
// CHECK:         %[[R:.+]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<?x4x?x16xf32>
// CHECK:         return %[[R]]
// CHECK:       func.func private @tessel_rt_kv_attention(i64, i64, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, {{.+}}, memref<?xi64, strided<[?], offset: ?>>, {{.+}}, f32, f32, i64) attributes {llvm.emit_c_interface}
func.func @prefill(%q: tensor<?x4x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>, %p: tensor<?xi64>) -> tensor<?x4x?x16xf32> {
  %0 = tessel.kv_attention %q, %k, %v, %p {layer = 3 : i64, scale = 2.500000e-01 : f32} : (tensor<?x4x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?xi64>) -> tensor<?x4x?x16xf32>
  return %0 : tensor<?x4x?x16xf32>
}

// -----

// Decode: mode 1; one declaration however many calls.
// CHECK-LABEL: func.func @decode
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0 : i64
// CHECK-DAG:     %[[ONE:.+]] = arith.constant 1 : i64
// CHECK:         call @tessel_rt_kv_attention(%[[ZERO]], %[[ONE]],
// CHECK:         call @tessel_rt_kv_attention(%[[ONE]], %[[ONE]],
// CHECK-COUNT-1: func.func private @tessel_rt_kv_attention
func.func @decode(%q: tensor<?x2x1x8xf32>, %p: tensor<?xi64>) -> tensor<?x2x1x8xf32> {
  %0 = tessel.kv_attention %q, %q, %q, %p {layer = 0 : i64, scale = 1.0 : f32, mode = "decode"} : (tensor<?x2x1x8xf32>, tensor<?x2x1x8xf32>, tensor<?x2x1x8xf32>, tensor<?xi64>) -> tensor<?x2x1x8xf32>
  %1 = tessel.kv_attention %0, %0, %0, %p {layer = 1 : i64, scale = 1.0 : f32, mode = "decode"} : (tensor<?x2x1x8xf32>, tensor<?x2x1x8xf32>, tensor<?x2x1x8xf32>, tensor<?xi64>) -> tensor<?x2x1x8xf32>
  return %1 : tensor<?x2x1x8xf32>
}

// -----

// Only f32 has a runtime kernel.
func.func @half(%q: tensor<1x2x3x8xf16>, %p: tensor<1xi64>) -> tensor<1x2x3x8xf16> {
  // expected-error @+1 {{was not lowered to the runtime kernel (only f32 is supported on the CPU target)}}
  %0 = tessel.kv_attention %q, %q, %q, %p {layer = 0 : i64, scale = 1.0 : f32} : (tensor<1x2x3x8xf16>, tensor<1x2x3x8xf16>, tensor<1x2x3x8xf16>, tensor<1xi64>) -> tensor<1x2x3x8xf16>
  return %0 : tensor<1x2x3x8xf16>
}
