// RUN: tessel-opt %s -convert-tessel-to-linalg -split-input-file -verify-diagnostics | FileCheck %s

// Static broadcast: the [64] operand reads with a projected map.
// CHECK-DAG:   #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @add_bias
// CHECK:         linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]]
// CHECK:           arith.addf
// CHECK-NOT:     scf.if
func.func @add_bias(%x: tensor<?x64xf32>, %b: tensor<64xf32>) -> tensor<?x64xf32> {
  %r = tessel.add %x, %b : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// Two `?` dims that may each be a broadcast 1: resolved at run time, with a
// fast path when they are equal.
// CHECK-LABEL: func.func @dynamic_both
// CHECK:         arith.cmpi eq
// CHECK:         %[[EQ:.+]] = arith.andi
// CHECK:         scf.if
// CHECK:           linalg.generic
// CHECK:         } else {
// CHECK:           linalg.generic
// CHECK:             arith.select
// CHECK:             tensor.extract
func.func @dynamic_both(%x: tensor<?xf32>, %y: tensor<?xf32>) -> tensor<?xf32> {
  %r = tessel.mul %x, %y : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %r : tensor<?xf32>
}

// -----

// Pow by a constant 2 or 3 is multiplication, not a powf call.
// CHECK-LABEL: func.func @pow_const
// CHECK:         linalg.generic
// CHECK:           arith.mulf
// CHECK-NOT:       math.powf
func.func @pow_const(%x: tensor<8xf32>) -> tensor<8xf32> {
  %c = tessel.constant dense<3.0> : tensor<f32>
  %r = tessel.pow %x, %c : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

// Cast i64 -> f32, compare, where.
// CHECK-LABEL: func.func @cast_where
// CHECK:         arith.sitofp
// CHECK:         arith.cmpf olt
// CHECK:         arith.select
func.func @cast_where(%i: tensor<4xi64>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %f = tessel.cast %i {to = f32} : (tensor<4xi64>) -> tensor<4xf32>
  %m = tessel.less %f, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %r = tessel.where %m, %f, %y : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// Unsigned elements become signless; unsigned division is divui.
// CHECK-LABEL: func.func @unsigned_div
// CHECK-SAME:    (%{{.+}}: tensor<4xi8>, %{{.+}}: tensor<4xi8>) -> tensor<4xi8>
// CHECK:         arith.divui
func.func @unsigned_div(%x: tensor<4xui8>, %y: tensor<4xui8>) -> tensor<4xui8> {
  %r = tessel.div %x, %y : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  return %r : tensor<4xui8>
}

// -----

// An unranked operand cannot be lowered: the pass reports the op.
func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{failed to legalize operation 'tessel.neg'}}
  %r = tessel.neg %x : (tensor<*xf32>) -> tensor<*xf32>
  return %r : tensor<*xf32>
}
