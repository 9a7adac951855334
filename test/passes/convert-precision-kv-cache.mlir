// RUN: tessel-opt %s -tessel-convert-precision="precision=bf16 narrow-kv-cache=true" | FileCheck %s
// RUN: tessel-opt %s -tessel-convert-precision=precision=bf16 | FileCheck %s --check-prefix=WIDE
//
// The CUDA target's paged cache stores the model's precision
// (narrow-kv-cache): tessel.kv_attention converts like any other op, no
// casts around it, and the module's tessel.kv_cache dtype follows. Without
// the option (the CPU target) the cache and its attention stay f32.

// CHECK:       module attributes {tessel.kv_cache = {dtype = bf16, head_dim = 8 : i64, num_kv_heads = 2 : i64, num_layers = 1 : i64, window_left = -1 : i64}}
// CHECK-LABEL: func.func @prefill
// CHECK:         %[[QH:.+]] = tessel.cast %{{.+}} {to = bf16}
// CHECK:         %[[QS:.+]] = tessel.neg %[[QH]] : (tensor<1x2x3x8xbf16>) -> tensor<1x2x3x8xbf16>
// CHECK-NEXT:    %[[KV:.+]] = tessel.kv_attention %[[QS]], %[[QS]], %[[QS]], %{{.+}} {{.+}} -> tensor<1x2x3x8xbf16>
// CHECK-NEXT:    %[[R:.+]] = tessel.neg %[[KV]] : (tensor<1x2x3x8xbf16>) -> tensor<1x2x3x8xbf16>
// CHECK-NEXT:    tessel.cast %[[R]] {to = f32}

// WIDE:        module attributes {tessel.kv_cache = {dtype = f32,
// WIDE:          tessel.kv_attention {{.+}} -> tensor<1x2x3x8xf32>
module attributes {tessel.kv_cache = {dtype = f32, head_dim = 8 : i64, num_kv_heads = 2 : i64, num_layers = 1 : i64, window_left = -1 : i64}} {
func.func @prefill(%q: tensor<1x2x3x8xf32>, %p: tensor<1xi64>) -> tensor<1x2x3x8xf32> {
  %n = tessel.neg %q : (tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32>
  %0 = tessel.kv_attention %n, %n, %n, %p {layer = 0 : i64, scale = 1.0 : f32} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1xi64>) -> tensor<1x2x3x8xf32>
  %1 = tessel.neg %0 : (tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32>
  return %1 : tensor<1x2x3x8xf32>
}
}
