// RUN: tessel-opt %s -tessel-resolve-reshape-shapes -split-input-file | FileCheck %s

// The exporters' [b, s, 4, 16] target computed from x's own shape becomes a
// constant with 0 ("copy the input dim") for b and s.
// CHECK-LABEL: func.func @heads
// CHECK:         %[[T:.+]] = tessel.constant dense<[0, 0, 4, 16]> : tensor<4xi64>
// CHECK:         tessel.reshape %arg0, %[[T]]
func.func @heads(%x: tensor<?x?x64xf32>) -> tensor<?x?x?x16xf32> {
  %s = tessel.shape %x : (tensor<?x?x64xf32>) -> tensor<3xi64>
  %i0 = tessel.constant dense<0> : tensor<i64>
  %i1 = tessel.constant dense<1> : tensor<i64>
  %b = tessel.gather %s, %i0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %n = tessel.gather %s, %i1 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = tessel.unsqueeze %b {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %n1 = tessel.unsqueeze %n {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %h = tessel.constant dense<-1> : tensor<1xi64>
  %d = tessel.constant dense<16> : tensor<1xi64>
  %t = tessel.concat %b1, %n1, %h, %d {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %y = tessel.reshape %x, %t : (tensor<?x?x64xf32>, tensor<4xi64>) -> tensor<?x?x?x16xf32>
  return %y : tensor<?x?x?x16xf32>
}

// -----

// A target the analysis cannot prove (a shape passed in), allowzero = 1 and
// a target that is already constant keep their operands.
// CHECK-LABEL: func.func @unproven
// CHECK:         tessel.reshape %arg0, %arg1
// CHECK:         tessel.reshape %arg0, %{{.+}} {allowzero = 1 : i64}
// CHECK-NOT:     dense<[0, 0, 4, 16]>
func.func @unproven(%x: tensor<?x?x64xf32>, %shape: tensor<4xi64>) -> (tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32>) {
  %y = tessel.reshape %x, %shape : (tensor<?x?x64xf32>, tensor<4xi64>) -> tensor<?x?x?x16xf32>
  %s = tessel.shape %x : (tensor<?x?x64xf32>) -> tensor<3xi64>
  %i0 = tessel.constant dense<0> : tensor<i64>
  %b = tessel.gather %s, %i0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = tessel.unsqueeze %b {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %rest = tessel.constant dense<[1, 4, 16]> : tensor<3xi64>
  %t = tessel.concat %b1, %rest {axis = 0 : i64} : (tensor<1xi64>, tensor<3xi64>) -> tensor<4xi64>
  %z = tessel.reshape %x, %t {allowzero = 1 : i64} : (tensor<?x?x64xf32>, tensor<4xi64>) -> tensor<?x?x?x16xf32>
  return %y, %z : tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32>
}
