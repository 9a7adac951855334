// RUN: tessel-opt %s -split-input-file -tessel-convert-precision=precision=fp16 | FileCheck %s --check-prefix=F16
// RUN: tessel-opt %s -split-input-file -tessel-convert-precision=precision=bf16 | FileCheck %s --check-prefix=BF16
// RUN: tessel-opt %s -split-input-file -tessel-convert-precision=precision=fp32 | FileCheck %s
//
// f32 tensors inside a function become f16/bf16; the interface stays f32
// (a cast after each f32 input, one before each f32 output); integer values
// are untouched; constants are rounded to nearest even, finite values
// beyond the type's range saturate (float32 lowest is a "minus infinity"
// fill in graphs), infinities stay infinite.

// F16-LABEL: func.func @main
// F16-SAME:    (%[[X:.+]]: tensor<2x4xf32>, %[[IDS:.+]]: tensor<2x4xi64>) -> (tensor<2x4xf32>, tensor<2x4xi64>)
// F16:         %[[XH:.+]] = tessel.cast %[[X]] {to = f16} : (tensor<2x4xf32>) -> tensor<2x4xf16>
// F16:         %[[W:.+]] = tessel.constant dense<{{\[\[}}1.000000e+00, -6.550400e+04, 6.550400e+04, 0.000000e+00], [9.997550e-02, 0xFC00, 6.550400e+04, 5.960460e-08]]> : tensor<2x4xf16>
// F16:         %[[A:.+]] = tessel.add %[[XH]], %[[W]] : (tensor<2x4xf16>, tensor<2x4xf16>) -> tensor<2x4xf16>
// An integer -> f32 cast is index-derived (see @rotary): rounded where it
// meets the activations.
// F16:         %[[C32:.+]] = tessel.cast %[[IDS]] {to = f32} : (tensor<2x4xi64>) -> tensor<2x4xf32>
// F16:         %[[C:.+]] = tessel.cast %[[C32]] {to = f16} : (tensor<2x4xf32>) -> tensor<2x4xf16>
// F16:         %[[M:.+]] = tessel.mul %[[A]], %[[C]] : (tensor<2x4xf16>, tensor<2x4xf16>) -> tensor<2x4xf16>
// F16:         %[[Z:.+]] = tessel.constant_of_shape %{{.+}} {value = dense<0.000000e+00> : tensor<1xf16>} : (tensor<2xi64>) -> tensor<2x4xf16>
// F16:         %[[S:.+]] = tessel.add %[[M]], %[[Z]]
// F16:         %[[OUT:.+]] = tessel.cast %[[S]] {to = f32} : (tensor<2x4xf16>) -> tensor<2x4xf32>
// F16:         return %[[OUT]], %[[IDS]] : tensor<2x4xf32>, tensor<2x4xi64>

// bf16 has f32's range: float32 lowest rounds to bf16's largest (not -inf).
// BF16-LABEL: func.func @main
// BF16:         tessel.cast %{{.+}} {to = bf16} : (tensor<2x4xf32>) -> tensor<2x4xbf16>
// BF16:         tessel.constant dense<{{\[\[}}1.000000e+00, -3.389530e+38, 7.014400e+04, 1.001170e-08], [1.000980e-01, 0xFF80, 6.553600e+04, 5.960460e-08]]> : tensor<2x4xbf16>
// BF16:         tessel.mul {{.+}} -> tensor<2x4xbf16>
// BF16:         tessel.cast %{{.+}} {to = f32} : (tensor<2x4xbf16>) -> tensor<2x4xf32>

// fp32: nothing changes.
// CHECK-LABEL: func.func @main
// CHECK-NOT:     f16
// CHECK:         tessel.constant dense<{{\[\[}}1.000000e+00, -3.400000e+38
// CHECK-NOT:     tessel.cast %{{.+}} {to = f32} : (tensor<2x4xf
func.func @main(%x: tensor<2x4xf32>, %ids: tensor<2x4xi64>) -> (tensor<2x4xf32>, tensor<2x4xi64>) {
  %w = tessel.constant dense<[[1.0, -3.4e38, 70000.0, 1.0e-8], [0.1, 0xFF800000, 65504.0, 5.9604645e-8]]> : tensor<2x4xf32>
  %0 = tessel.add %x, %w : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %1 = tessel.cast %ids {to = f32} : (tensor<2x4xi64>) -> tensor<2x4xf32>
  %2 = tessel.mul %0, %1 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %shape = tessel.constant dense<[2, 4]> : tensor<2xi64>
  %zeros = tessel.constant_of_shape %shape : (tensor<2xi64>) -> tensor<2x4xf32>
  %3 = tessel.add %2, %zeros : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %3, %ids : tensor<2x4xf32>, tensor<2x4xi64>
}

// -----

// The paged cache's attention stays f32: casts around it.
// F16-LABEL: func.func @prefill
// F16:         %[[QH:.+]] = tessel.cast %{{.+}} {to = f16}
// F16:         %[[QS:.+]] = tessel.neg %[[QH]] : (tensor<1x2x3x8xf16>) -> tensor<1x2x3x8xf16>
// F16:         %[[Q32:.+]] = tessel.cast %[[QS]] {to = f32} : (tensor<1x2x3x8xf16>) -> tensor<1x2x3x8xf32>
// F16:         %[[KV:.+]] = tessel.kv_attention %[[Q32]], %[[Q32]], %[[Q32]], %{{.+}} {{.+}} -> tensor<1x2x3x8xf32>
// F16:         %[[KVH:.+]] = tessel.cast %[[KV]] {to = f16} : (tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf16>
// F16:         %[[R:.+]] = tessel.neg %[[KVH]]
// F16:         tessel.cast %[[R]] {to = f32}
func.func @prefill(%q: tensor<1x2x3x8xf32>, %p: tensor<1xi64>) -> tensor<1x2x3x8xf32> {
  %n = tessel.neg %q : (tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32>
  %0 = tessel.kv_attention %n, %n, %n, %p {layer = 0 : i64, scale = 1.0 : f32} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1xi64>) -> tensor<1x2x3x8xf32>
  %1 = tessel.neg %0 : (tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32>
  return %1 : tensor<1x2x3x8xf32>
}

// -----

// Values computed from integers stay f32 until they meet activations:
// rotary angles (position x frequency) in bf16 are off by up to half a
// radian at position 255 (the trained tinylm's bf16 logits were 4% off).
// The frequency constant keeps an f32 copy for them; its other use is
// converted. The angle's cosine is rounded once, where it meets x.
// F16-LABEL: func.func @rotary
// F16-SAME:    (%[[X:.+]]: tensor<1x4x8xf32>, %[[POS:.+]]: tensor<1x4x1xi64>)
// F16-DAG:     %[[XH:.+]] = tessel.cast %[[X]] {to = f16}
// F16-DAG:     %[[FW:.+]] = tessel.constant dense<{{.+}}> : tensor<1x1x8xf32>
// F16-DAG:     %[[FH:.+]] = tessel.constant dense<{{.+}}> : tensor<1x1x8xf16>
// F16-DAG:     %[[P:.+]] = tessel.cast %[[POS]] {to = f32} : (tensor<1x4x1xi64>) -> tensor<1x4x1xf32>
// F16:         %[[A:.+]] = tessel.mul %[[P]], %[[FW]] : (tensor<1x4x1xf32>, tensor<1x1x8xf32>) -> tensor<1x4x8xf32>
// F16:         %[[C:.+]] = tessel.cos %[[A]] : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
// F16:         %[[CH:.+]] = tessel.cast %[[C]] {to = f16} : (tensor<1x4x8xf32>) -> tensor<1x4x8xf16>
// F16:         %[[Y:.+]] = tessel.mul %[[XH]], %[[CH]] : (tensor<1x4x8xf16>, tensor<1x4x8xf16>) -> tensor<1x4x8xf16>
// F16:         %[[Z:.+]] = tessel.add %[[Y]], %[[FH]] : (tensor<1x4x8xf16>, tensor<1x1x8xf16>) -> tensor<1x4x8xf16>
// F16:         tessel.cast %[[Z]] {to = f32}
func.func @rotary(%x: tensor<1x4x8xf32>, %pos: tensor<1x4x1xi64>) -> tensor<1x4x8xf32> {
  %freq = tessel.constant dense<[[[1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125]]]> : tensor<1x1x8xf32>
  %p = tessel.cast %pos {to = f32} : (tensor<1x4x1xi64>) -> tensor<1x4x1xf32>
  %a = tessel.mul %p, %freq : (tensor<1x4x1xf32>, tensor<1x1x8xf32>) -> tensor<1x4x8xf32>
  %c = tessel.cos %a : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %y = tessel.mul %x, %c : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %z = tessel.add %y, %freq : (tensor<1x4x8xf32>, tensor<1x1x8xf32>) -> tensor<1x4x8xf32>
  return %z : tensor<1x4x8xf32>
}
