// RUN: tessel-opt %s -tessel-fuse-norms -canonicalize -split-input-file | FileCheck %s

//===----------------------------------------------------------------------===//
// RMSNorm
//===----------------------------------------------------------------------===//

// llama, TorchScript exporter: statistics on Cast(x, f32), 1 / Sqrt, the
// cast back, then weight * normalised.
// CHECK-LABEL: func.func @rms_llama_ts
// CHECK-SAME:    (%[[X:.+]]: tensor<?x?x64xf32>, %[[W:.+]]: tensor<64xf32>)
// CHECK-NEXT:    %[[Y:.+]] = tessel.rms_normalization %[[X]], %[[W]] {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @rms_llama_ts(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<9.99999997E-7> : tensor<f32>
  %one = tessel.constant dense<1.000000e+00> : tensor<f32>
  %xf = tessel.cast %x {to = f32} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %p = tessel.pow %xf, %two : (tensor<?x?x64xf32>, tensor<f32>) -> tensor<?x?x64xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: -1>} : (tensor<?x?x64xf32>) -> tensor<?x?x1xf32>
  %a = tessel.add %m, %eps : (tensor<?x?x1xf32>, tensor<f32>) -> tensor<?x?x1xf32>
  %r = tessel.sqrt %a : (tensor<?x?x1xf32>) -> tensor<?x?x1xf32>
  %i = tessel.div %one, %r : (tensor<f32>, tensor<?x?x1xf32>) -> tensor<?x?x1xf32>
  %n = tessel.mul %xf, %i : (tensor<?x?x64xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xf32>
  %c = tessel.cast %n {to = f32} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %y = tessel.mul %w, %c : (tensor<64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}

// -----

// llama, dynamo exporter: Reciprocal, no casts.
// CHECK-LABEL: func.func @rms_llama_dynamo
// CHECK-SAME:    (%[[X:.+]]: tensor<2x8x64xf32>, %[[W:.+]]: tensor<64xf32>)
// CHECK-NEXT:    %[[Y:.+]] = tessel.rms_normalization %[[X]], %[[W]] {epsilon = 9.99999997E-7 : f32}
// CHECK-NEXT:    return %[[Y]]
func.func @rms_llama_dynamo(%x: tensor<2x8x64xf32>, %w: tensor<64xf32>) -> tensor<2x8x64xf32> {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<9.99999997E-7> : tensor<f32>
  %p = tessel.pow %x, %two : (tensor<2x8x64xf32>, tensor<f32>) -> tensor<2x8x64xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: -1>} : (tensor<2x8x64xf32>) -> tensor<2x8x1xf32>
  %a = tessel.add %m, %eps : (tensor<2x8x1xf32>, tensor<f32>) -> tensor<2x8x1xf32>
  %r = tessel.sqrt %a : (tensor<2x8x1xf32>) -> tensor<2x8x1xf32>
  %i = tessel.reciprocal %r : (tensor<2x8x1xf32>) -> tensor<2x8x1xf32>
  %n = tessel.mul %x, %i : (tensor<2x8x64xf32>, tensor<2x8x1xf32>) -> tensor<2x8x64xf32>
  %y = tessel.mul %w, %n : (tensor<64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  return %y : tensor<2x8x64xf32>
}

// -----

// x / Sqrt(...), x * x for the square, eps first in the Add, the weight
// second in the Mul. eps 1e-5 is the op's default, so it is not printed.
// CHECK-LABEL: func.func @rms_div_form
// CHECK-SAME:    (%[[X:.+]]: tensor<4x32xf32>, %[[W:.+]]: tensor<32xf32>)
// CHECK-NEXT:    %[[Y:.+]] = tessel.rms_normalization %[[X]], %[[W]] : (tensor<4x32xf32>, tensor<32xf32>) -> tensor<4x32xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @rms_div_form(%x: tensor<4x32xf32>, %w: tensor<32xf32>) -> tensor<4x32xf32> {
  %eps = tessel.constant dense<1.000000e-05> : tensor<1xf32>
  %p = tessel.mul %x, %x : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: 1>} : (tensor<4x32xf32>) -> tensor<4x1xf32>
  %a = tessel.add %eps, %m : (tensor<1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %r = tessel.sqrt %a : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %n = tessel.div %x, %r : (tensor<4x32xf32>, tensor<4x1xf32>) -> tensor<4x32xf32>
  %y = tessel.mul %n, %w : (tensor<4x32xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// f16 activations: statistics in f32, cast back to f16, then the f16
// weight: stash_type = 1 with x the f16 input.
// CHECK-LABEL: func.func @rms_f16_stash_f32
// CHECK-SAME:    (%[[X:.+]]: tensor<2x64xf16>, %[[W:.+]]: tensor<64xf16>)
// CHECK-NEXT:    %[[Y:.+]] = tessel.rms_normalization %[[X]], %[[W]] {epsilon = 9.99999997E-7 : f32} : (tensor<2x64xf16>, tensor<64xf16>) -> tensor<2x64xf16>
// CHECK-NEXT:    return %[[Y]]
func.func @rms_f16_stash_f32(%x: tensor<2x64xf16>, %w: tensor<64xf16>) -> tensor<2x64xf16> {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<9.99999997E-7> : tensor<f32>
  %xf = tessel.cast %x {to = f32} : (tensor<2x64xf16>) -> tensor<2x64xf32>
  %p = tessel.pow %xf, %two : (tensor<2x64xf32>, tensor<f32>) -> tensor<2x64xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: -1>} : (tensor<2x64xf32>) -> tensor<2x1xf32>
  %a = tessel.add %m, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %r = tessel.sqrt %a : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %i = tessel.reciprocal %r : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = tessel.mul %xf, %i : (tensor<2x64xf32>, tensor<2x1xf32>) -> tensor<2x64xf32>
  %c = tessel.cast %n {to = f16} : (tensor<2x64xf32>) -> tensor<2x64xf16>
  %y = tessel.mul %w, %c : (tensor<64xf16>, tensor<2x64xf16>) -> tensor<2x64xf16>
  return %y : tensor<2x64xf16>
}

// -----

// No weight: the op gets a scale of ones. The residual added afterwards
// has x's full shape and is no scale.
// CHECK-LABEL: func.func @rms_without_weight
// CHECK-SAME:    (%[[X:.+]]: tensor<2x8xf32>, %[[R:.+]]: tensor<2x8xf32>)
// CHECK-NEXT:    %[[ONES:.+]] = tessel.constant dense<1.000000e+00> : tensor<8xf32>
// CHECK-NEXT:    %[[N:.+]] = tessel.rms_normalization %[[X]], %[[ONES]]
// CHECK-NEXT:    %[[Y:.+]] = tessel.mul %[[N]], %[[R]]
// CHECK-NEXT:    return %[[Y]]
func.func @rms_without_weight(%x: tensor<2x8xf32>, %res: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<1.000000e-06> : tensor<f32>
  %p = tessel.pow %x, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: -1>} : (tensor<2x8xf32>) -> tensor<2x1xf32>
  %a = tessel.add %m, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %r = tessel.sqrt %a : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = tessel.div %x, %r : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %y = tessel.mul %n, %res : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Over the two trailing axes: axis = -2.
// CHECK-LABEL: func.func @rms_two_trailing_axes
// CHECK:         tessel.rms_normalization %{{.+}}, %{{.+}} {axis = -2 : i64, epsilon = 9.99999997E-7 : f32}
func.func @rms_two_trailing_axes(%x: tensor<2x4x8xf32>, %w: tensor<4x8xf32>) -> tensor<2x4x8xf32> {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<9.99999997E-7> : tensor<f32>
  %p = tessel.pow %x, %two : (tensor<2x4x8xf32>, tensor<f32>) -> tensor<2x4x8xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: 2, 1>} : (tensor<2x4x8xf32>) -> tensor<2x1x1xf32>
  %a = tessel.add %m, %eps : (tensor<2x1x1xf32>, tensor<f32>) -> tensor<2x1x1xf32>
  %r = tessel.sqrt %a : (tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %n = tessel.div %x, %r : (tensor<2x4x8xf32>, tensor<2x1x1xf32>) -> tensor<2x4x8xf32>
  %y = tessel.mul %n, %w : (tensor<2x4x8xf32>, tensor<4x8xf32>) -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// RMSNorm: what must stay unfused
//===----------------------------------------------------------------------===//

// Pow(x, 3) is no square.
// CHECK-LABEL: func.func @no_rms_cube
// CHECK-NOT:     tessel.rms_normalization
func.func @no_rms_cube(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %three = tessel.constant dense<3.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<1.000000e-06> : tensor<f32>
  %p = tessel.pow %x, %three : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: -1>} : (tensor<2x8xf32>) -> tensor<2x1xf32>
  %a = tessel.add %m, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %r = tessel.sqrt %a : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = tessel.div %x, %r : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  return %n : tensor<2x8xf32>
}

// -----

// The mean over a leading axis is not a normalisation over trailing dims.
// CHECK-LABEL: func.func @no_rms_leading_axis
// CHECK-NOT:     tessel.rms_normalization
func.func @no_rms_leading_axis(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<1.000000e-06> : tensor<f32>
  %p = tessel.pow %x, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: 0>} : (tensor<2x8xf32>) -> tensor<1x8xf32>
  %a = tessel.add %m, %eps : (tensor<1x8xf32>, tensor<f32>) -> tensor<1x8xf32>
  %r = tessel.sqrt %a : (tensor<1x8xf32>) -> tensor<1x8xf32>
  %n = tessel.div %x, %r : (tensor<2x8xf32>, tensor<1x8xf32>) -> tensor<2x8xf32>
  return %n : tensor<2x8xf32>
}

// -----

// The mean square is also returned.
// CHECK-LABEL: func.func @no_rms_extra_use
// CHECK-NOT:     tessel.rms_normalization
func.func @no_rms_extra_use(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x1xf32>) {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<1.000000e-06> : tensor<f32>
  %p = tessel.pow %x, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: -1>} : (tensor<2x8xf32>) -> tensor<2x1xf32>
  %a = tessel.add %m, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %r = tessel.sqrt %a : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = tessel.div %x, %r : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  return %n, %m : tensor<2x8xf32>, tensor<2x1xf32>
}

// -----

// The squared value is not the normalised one.
// CHECK-LABEL: func.func @no_rms_other_value
// CHECK-NOT:     tessel.rms_normalization
func.func @no_rms_other_value(%x: tensor<2x8xf32>, %z: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<1.000000e-06> : tensor<f32>
  %p = tessel.pow %z, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: -1>} : (tensor<2x8xf32>) -> tensor<2x1xf32>
  %a = tessel.add %m, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %r = tessel.sqrt %a : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = tessel.div %x, %r : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  return %n : tensor<2x8xf32>
}

// -----

// f16 statistics computed in f32 and never cast back: the op's result
// would be f16.
// CHECK-LABEL: func.func @no_rms_f32_result_of_f16
// CHECK-NOT:     tessel.rms_normalization
func.func @no_rms_f32_result_of_f16(%x: tensor<2x8xf16>) -> tensor<2x8xf32> {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<1.000000e-06> : tensor<f32>
  %xf = tessel.cast %x {to = f32} : (tensor<2x8xf16>) -> tensor<2x8xf32>
  %p = tessel.pow %xf, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: -1>} : (tensor<2x8xf32>) -> tensor<2x1xf32>
  %a = tessel.add %m, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %r = tessel.sqrt %a : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = tessel.div %xf, %r : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  return %n : tensor<2x8xf32>
}

// -----

// A weight of shape [2, 8] reaches beyond the normalised dim: the norm
// fuses (with ones), the Mul stays.
// CHECK-LABEL: func.func @rms_weight_not_over_normalized_dims
// CHECK:         %[[N:.+]] = tessel.rms_normalization
// CHECK-NEXT:    tessel.mul %{{.+}}, %[[N]]
func.func @rms_weight_not_over_normalized_dims(%x: tensor<2x8xf32>, %w: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<1.000000e-06> : tensor<f32>
  %p = tessel.pow %x, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = tessel.reduce_mean %p {axes = array<i64: -1>} : (tensor<2x8xf32>) -> tensor<2x1xf32>
  %a = tessel.add %m, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %r = tessel.sqrt %a : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = tessel.div %x, %r : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %y = tessel.mul %w, %n : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// LayerNorm
//===----------------------------------------------------------------------===//

// Spelled out: mean, x - mean, Pow 2, mean, + eps, Sqrt, Div, * w, + b.
// CHECK-LABEL: func.func @layer_norm_spelled_out
// CHECK-SAME:    (%[[X:.+]]: tensor<?x?x64xf32>, %[[W:.+]]: tensor<64xf32>, %[[B:.+]]: tensor<64xf32>)
// CHECK-NEXT:    %[[Y:.+]] = tessel.layer_normalization %[[X]], %[[W]], %[[B]] {epsilon = 9.99999996E-13 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @layer_norm_spelled_out(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %eps = tessel.constant dense<9.99999996E-13> : tensor<f32>
  %mean = tessel.reduce_mean %x {axes = array<i64: -1>} : (tensor<?x?x64xf32>) -> tensor<?x?x1xf32>
  %d = tessel.sub %x, %mean : (tensor<?x?x64xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xf32>
  %p = tessel.pow %d, %two : (tensor<?x?x64xf32>, tensor<f32>) -> tensor<?x?x64xf32>
  %var = tessel.reduce_mean %p {axes = array<i64: -1>} : (tensor<?x?x64xf32>) -> tensor<?x?x1xf32>
  %a = tessel.add %var, %eps : (tensor<?x?x1xf32>, tensor<f32>) -> tensor<?x?x1xf32>
  %r = tessel.sqrt %a : (tensor<?x?x1xf32>) -> tensor<?x?x1xf32>
  %n = tessel.div %d, %r : (tensor<?x?x64xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xf32>
  %s = tessel.mul %n, %w : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %y = tessel.add %s, %b : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}

// -----

// Without scale and bias.
// CHECK-LABEL: func.func @layer_norm_plain
// CHECK-SAME:    (%[[X:.+]]: tensor<4x16xf32>)
// CHECK-NEXT:    %[[ONES:.+]] = tessel.constant dense<1.000000e+00> : tensor<16xf32>
// CHECK-NEXT:    %[[Y:.+]] = tessel.layer_normalization %[[X]], %[[ONES]] : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @layer_norm_plain(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %eps = tessel.constant dense<1.000000e-05> : tensor<f32>
  %mean = tessel.reduce_mean %x {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %d = tessel.sub %x, %mean : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %p = tessel.mul %d, %d : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %var = tessel.reduce_mean %p {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %a = tessel.add %var, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %r = tessel.sqrt %a : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %i = tessel.reciprocal %r : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %n = tessel.mul %d, %i : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %n : tensor<4x16xf32>
}

// -----

// The mean and the variance reduce different axes: no LayerNorm. (The
// variance part alone is an RMSNorm of x - mean.)
// CHECK-LABEL: func.func @no_layer_norm_axes_differ
// CHECK-NOT:     tessel.layer_normalization
// CHECK:         %[[D:.+]] = tessel.sub
// CHECK:         tessel.rms_normalization %[[D]]
func.func @no_layer_norm_axes_differ(%x: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %eps = tessel.constant dense<1.000000e-05> : tensor<f32>
  %mean = tessel.reduce_mean %x {axes = array<i64: 1, 2>} : (tensor<2x4x16xf32>) -> tensor<2x1x1xf32>
  %d = tessel.sub %x, %mean : (tensor<2x4x16xf32>, tensor<2x1x1xf32>) -> tensor<2x4x16xf32>
  %p = tessel.mul %d, %d : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %var = tessel.reduce_mean %p {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %a = tessel.add %var, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %r = tessel.sqrt %a : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %n = tessel.div %d, %r : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  return %n : tensor<2x4x16xf32>
}
