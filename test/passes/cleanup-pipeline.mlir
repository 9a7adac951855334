// RUN: tessel-opt %s -tessel-cleanup -split-input-file | FileCheck %s

// An exported attention prologue: heads split off with a Reshape whose target
// is read back from the input's Shape, and a causal mask built from the
// sequence length. With a static input every shape computation is folded.
// CHECK-LABEL: func.func @static_input
// CHECK-SAME:    (%[[X:.+]]: tensor<2x16x64xf32>) -> (tensor<2x4x16x16xf32>, tensor<16x16xf32>)
// CHECK-NOT:     tessel.shape
// CHECK-DAG:     %[[TARGET:.+]] = tessel.constant dense<[2, 16, 4, 16]> : tensor<4xi64>
// CHECK-DAG:     %[[MASK:.+]] = tessel.constant dense<{{.+}}> : tensor<16x16xf32>
// CHECK:         %[[R:.+]] = tessel.reshape %[[X]], %[[TARGET]] : (tensor<2x16x64xf32>, tensor<4xi64>) -> tensor<2x16x4x16xf32>
// CHECK:         %[[T:.+]] = tessel.transpose %[[R]] {{.*}} -> tensor<2x4x16x16xf32>
// CHECK:         return %[[T]], %[[MASK]]
// CHECK-NOT:     tessel.shape
func.func @static_input(%x: tensor<2x16x64xf32>) -> (tensor<?x?x?x?xf32>, tensor<?x?xf32>) {
  %shape0 = tessel.shape %x : (tensor<2x16x64xf32>) -> tensor<3xi64>
  %c0 = tessel.constant dense<0> : tensor<i64>
  %batch = tessel.gather %shape0, %c0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %shape1 = tessel.shape %x : (tensor<2x16x64xf32>) -> tensor<3xi64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %seq = tessel.gather %shape1, %c1 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = tessel.unsqueeze %batch {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %s1 = tessel.unsqueeze %seq {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %heads = tessel.constant dense<[4, 16]> : tensor<2xi64>
  %target = tessel.concat %b1, %s1, %heads {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  %r = tessel.reshape %x, %target : (tensor<2x16x64xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  %t = tessel.transpose %r {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
  %range = tessel.range %c0, %seq, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %row = tessel.unsqueeze %range {axes = array<i64: 1>} : (tensor<?xi64>) -> tensor<?x1xi64>
  %col = tessel.unsqueeze %range {axes = array<i64: 0>} : (tensor<?xi64>) -> tensor<1x?xi64>
  %keep = tessel.less_or_equal %col, %row : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %zero = tessel.constant dense<0.0> : tensor<f32>
  %ninf = tessel.constant dense<0xFF800000> : tensor<f32>
  %mask = tessel.where %keep, %zero, %ninf : (tensor<?x?xi1>, tensor<f32>, tensor<f32>) -> tensor<?x?xf32>
  return %t, %mask : tensor<?x?x?x?xf32>, tensor<?x?xf32>
}

// -----

// The same graph with a dynamic sequence length: the sequence length stays a
// run-time value (one Shape is enough after CSE), the rest is static.
// CHECK-LABEL: func.func @dynamic_sequence
// CHECK-SAME:    (%[[X:.+]]: tensor<2x?x64xf32>) -> tensor<2x4x?x16xf32>
// CHECK-COUNT-1: tessel.shape
// CHECK-NOT:     tessel.shape
// CHECK:         tessel.reshape {{.*}} -> tensor<2x?x4x16xf32>
func.func @dynamic_sequence(%x: tensor<2x?x64xf32>) -> tensor<?x?x?x?xf32> {
  %shape0 = tessel.shape %x : (tensor<2x?x64xf32>) -> tensor<3xi64>
  %c0 = tessel.constant dense<0> : tensor<i64>
  %batch = tessel.gather %shape0, %c0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %shape1 = tessel.shape %x : (tensor<2x?x64xf32>) -> tensor<3xi64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %seq = tessel.gather %shape1, %c1 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = tessel.unsqueeze %batch {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %s1 = tessel.unsqueeze %seq {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %heads = tessel.constant dense<[4, 16]> : tensor<2xi64>
  %target = tessel.concat %b1, %s1, %heads {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  %r = tessel.reshape %x, %target : (tensor<2x?x64xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  %t = tessel.transpose %r {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
  return %t : tensor<?x?x?x?xf32>
}

// -----

// TorchScript exports cast f32 to f32 (`.float()`, `.to(dtype)`): the cast
// folds away; a real conversion stays.
// CHECK-LABEL: func.func @same_type_cast
// CHECK-SAME:    (%[[X:.+]]: tensor<?x8xf32>)
// CHECK-NEXT:    %[[H:.+]] = tessel.cast %[[X]] {to = f16} : (tensor<?x8xf32>) -> tensor<?x8xf16>
// CHECK-NEXT:    return %[[X]], %[[H]]
func.func @same_type_cast(%x: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf16>) {
  %a = tessel.cast %x {to = f32} : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %b = tessel.cast %a {to = f32} : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %h = tessel.cast %b {to = f16} : (tensor<?x8xf32>) -> tensor<?x8xf16>
  return %b, %h : tensor<?x8xf32>, tensor<?x8xf16>
}
