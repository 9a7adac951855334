// RUN: tessel-opt %s -tessel-fuse-activations -canonicalize -split-input-file | FileCheck %s
// RUN: tessel-opt %s -tessel-fuse-activations -split-input-file -mlir-print-debuginfo | FileCheck %s --check-prefix=LOC

//===----------------------------------------------------------------------===//
// GELU, erf form
//===----------------------------------------------------------------------===//

// bert (TorchScript exporter): ((x * (1 + Erf(x / sqrt2))) * 0.5). The fused
// op keeps the locations of the ops it replaces.
// CHECK-LABEL: func.func @gelu_erf_bert
// CHECK-SAME:    (%[[X:.+]]: tensor<2x8x128xf32>)
// CHECK-NEXT:    %[[Y:.+]] = tessel.gelu %[[X]] : (tensor<2x8x128xf32>) -> tensor<2x8x128xf32>
// CHECK-NEXT:    return %[[Y]]
// LOC-LABEL:   func.func @gelu_erf_bert
// LOC:           tessel.gelu {{.*}} loc(#[[FUSED:.+]])
// LOC:         #[[FUSED]] = loc(fused[#{{.+}}, #{{.+}}, #{{.+}}, #{{.+}}, #{{.+}}])
func.func @gelu_erf_bert(%x: tensor<2x8x128xf32>) -> tensor<2x8x128xf32> {
  %half = tessel.constant dense<5.000000e-01> : tensor<f32>
  %one = tessel.constant dense<1.000000e+00> : tensor<f32>
  %sqrt2 = tessel.constant dense<1.41421354> : tensor<f32>
  %d = tessel.div %x, %sqrt2 : (tensor<2x8x128xf32>, tensor<f32>) -> tensor<2x8x128xf32>
  %e = tessel.erf %d : (tensor<2x8x128xf32>) -> tensor<2x8x128xf32>
  %a = tessel.add %e, %one : (tensor<2x8x128xf32>, tensor<f32>) -> tensor<2x8x128xf32>
  %m = tessel.mul %x, %a : (tensor<2x8x128xf32>, tensor<2x8x128xf32>) -> tensor<2x8x128xf32>
  %y = tessel.mul %m, %half : (tensor<2x8x128xf32>, tensor<f32>) -> tensor<2x8x128xf32>
  return %y : tensor<2x8x128xf32>
}

// -----

// Multiplication by 1/sqrt2, the constants first, (0.5 * x) * (1 + erf):
// another association order, dynamic dims.
// CHECK-LABEL: func.func @gelu_erf_inverse_sqrt2
// CHECK-SAME:    (%[[X:.+]]: tensor<?x?x64xf32>)
// CHECK-NEXT:    %[[Y:.+]] = tessel.gelu %[[X]] : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @gelu_erf_inverse_sqrt2(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %half = tessel.constant dense<5.000000e-01> : tensor<1xf32>
  %one = tessel.constant dense<1.000000e+00> : tensor<f32>
  %inv = tessel.constant dense<0.707106769> : tensor<f32>
  %d = tessel.mul %inv, %x : (tensor<f32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %e = tessel.erf %d : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %a = tessel.add %one, %e : (tensor<f32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %h = tessel.mul %half, %x : (tensor<1xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %y = tessel.mul %h, %a : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}

// -----

//===----------------------------------------------------------------------===//
// GELU, tanh form
//===----------------------------------------------------------------------===//

// gpt2: (x * 0.5) * (1 + Tanh(0.7978846 * (x + 0.044715 * Pow(x, 3)))).
// CHECK-LABEL: func.func @gelu_tanh_gpt2
// CHECK-SAME:    (%[[X:.+]]: tensor<?x?x256xf32>)
// CHECK-NEXT:    %[[Y:.+]] = tessel.gelu %[[X]] {approximate = "tanh"} : (tensor<?x?x256xf32>) -> tensor<?x?x256xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @gelu_tanh_gpt2(%x: tensor<?x?x256xf32>) -> tensor<?x?x256xf32> {
  %one = tessel.constant dense<1.000000e+00> : tensor<f32>
  %k = tessel.constant dense<0.797884583> : tensor<f32>
  %c = tessel.constant dense<4.471500e-02> : tensor<f32>
  %three = tessel.constant dense<3.000000e+00> : tensor<f32>
  %half = tessel.constant dense<5.000000e-01> : tensor<f32>
  %h = tessel.mul %x, %half : (tensor<?x?x256xf32>, tensor<f32>) -> tensor<?x?x256xf32>
  %p = tessel.pow %x, %three : (tensor<?x?x256xf32>, tensor<f32>) -> tensor<?x?x256xf32>
  %cp = tessel.mul %p, %c : (tensor<?x?x256xf32>, tensor<f32>) -> tensor<?x?x256xf32>
  %s = tessel.add %x, %cp : (tensor<?x?x256xf32>, tensor<?x?x256xf32>) -> tensor<?x?x256xf32>
  %ks = tessel.mul %s, %k : (tensor<?x?x256xf32>, tensor<f32>) -> tensor<?x?x256xf32>
  %t = tessel.tanh %ks : (tensor<?x?x256xf32>) -> tensor<?x?x256xf32>
  %a = tessel.add %t, %one : (tensor<?x?x256xf32>, tensor<f32>) -> tensor<?x?x256xf32>
  %y = tessel.mul %h, %a : (tensor<?x?x256xf32>, tensor<?x?x256xf32>) -> tensor<?x?x256xf32>
  return %y : tensor<?x?x256xf32>
}

// -----

// The cube as x * x * x, sums and products with their operands swapped.
// CHECK-LABEL: func.func @gelu_tanh_cube_as_product
// CHECK-NEXT:    tessel.gelu %{{.+}} {approximate = "tanh"}
// CHECK-NEXT:    return
func.func @gelu_tanh_cube_as_product(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %one = tessel.constant dense<1.000000e+00> : tensor<f32>
  %k = tessel.constant dense<0.797884583> : tensor<f32>
  %c = tessel.constant dense<4.471500e-02> : tensor<f32>
  %half = tessel.constant dense<5.000000e-01> : tensor<f32>
  %xx = tessel.mul %x, %x : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %xxx = tessel.mul %xx, %x : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %cp = tessel.mul %c, %xxx : (tensor<f32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %s = tessel.add %cp, %x : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %ks = tessel.mul %k, %s : (tensor<f32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %t = tessel.tanh %ks : (tensor<4x32xf32>) -> tensor<4x32xf32>
  %a = tessel.add %one, %t : (tensor<f32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %m = tessel.mul %a, %half : (tensor<4x32xf32>, tensor<f32>) -> tensor<4x32xf32>
  %y = tessel.mul %x, %m : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

//===----------------------------------------------------------------------===//
// GELU: what must stay unfused
//===----------------------------------------------------------------------===//

// 0.4 is not 0.5.
// CHECK-LABEL: func.func @no_gelu_wrong_half
// CHECK-NOT:     tessel.gelu
// CHECK:         tessel.erf
func.func @no_gelu_wrong_half(%x: tensor<8xf32>) -> tensor<8xf32> {
  %half = tessel.constant dense<4.000000e-01> : tensor<f32>
  %one = tessel.constant dense<1.000000e+00> : tensor<f32>
  %sqrt2 = tessel.constant dense<1.41421354> : tensor<f32>
  %d = tessel.div %x, %sqrt2 : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %e = tessel.erf %d : (tensor<8xf32>) -> tensor<8xf32>
  %a = tessel.add %e, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %m = tessel.mul %x, %a : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %y = tessel.mul %m, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// 1.4142 is not sqrt(2) to f32 precision.
// CHECK-LABEL: func.func @no_gelu_inexact_sqrt2
// CHECK-NOT:     tessel.gelu
// CHECK:         tessel.erf
func.func @no_gelu_inexact_sqrt2(%x: tensor<8xf32>) -> tensor<8xf32> {
  %half = tessel.constant dense<5.000000e-01> : tensor<f32>
  %one = tessel.constant dense<1.000000e+00> : tensor<f32>
  %sqrt2 = tessel.constant dense<1.414200e+00> : tensor<f32>
  %d = tessel.div %x, %sqrt2 : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %e = tessel.erf %d : (tensor<8xf32>) -> tensor<8xf32>
  %a = tessel.add %e, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %m = tessel.mul %x, %a : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %y = tessel.mul %m, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// The tanh form with 0.05 in place of 0.044715.
// CHECK-LABEL: func.func @no_gelu_tanh_wrong_coefficient
// CHECK-NOT:     tessel.gelu
// CHECK:         tessel.tanh
func.func @no_gelu_tanh_wrong_coefficient(%x: tensor<8xf32>) -> tensor<8xf32> {
  %one = tessel.constant dense<1.000000e+00> : tensor<f32>
  %k = tessel.constant dense<0.797884583> : tensor<f32>
  %c = tessel.constant dense<5.000000e-02> : tensor<f32>
  %three = tessel.constant dense<3.000000e+00> : tensor<f32>
  %half = tessel.constant dense<5.000000e-01> : tensor<f32>
  %h = tessel.mul %x, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %p = tessel.pow %x, %three : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %cp = tessel.mul %p, %c : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %s = tessel.add %x, %cp : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %ks = tessel.mul %s, %k : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %t = tessel.tanh %ks : (tensor<8xf32>) -> tensor<8xf32>
  %a = tessel.add %t, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %y = tessel.mul %h, %a : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// The erf value is also returned: fusing would compute it twice.
// CHECK-LABEL: func.func @no_gelu_extra_use
// CHECK-NOT:     tessel.gelu
func.func @no_gelu_extra_use(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %half = tessel.constant dense<5.000000e-01> : tensor<f32>
  %one = tessel.constant dense<1.000000e+00> : tensor<f32>
  %sqrt2 = tessel.constant dense<1.41421354> : tensor<f32>
  %d = tessel.div %x, %sqrt2 : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %e = tessel.erf %d : (tensor<8xf32>) -> tensor<8xf32>
  %a = tessel.add %e, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %m = tessel.mul %x, %a : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %y = tessel.mul %m, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %y, %e : tensor<8xf32>, tensor<8xf32>
}

// -----

// A 0.5 of shape [1, 1] makes the 1-D x a 2-D result: not GELU of x.
// CHECK-LABEL: func.func @no_gelu_constant_broadcasts_x
// CHECK-NOT:     tessel.gelu
func.func @no_gelu_constant_broadcasts_x(%x: tensor<8xf32>) -> tensor<1x8xf32> {
  %half = tessel.constant dense<5.000000e-01> : tensor<1x1xf32>
  %one = tessel.constant dense<1.000000e+00> : tensor<f32>
  %sqrt2 = tessel.constant dense<1.41421354> : tensor<f32>
  %d = tessel.div %x, %sqrt2 : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %e = tessel.erf %d : (tensor<8xf32>) -> tensor<8xf32>
  %a = tessel.add %e, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %m = tessel.mul %x, %a : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %y = tessel.mul %m, %half : (tensor<8xf32>, tensor<1x1xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// A fourth factor (a gate): the product is not GELU alone.
// CHECK-LABEL: func.func @no_gelu_fourth_factor
// CHECK-NOT:     tessel.gelu
func.func @no_gelu_fourth_factor(%x: tensor<8xf32>, %g: tensor<8xf32>) -> tensor<8xf32> {
  %half = tessel.constant dense<5.000000e-01> : tensor<f32>
  %one = tessel.constant dense<1.000000e+00> : tensor<f32>
  %sqrt2 = tessel.constant dense<1.41421354> : tensor<f32>
  %d = tessel.div %x, %sqrt2 : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %e = tessel.erf %d : (tensor<8xf32>) -> tensor<8xf32>
  %a = tessel.add %e, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %xg = tessel.mul %x, %g : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %m = tessel.mul %xg, %a : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %y = tessel.mul %m, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// SiLU
//===----------------------------------------------------------------------===//

// llama's SwiGLU: silu(gate) * up; the product with up stays.
// CHECK-LABEL: func.func @silu_swiglu
// CHECK-SAME:    (%[[G:.+]]: tensor<?x?x128xf32>, %[[U:.+]]: tensor<?x?x128xf32>)
// CHECK-NEXT:    %[[S:.+]] = tessel.silu %[[G]] : (tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT:    %[[Y:.+]] = tessel.mul %[[S]], %[[U]]
// CHECK-NEXT:    return %[[Y]]
func.func @silu_swiglu(%gate: tensor<?x?x128xf32>, %up: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
  %s = tessel.sigmoid %gate : (tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
  %a = tessel.mul %gate, %s : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
  %y = tessel.mul %a, %up : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
  return %y : tensor<?x?x128xf32>
}

// -----

// Sigmoid first.
// CHECK-LABEL: func.func @silu_sigmoid_first
// CHECK-NEXT:    tessel.silu
// CHECK-NEXT:    return
func.func @silu_sigmoid_first(%x: tensor<16xf32>) -> tensor<16xf32> {
  %s = tessel.sigmoid %x : (tensor<16xf32>) -> tensor<16xf32>
  %y = tessel.mul %s, %x : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  return %y : tensor<16xf32>
}

// -----

// x * Sigmoid(z) with z != x is a gate, not SiLU.
// CHECK-LABEL: func.func @no_silu_other_operand
// CHECK-NOT:     tessel.silu
func.func @no_silu_other_operand(%x: tensor<16xf32>, %z: tensor<16xf32>) -> tensor<16xf32> {
  %s = tessel.sigmoid %z : (tensor<16xf32>) -> tensor<16xf32>
  %y = tessel.mul %x, %s : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  return %y : tensor<16xf32>
}

// -----

// The sigmoid is also returned.
// CHECK-LABEL: func.func @no_silu_sigmoid_extra_use
// CHECK-NOT:     tessel.silu
func.func @no_silu_sigmoid_extra_use(%x: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>) {
  %s = tessel.sigmoid %x : (tensor<16xf32>) -> tensor<16xf32>
  %y = tessel.mul %x, %s : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  return %y, %s : tensor<16xf32>, tensor<16xf32>
}
