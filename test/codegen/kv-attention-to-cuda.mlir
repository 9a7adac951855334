// RUN: tessel-opt %s -convert-tessel-kv-attention-to-runtime=target=cuda -split-input-file -verify-diagnostics | FileCheck %s
//
// On the CUDA target tessel.kv_attention calls the runtime's CUDA paged
// cache, one entry point per element type (the cache stores the model's
// precision): the same operands as on the CPU, memrefs of that type.

// CHECK-LABEL: func.func @decode_bf16
// CHECK-DAG:     %[[ONE:.+]] = arith.constant 1 : i64
// CHECK-DAG:     %[[QM:.+]] = bufferization.to_memref %{{.+}} read_only : memref<?x32x1x64xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK:         %[[OUT:.+]] = memref.alloc(%{{.+}}) : memref<?x32x1x64xbf16>
// CHECK:         call @tessel_rt_cuda_kv_attention_bf16(%{{.+}}, %[[ONE]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}})
// CHECK:       func.func private @tessel_rt_cuda_kv_attention_bf16(i64, i64, memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>, {{.+}}, memref<?xi64, strided<[?], offset: ?>>, {{.+}}, f32, f32, i64) attributes {llvm.emit_c_interface}
func.func @decode_bf16(%q: tensor<?x32x1x64xbf16>, %k: tensor<?x8x1x64xbf16>, %p: tensor<?xi64>) -> tensor<?x32x1x64xbf16> {
  %0 = tessel.kv_attention %q, %k, %k, %p {layer = 5 : i64, scale = 0.125 : f32, mode = "decode"} : (tensor<?x32x1x64xbf16>, tensor<?x8x1x64xbf16>, tensor<?x8x1x64xbf16>, tensor<?xi64>) -> tensor<?x32x1x64xbf16>
  return %0 : tensor<?x32x1x64xbf16>
}

// -----

// f32 and f16 have their own entry points.
// CHECK-LABEL: func.func @two_types
// CHECK:         call @tessel_rt_cuda_kv_attention_f32(
// CHECK:         call @tessel_rt_cuda_kv_attention_f16(
// CHECK-DAG:   func.func private @tessel_rt_cuda_kv_attention_f32(i64, i64, memref<?x?x?x?xf32
// CHECK-DAG:   func.func private @tessel_rt_cuda_kv_attention_f16(i64, i64, memref<?x?x?x?xf16
func.func @two_types(%a: tensor<1x2x3x8xf32>, %b: tensor<1x2x3x8xf16>, %p: tensor<1xi64>) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf16>) {
  %0 = tessel.kv_attention %a, %a, %a, %p {layer = 0 : i64, scale = 1.0 : f32} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1xi64>) -> tensor<1x2x3x8xf32>
  %1 = tessel.kv_attention %b, %b, %b, %p {layer = 0 : i64, scale = 1.0 : f32} : (tensor<1x2x3x8xf16>, tensor<1x2x3x8xf16>, tensor<1x2x3x8xf16>, tensor<1xi64>) -> tensor<1x2x3x8xf16>
  return %0, %1 : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf16>
}

// -----

// The runtime has no f64 cache.
func.func @double(%q: tensor<1x2x3x8xf64>, %p: tensor<1xi64>) -> tensor<1x2x3x8xf64> {
  // expected-error @+1 {{was not lowered to the runtime kernel (the CUDA target supports f32, f16 and bf16 with one element type for q, k, v and the result)}}
  %0 = tessel.kv_attention %q, %q, %q, %p {layer = 0 : i64, scale = 1.0 : f32} : (tensor<1x2x3x8xf64>, tensor<1x2x3x8xf64>, tensor<1x2x3x8xf64>, tensor<1xi64>) -> tensor<1x2x3x8xf64>
  return %0 : tensor<1x2x3x8xf64>
}
