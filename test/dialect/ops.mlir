// RUN: tessel-opt %s | tessel-opt | FileCheck %s
// RUN: tessel-opt %s -mlir-print-op-generic | tessel-opt | FileCheck %s

// Round trip of every tessel op. Attributes equal to their default are not
// printed, so non-default values are used wherever there is one.

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @add
// CHECK-SAME:    (%[[A:.+]]: tensor<2x?xf32>, %[[B:.+]]: tensor<?xf32>)
// CHECK:         %[[R:.+]] = tessel.add %[[A]], %[[B]] : (tensor<2x?xf32>, tensor<?xf32>) -> tensor<2x?xf32>
// CHECK-NEXT:    return %[[R]]
func.func @add(%a: tensor<2x?xf32>, %b: tensor<?xf32>) -> tensor<2x?xf32> {
  %0 = tessel.add %a, %b : (tensor<2x?xf32>, tensor<?xf32>) -> tensor<2x?xf32>
  return %0 : tensor<2x?xf32>
}

// CHECK-LABEL: func.func @sub
// CHECK:         tessel.sub %{{.+}}, %{{.+}} : (tensor<4x1xi64>, tensor<3xi64>) -> tensor<4x3xi64>
func.func @sub(%a: tensor<4x1xi64>, %b: tensor<3xi64>) -> tensor<4x3xi64> {
  %0 = tessel.sub %a, %b : (tensor<4x1xi64>, tensor<3xi64>) -> tensor<4x3xi64>
  return %0 : tensor<4x3xi64>
}

// CHECK-LABEL: func.func @mul
// CHECK:         tessel.mul %{{.+}}, %{{.+}} : (tensor<f16>, tensor<?x8xf16>) -> tensor<?x8xf16>
func.func @mul(%a: tensor<f16>, %b: tensor<?x8xf16>) -> tensor<?x8xf16> {
  %0 = tessel.mul %a, %b : (tensor<f16>, tensor<?x8xf16>) -> tensor<?x8xf16>
  return %0 : tensor<?x8xf16>
}

// CHECK-LABEL: func.func @div
// CHECK:         tessel.div %{{.+}}, %{{.+}} : (tensor<*xf32>, tensor<4xf32>) -> tensor<*xf32>
func.func @div(%a: tensor<*xf32>, %b: tensor<4xf32>) -> tensor<*xf32> {
  %0 = tessel.div %a, %b : (tensor<*xf32>, tensor<4xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// CHECK-LABEL: func.func @min
// CHECK:         tessel.min %{{.+}}, %{{.+}} : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
func.func @min(%a: tensor<3xi32>, %b: tensor<3xi32>) -> tensor<3xi32> {
  %0 = tessel.min %a, %b : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
  return %0 : tensor<3xi32>
}

// CHECK-LABEL: func.func @max
// CHECK:         tessel.max %{{.+}}, %{{.+}} : (tensor<?x3xbf16>, tensor<1x3xbf16>) -> tensor<?x3xbf16>
func.func @max(%a: tensor<?x3xbf16>, %b: tensor<1x3xbf16>) -> tensor<?x3xbf16> {
  %0 = tessel.max %a, %b : (tensor<?x3xbf16>, tensor<1x3xbf16>) -> tensor<?x3xbf16>
  return %0 : tensor<?x3xbf16>
}

// CHECK-LABEL: func.func @and
// CHECK:         tessel.and %{{.+}}, %{{.+}} : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
func.func @and(%a: tensor<2x3xi1>, %b: tensor<3xi1>) -> tensor<2x3xi1> {
  %0 = tessel.and %a, %b : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  return %0 : tensor<2x3xi1>
}

// CHECK-LABEL: func.func @or
// CHECK:         tessel.or %{{.+}}, %{{.+}} : (tensor<?xi1>, tensor<?xi1>) -> tensor<?xi1>
func.func @or(%a: tensor<?xi1>, %b: tensor<?xi1>) -> tensor<?xi1> {
  %0 = tessel.or %a, %b : (tensor<?xi1>, tensor<?xi1>) -> tensor<?xi1>
  return %0 : tensor<?xi1>
}

// CHECK-LABEL: func.func @xor
// CHECK:         tessel.xor %{{.+}}, %{{.+}} : (tensor<i1>, tensor<5xi1>) -> tensor<5xi1>
func.func @xor(%a: tensor<i1>, %b: tensor<5xi1>) -> tensor<5xi1> {
  %0 = tessel.xor %a, %b : (tensor<i1>, tensor<5xi1>) -> tensor<5xi1>
  return %0 : tensor<5xi1>
}

// The exponent may have another element type than the base.
// CHECK-LABEL: func.func @pow
// CHECK:         tessel.pow %{{.+}}, %{{.+}} : (tensor<?x4xf32>, tensor<i64>) -> tensor<?x4xf32>
func.func @pow(%a: tensor<?x4xf32>, %b: tensor<i64>) -> tensor<?x4xf32> {
  %0 = tessel.pow %a, %b : (tensor<?x4xf32>, tensor<i64>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// CHECK-LABEL: func.func @equal
// CHECK:         tessel.equal %{{.+}}, %{{.+}} : (tensor<?x4xi64>, tensor<4xi64>) -> tensor<?x4xi1>
func.func @equal(%a: tensor<?x4xi64>, %b: tensor<4xi64>) -> tensor<?x4xi1> {
  %0 = tessel.equal %a, %b : (tensor<?x4xi64>, tensor<4xi64>) -> tensor<?x4xi1>
  return %0 : tensor<?x4xi1>
}

// CHECK-LABEL: func.func @less
// CHECK:         tessel.less %{{.+}}, %{{.+}} : (tensor<3xf32>, tensor<f32>) -> tensor<3xi1>
func.func @less(%a: tensor<3xf32>, %b: tensor<f32>) -> tensor<3xi1> {
  %0 = tessel.less %a, %b : (tensor<3xf32>, tensor<f32>) -> tensor<3xi1>
  return %0 : tensor<3xi1>
}

// CHECK-LABEL: func.func @less_or_equal
// CHECK:         tessel.less_or_equal %{{.+}}, %{{.+}} : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
func.func @less_or_equal(%a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xi1> {
  %0 = tessel.less_or_equal %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
  return %0 : tensor<3xi1>
}

// CHECK-LABEL: func.func @greater
// CHECK:         tessel.greater %{{.+}}, %{{.+}} : (tensor<2x1xi32>, tensor<1x2xi32>) -> tensor<2x2xi1>
func.func @greater(%a: tensor<2x1xi32>, %b: tensor<1x2xi32>) -> tensor<2x2xi1> {
  %0 = tessel.greater %a, %b : (tensor<2x1xi32>, tensor<1x2xi32>) -> tensor<2x2xi1>
  return %0 : tensor<2x2xi1>
}

// CHECK-LABEL: func.func @greater_or_equal
// CHECK:         tessel.greater_or_equal %{{.+}}, %{{.+}} : (tensor<?xi64>, tensor<i64>) -> tensor<?xi1>
func.func @greater_or_equal(%a: tensor<?xi64>, %b: tensor<i64>) -> tensor<?xi1> {
  %0 = tessel.greater_or_equal %a, %b : (tensor<?xi64>, tensor<i64>) -> tensor<?xi1>
  return %0 : tensor<?xi1>
}

// CHECK-LABEL: func.func @neg
// CHECK:         tessel.neg %{{.+}} : (tensor<?x2xi64>) -> tensor<?x2xi64>
func.func @neg(%a: tensor<?x2xi64>) -> tensor<?x2xi64> {
  %0 = tessel.neg %a : (tensor<?x2xi64>) -> tensor<?x2xi64>
  return %0 : tensor<?x2xi64>
}

// CHECK-LABEL: func.func @abs
// CHECK:         tessel.abs %{{.+}} : (tensor<4xf32>) -> tensor<4xf32>
func.func @abs(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = tessel.abs %a : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// CHECK-LABEL: func.func @sqrt
// CHECK:         tessel.sqrt %{{.+}} : (tensor<?xf32>) -> tensor<?xf32>
func.func @sqrt(%a: tensor<?xf32>) -> tensor<?xf32> {
  %0 = tessel.sqrt %a : (tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @reciprocal
// CHECK:         tessel.reciprocal %{{.+}} : (tensor<2xf16>) -> tensor<2xf16>
func.func @reciprocal(%a: tensor<2xf16>) -> tensor<2xf16> {
  %0 = tessel.reciprocal %a : (tensor<2xf16>) -> tensor<2xf16>
  return %0 : tensor<2xf16>
}

// CHECK-LABEL: func.func @exp
// CHECK:         tessel.exp %{{.+}} : (tensor<?x?xf32>) -> tensor<?x?xf32>
func.func @exp(%a: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = tessel.exp %a : (tensor<?x?xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @log
// CHECK:         tessel.log %{{.+}} : (tensor<3xf64>) -> tensor<3xf64>
func.func @log(%a: tensor<3xf64>) -> tensor<3xf64> {
  %0 = tessel.log %a : (tensor<3xf64>) -> tensor<3xf64>
  return %0 : tensor<3xf64>
}

// CHECK-LABEL: func.func @tanh
// CHECK:         tessel.tanh %{{.+}} : (tensor<3xf32>) -> tensor<3xf32>
func.func @tanh(%a: tensor<3xf32>) -> tensor<3xf32> {
  %0 = tessel.tanh %a : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// CHECK-LABEL: func.func @sigmoid
// CHECK:         tessel.sigmoid %{{.+}} : (tensor<1x?xf32>) -> tensor<1x?xf32>
func.func @sigmoid(%a: tensor<1x?xf32>) -> tensor<1x?xf32> {
  %0 = tessel.sigmoid %a : (tensor<1x?xf32>) -> tensor<1x?xf32>
  return %0 : tensor<1x?xf32>
}

// CHECK-LABEL: func.func @erf
// CHECK:         tessel.erf %{{.+}} : (tensor<3xf32>) -> tensor<3xf32>
func.func @erf(%a: tensor<3xf32>) -> tensor<3xf32> {
  %0 = tessel.erf %a : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// CHECK-LABEL: func.func @sin
// CHECK:         tessel.sin %{{.+}} : (tensor<3xf32>) -> tensor<3xf32>
func.func @sin(%a: tensor<3xf32>) -> tensor<3xf32> {
  %0 = tessel.sin %a : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// CHECK-LABEL: func.func @cos
// CHECK:         tessel.cos %{{.+}} : (tensor<3xf32>) -> tensor<3xf32>
func.func @cos(%a: tensor<3xf32>) -> tensor<3xf32> {
  %0 = tessel.cos %a : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// CHECK-LABEL: func.func @relu
// CHECK:         tessel.relu %{{.+}} : (tensor<?x3xi32>) -> tensor<?x3xi32>
func.func @relu(%a: tensor<?x3xi32>) -> tensor<?x3xi32> {
  %0 = tessel.relu %a : (tensor<?x3xi32>) -> tensor<?x3xi32>
  return %0 : tensor<?x3xi32>
}

// CHECK-LABEL: func.func @softplus
// CHECK:         tessel.softplus %{{.+}} : (tensor<3xf32>) -> tensor<3xf32>
func.func @softplus(%a: tensor<3xf32>) -> tensor<3xf32> {
  %0 = tessel.softplus %a : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// CHECK-LABEL: func.func @floor
// CHECK:         tessel.floor %{{.+}} : (tensor<3xf32>) -> tensor<3xf32>
func.func @floor(%a: tensor<3xf32>) -> tensor<3xf32> {
  %0 = tessel.floor %a : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// CHECK-LABEL: func.func @ceil
// CHECK:         tessel.ceil %{{.+}} : (tensor<3xf32>) -> tensor<3xf32>
func.func @ceil(%a: tensor<3xf32>) -> tensor<3xf32> {
  %0 = tessel.ceil %a : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// CHECK-LABEL: func.func @round
// CHECK:         tessel.round %{{.+}} : (tensor<3xf32>) -> tensor<3xf32>
func.func @round(%a: tensor<3xf32>) -> tensor<3xf32> {
  %0 = tessel.round %a : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// CHECK-LABEL: func.func @not
// CHECK:         tessel.not %{{.+}} : (tensor<?xi1>) -> tensor<?xi1>
func.func @not(%a: tensor<?xi1>) -> tensor<?xi1> {
  %0 = tessel.not %a : (tensor<?xi1>) -> tensor<?xi1>
  return %0 : tensor<?xi1>
}

// The declared type may be more static than the operand's.
// CHECK-LABEL: func.func @identity
// CHECK:         tessel.identity %{{.+}} : (tensor<?x4xf32>) -> tensor<2x4xf32>
func.func @identity(%a: tensor<?x4xf32>) -> tensor<2x4xf32> {
  %0 = tessel.identity %a : (tensor<?x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @gelu
// CHECK:         tessel.gelu %{{.+}} {approximate = "tanh"} : (tensor<?x8xf32>) -> tensor<?x8xf32>
func.func @gelu(%a: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = tessel.gelu %a {approximate = "tanh"} : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// CHECK-LABEL: func.func @gelu_default
// CHECK:         tessel.gelu %{{.+}} : (tensor<8xf32>) -> tensor<8xf32>
func.func @gelu_default(%a: tensor<8xf32>) -> tensor<8xf32> {
  %0 = tessel.gelu %a : (tensor<8xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// CHECK-LABEL: func.func @is_nan
// CHECK:         tessel.is_nan %{{.+}} : (tensor<?x2xf32>) -> tensor<?x2xi1>
func.func @is_nan(%a: tensor<?x2xf32>) -> tensor<?x2xi1> {
  %0 = tessel.is_nan %a : (tensor<?x2xf32>) -> tensor<?x2xi1>
  return %0 : tensor<?x2xi1>
}

// CHECK-LABEL: func.func @is_inf
// CHECK:         tessel.is_inf %{{.+}} {detect_negative = 0 : i64} : (tensor<3xf32>) -> tensor<3xi1>
func.func @is_inf(%a: tensor<3xf32>) -> tensor<3xi1> {
  %0 = tessel.is_inf %a {detect_negative = 0 : i64} : (tensor<3xf32>) -> tensor<3xi1>
  return %0 : tensor<3xi1>
}

// CHECK-LABEL: func.func @clip
// CHECK-SAME:    (%[[X:.+]]: tensor<?x4xf32>, %[[LO:.+]]: tensor<f32>, %[[HI:.+]]: tensor<1xf32>)
// CHECK:         tessel.clip %[[X]], %[[LO]], %[[HI]] : (tensor<?x4xf32>, tensor<f32>, tensor<1xf32>) -> tensor<?x4xf32>
func.func @clip(%x: tensor<?x4xf32>, %lo: tensor<f32>, %hi: tensor<1xf32>) -> tensor<?x4xf32> {
  %0 = tessel.clip %x, %lo, %hi : (tensor<?x4xf32>, tensor<f32>, tensor<1xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// CHECK-LABEL: func.func @where
// CHECK-SAME:    (%[[C:.+]]: tensor<1x?xi1>, %[[X:.+]]: tensor<4x1xf32>, %[[Y:.+]]: tensor<f32>)
// CHECK:         tessel.where %[[C]], %[[X]], %[[Y]] : (tensor<1x?xi1>, tensor<4x1xf32>, tensor<f32>) -> tensor<4x?xf32>
func.func @where(%c: tensor<1x?xi1>, %x: tensor<4x1xf32>, %y: tensor<f32>) -> tensor<4x?xf32> {
  %0 = tessel.where %c, %x, %y : (tensor<1x?xi1>, tensor<4x1xf32>, tensor<f32>) -> tensor<4x?xf32>
  return %0 : tensor<4x?xf32>
}

//===----------------------------------------------------------------------===//
// Shapes, data movement, constants
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @constant
// CHECK:         tessel.constant dense<[1, -1, 0]> : tensor<3xi64>
// CHECK:         tessel.constant dense<1.500000e+00> : tensor<2x3xf32>
func.func @constant() -> (tensor<3xi64>, tensor<2x3xf32>) {
  %0 = tessel.constant dense<[1, -1, 0]> : tensor<3xi64>
  %1 = tessel.constant dense<1.5> : tensor<2x3xf32>
  return %0, %1 : tensor<3xi64>, tensor<2x3xf32>
}

// CHECK-LABEL: func.func @constant_resource
// CHECK:         tessel.constant dense_resource<weights> : tensor<2xf32>
func.func @constant_resource() -> tensor<2xf32> {
  %0 = tessel.constant dense_resource<weights> : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// CHECK-LABEL: func.func @constant_of_shape
// CHECK-SAME:    (%[[S:.+]]: tensor<2xi64>)
// CHECK:         tessel.constant_of_shape %[[S]] {value = dense<1> : tensor<1xi64>} : (tensor<2xi64>) -> tensor<?x?xi64>
func.func @constant_of_shape(%s: tensor<2xi64>) -> tensor<?x?xi64> {
  %0 = tessel.constant_of_shape %s {value = dense<1> : tensor<1xi64>} : (tensor<2xi64>) -> tensor<?x?xi64>
  return %0 : tensor<?x?xi64>
}

// Without `value` the result is f32 zeros.
// CHECK-LABEL: func.func @constant_of_shape_default
// CHECK:         tessel.constant_of_shape %{{.+}} : (tensor<3xi64>) -> tensor<?x?x?xf32>
func.func @constant_of_shape_default(%s: tensor<3xi64>) -> tensor<?x?x?xf32> {
  %0 = tessel.constant_of_shape %s : (tensor<3xi64>) -> tensor<?x?x?xf32>
  return %0 : tensor<?x?x?xf32>
}

// CHECK-LABEL: func.func @shape
// CHECK:         tessel.shape %{{.+}} {end = -1 : i64, start = 1 : i64} : (tensor<?x3x?x5xf32>) -> tensor<2xi64>
func.func @shape(%a: tensor<?x3x?x5xf32>) -> tensor<2xi64> {
  %0 = tessel.shape %a {start = 1 : i64, end = -1 : i64} : (tensor<?x3x?x5xf32>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// CHECK-LABEL: func.func @shape_all
// CHECK:         tessel.shape %{{.+}} : (tensor<?x3xf32>) -> tensor<2xi64>
func.func @shape_all(%a: tensor<?x3xf32>) -> tensor<2xi64> {
  %0 = tessel.shape %a : (tensor<?x3xf32>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// CHECK-LABEL: func.func @size
// CHECK:         tessel.size %{{.+}} : (tensor<?x3xf32>) -> tensor<i64>
func.func @size(%a: tensor<?x3xf32>) -> tensor<i64> {
  %0 = tessel.size %a : (tensor<?x3xf32>) -> tensor<i64>
  return %0 : tensor<i64>
}

// CHECK-LABEL: func.func @reshape
// CHECK-SAME:    (%[[X:.+]]: tensor<?x4xf32>, %[[S:.+]]: tensor<3xi64>)
// CHECK:         tessel.reshape %[[X]], %[[S]] {allowzero = 1 : i64} : (tensor<?x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
func.func @reshape(%x: tensor<?x4xf32>, %s: tensor<3xi64>) -> tensor<?x?x?xf32> {
  %0 = tessel.reshape %x, %s {allowzero = 1 : i64} : (tensor<?x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %0 : tensor<?x?x?xf32>
}

// CHECK-LABEL: func.func @flatten
// CHECK:         tessel.flatten %{{.+}} {axis = 2 : i64} : (tensor<2x3x?xf32>) -> tensor<6x?xf32>
func.func @flatten(%a: tensor<2x3x?xf32>) -> tensor<6x?xf32> {
  %0 = tessel.flatten %a {axis = 2 : i64} : (tensor<2x3x?xf32>) -> tensor<6x?xf32>
  return %0 : tensor<6x?xf32>
}

// CHECK-LABEL: func.func @squeeze
// CHECK:         tessel.squeeze %{{.+}} {axes = array<i64: 0, -1>} : (tensor<1x?x1xf32>) -> tensor<?xf32>
func.func @squeeze(%a: tensor<1x?x1xf32>) -> tensor<?xf32> {
  %0 = tessel.squeeze %a {axes = array<i64: 0, -1>} : (tensor<1x?x1xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// Without axes, every static 1-dim goes.
// CHECK-LABEL: func.func @squeeze_all
// CHECK:         tessel.squeeze %{{.+}} : (tensor<1x3x1xf32>) -> tensor<3xf32>
func.func @squeeze_all(%a: tensor<1x3x1xf32>) -> tensor<3xf32> {
  %0 = tessel.squeeze %a : (tensor<1x3x1xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// CHECK-LABEL: func.func @unsqueeze
// CHECK:         tessel.unsqueeze %{{.+}} {axes = array<i64: 0, 3>} : (tensor<?x4xf32>) -> tensor<1x?x4x1xf32>
func.func @unsqueeze(%a: tensor<?x4xf32>) -> tensor<1x?x4x1xf32> {
  %0 = tessel.unsqueeze %a {axes = array<i64: 0, 3>} : (tensor<?x4xf32>) -> tensor<1x?x4x1xf32>
  return %0 : tensor<1x?x4x1xf32>
}

// CHECK-LABEL: func.func @transpose
// CHECK:         tessel.transpose %{{.+}} {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x8x?x64xf32>) -> tensor<?x?x8x64xf32>
func.func @transpose(%a: tensor<?x8x?x64xf32>) -> tensor<?x?x8x64xf32> {
  %0 = tessel.transpose %a {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x8x?x64xf32>) -> tensor<?x?x8x64xf32>
  return %0 : tensor<?x?x8x64xf32>
}

// Without perm the dims are reversed.
// CHECK-LABEL: func.func @transpose_reverse
// CHECK:         tessel.transpose %{{.+}} : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
func.func @transpose_reverse(%a: tensor<2x3x4xf32>) -> tensor<4x3x2xf32> {
  %0 = tessel.transpose %a : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  return %0 : tensor<4x3x2xf32>
}

// CHECK-LABEL: func.func @concat
// CHECK-SAME:    (%[[A:.+]]: tensor<2x?xf32>, %[[B:.+]]: tensor<?x3xf32>, %[[C:.+]]: tensor<2x1xf32>)
// CHECK:         tessel.concat %[[A]], %[[B]], %[[C]] {axis = -1 : i64} : (tensor<2x?xf32>, tensor<?x3xf32>, tensor<2x1xf32>) -> tensor<2x?xf32>
func.func @concat(%a: tensor<2x?xf32>, %b: tensor<?x3xf32>, %c: tensor<2x1xf32>) -> tensor<2x?xf32> {
  %0 = tessel.concat %a, %b, %c {axis = -1 : i64} : (tensor<2x?xf32>, tensor<?x3xf32>, tensor<2x1xf32>) -> tensor<2x?xf32>
  return %0 : tensor<2x?xf32>
}

// CHECK-LABEL: func.func @split
// CHECK:         %[[S:.+]]:3 = tessel.split %{{.+}} {axis = 1 : i64, split = array<i64: 1, 2, 3>} : (tensor<?x6xf32>) -> (tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x3xf32>)
// CHECK-NEXT:    return %[[S]]#0, %[[S]]#1, %[[S]]#2
func.func @split(%a: tensor<?x6xf32>) -> (tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x3xf32>) {
  %0:3 = tessel.split %a {axis = 1 : i64, split = array<i64: 1, 2, 3>} : (tensor<?x6xf32>) -> (tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x3xf32>)
  return %0#0, %0#1, %0#2 : tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x3xf32>
}

// Seven into three parts: 3, 3, 1.
// CHECK-LABEL: func.func @split_num_outputs
// CHECK:         tessel.split %{{.+}} {num_outputs = 3 : i64} : (tensor<7xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<1xf32>)
func.func @split_num_outputs(%a: tensor<7xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<1xf32>) {
  %0:3 = tessel.split %a {num_outputs = 3 : i64} : (tensor<7xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<1xf32>)
  return %0#0, %0#1, %0#2 : tensor<3xf32>, tensor<3xf32>, tensor<1xf32>
}

// CHECK-LABEL: func.func @slice
// CHECK-SAME:    (%[[X:.+]]: tensor<?x8xf32>, %[[ST:.+]]: tensor<1xi64>, %[[EN:.+]]: tensor<1xi64>, %[[AX:.+]]: tensor<1xi64>, %[[SP:.+]]: tensor<1xi64>)
// CHECK:         tessel.slice %[[X]], %[[ST]], %[[EN]], %[[AX]], %[[SP]] : (tensor<?x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x?xf32>
func.func @slice(%x: tensor<?x8xf32>, %starts: tensor<1xi64>, %ends: tensor<1xi64>, %axes: tensor<1xi64>, %steps: tensor<1xi64>) -> tensor<?x?xf32> {
  %0 = tessel.slice %x, %starts, %ends, %axes, %steps : (tensor<?x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @gather
// CHECK:         tessel.gather %{{.+}}, %{{.+}} {axis = 1 : i64} : (tensor<2x?x4xf32>, tensor<3x5xi32>) -> tensor<2x3x5x4xf32>
func.func @gather(%d: tensor<2x?x4xf32>, %i: tensor<3x5xi32>) -> tensor<2x3x5x4xf32> {
  %0 = tessel.gather %d, %i {axis = 1 : i64} : (tensor<2x?x4xf32>, tensor<3x5xi32>) -> tensor<2x3x5x4xf32>
  return %0 : tensor<2x3x5x4xf32>
}

// CHECK-LABEL: func.func @gather_elements
// CHECK:         tessel.gather_elements %{{.+}}, %{{.+}} {axis = -1 : i64} : (tensor<2x?xf32>, tensor<2x3xi64>) -> tensor<2x3xf32>
func.func @gather_elements(%d: tensor<2x?xf32>, %i: tensor<2x3xi64>) -> tensor<2x3xf32> {
  %0 = tessel.gather_elements %d, %i {axis = -1 : i64} : (tensor<2x?xf32>, tensor<2x3xi64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @gather_nd
// CHECK:         tessel.gather_nd %{{.+}}, %{{.+}} {batch_dims = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x1xi64>) -> tensor<2x5x4xf32>
func.func @gather_nd(%d: tensor<2x3x4xf32>, %i: tensor<2x5x1xi64>) -> tensor<2x5x4xf32> {
  %0 = tessel.gather_nd %d, %i {batch_dims = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x1xi64>) -> tensor<2x5x4xf32>
  return %0 : tensor<2x5x4xf32>
}

// CHECK-LABEL: func.func @scatter_nd
// CHECK-SAME:    (%[[D:.+]]: tensor<?x4xf32>, %[[I:.+]]: tensor<3x1xi64>, %[[U:.+]]: tensor<3x4xf32>)
// CHECK:         tessel.scatter_nd %[[D]], %[[I]], %[[U]] {reduction = "add"} : (tensor<?x4xf32>, tensor<3x1xi64>, tensor<3x4xf32>) -> tensor<?x4xf32>
func.func @scatter_nd(%d: tensor<?x4xf32>, %i: tensor<3x1xi64>, %u: tensor<3x4xf32>) -> tensor<?x4xf32> {
  %0 = tessel.scatter_nd %d, %i, %u {reduction = "add"} : (tensor<?x4xf32>, tensor<3x1xi64>, tensor<3x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// CHECK-LABEL: func.func @expand
// CHECK:         tessel.expand %{{.+}}, %{{.+}} : (tensor<1x4xf32>, tensor<3xi64>) -> tensor<?x?x4xf32>
func.func @expand(%a: tensor<1x4xf32>, %s: tensor<3xi64>) -> tensor<?x?x4xf32> {
  %0 = tessel.expand %a, %s : (tensor<1x4xf32>, tensor<3xi64>) -> tensor<?x?x4xf32>
  return %0 : tensor<?x?x4xf32>
}

// CHECK-LABEL: func.func @tile
// CHECK:         tessel.tile %{{.+}}, %{{.+}} : (tensor<2x?xf32>, tensor<2xi64>) -> tensor<?x?xf32>
func.func @tile(%a: tensor<2x?xf32>, %r: tensor<2xi64>) -> tensor<?x?xf32> {
  %0 = tessel.tile %a, %r : (tensor<2x?xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @range
// CHECK-SAME:    (%[[S:.+]]: tensor<i64>, %[[L:.+]]: tensor<i64>, %[[D:.+]]: tensor<i64>)
// CHECK:         tessel.range %[[S]], %[[L]], %[[D]] : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
func.func @range(%s: tensor<i64>, %l: tensor<i64>, %d: tensor<i64>) -> tensor<?xi64> {
  %0 = tessel.range %s, %l, %d : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// CHECK-LABEL: func.func @cast
// CHECK:         tessel.cast %{{.+}} {saturate = 0 : i64, to = f16} : (tensor<?x3xi64>) -> tensor<?x3xf16>
func.func @cast(%a: tensor<?x3xi64>) -> tensor<?x3xf16> {
  %0 = tessel.cast %a {to = f16, saturate = 0 : i64} : (tensor<?x3xi64>) -> tensor<?x3xf16>
  return %0 : tensor<?x3xf16>
}

// CHECK-LABEL: func.func @cast_like
// CHECK:         tessel.cast_like %{{.+}}, %{{.+}} : (tensor<?xi1>, tensor<2x2xf32>) -> tensor<?xf32>
func.func @cast_like(%a: tensor<?xi1>, %t: tensor<2x2xf32>) -> tensor<?xf32> {
  %0 = tessel.cast_like %a, %t : (tensor<?xi1>, tensor<2x2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @trilu
// CHECK-SAME:    (%[[X:.+]]: tensor<?x?xf32>, %[[K:.+]]: tensor<i64>)
// CHECK:         tessel.trilu %[[X]], %[[K]] {upper = 0 : i64} : (tensor<?x?xf32>, tensor<i64>) -> tensor<?x?xf32>
func.func @trilu(%x: tensor<?x?xf32>, %k: tensor<i64>) -> tensor<?x?xf32> {
  %0 = tessel.trilu %x, %k {upper = 0 : i64} : (tensor<?x?xf32>, tensor<i64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @trilu_no_k
// CHECK:         tessel.trilu %{{[^,]+}} : (tensor<4x4xf32>) -> tensor<4x4xf32>
func.func @trilu_no_k(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = tessel.trilu %x : (tensor<4x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// CHECK-LABEL: func.func @pad
// CHECK-SAME:    (%[[X:.+]]: tensor<?x4xf32>, %[[P:.+]]: tensor<4xi64>, %[[V:.+]]: tensor<f32>)
// CHECK:         tessel.pad %[[X]], %[[P]], %[[V]] {mode = "reflect"} : (tensor<?x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<?x?xf32>
func.func @pad(%x: tensor<?x4xf32>, %p: tensor<4xi64>, %v: tensor<f32>) -> tensor<?x?xf32> {
  %0 = tessel.pad %x, %p, %v {mode = "reflect"} : (tensor<?x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @reduce_mean
// CHECK:         tessel.reduce_mean %{{.+}} {axes = array<i64: -1>} : (tensor<?x?x8xf32>) -> tensor<?x?x1xf32>
func.func @reduce_mean(%a: tensor<?x?x8xf32>) -> tensor<?x?x1xf32> {
  %0 = tessel.reduce_mean %a {axes = array<i64: -1>} : (tensor<?x?x8xf32>) -> tensor<?x?x1xf32>
  return %0 : tensor<?x?x1xf32>
}

// Without axes every dim is reduced.
// CHECK-LABEL: func.func @reduce_sum
// CHECK:         tessel.reduce_sum %{{.+}} {keepdims = 0 : i64} : (tensor<?x3xi64>) -> tensor<i64>
func.func @reduce_sum(%a: tensor<?x3xi64>) -> tensor<i64> {
  %0 = tessel.reduce_sum %a {keepdims = 0 : i64} : (tensor<?x3xi64>) -> tensor<i64>
  return %0 : tensor<i64>
}

// CHECK-LABEL: func.func @reduce_max
// CHECK:         tessel.reduce_max %{{.+}} {noop_with_empty_axes = 1 : i64} : (tensor<?x3xf32>) -> tensor<?x3xf32>
func.func @reduce_max(%a: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %0 = tessel.reduce_max %a {noop_with_empty_axes = 1 : i64} : (tensor<?x3xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// CHECK-LABEL: func.func @reduce_min
// CHECK:         tessel.reduce_min %{{.+}} {axes = array<i64: 0, 2>, keepdims = 0 : i64} : (tensor<2x?x4xf32>) -> tensor<?xf32>
func.func @reduce_min(%a: tensor<2x?x4xf32>) -> tensor<?xf32> {
  %0 = tessel.reduce_min %a {axes = array<i64: 0, 2>, keepdims = 0 : i64} : (tensor<2x?x4xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @arg_max
// CHECK:         tessel.arg_max %{{.+}} {axis = 1 : i64, keepdims = 0 : i64, select_last_index = 1 : i64} : (tensor<?x5xf32>) -> tensor<?xi64>
func.func @arg_max(%a: tensor<?x5xf32>) -> tensor<?xi64> {
  %0 = tessel.arg_max %a {axis = 1 : i64, keepdims = 0 : i64, select_last_index = 1 : i64} : (tensor<?x5xf32>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// CHECK-LABEL: func.func @cum_sum
// CHECK:         tessel.cum_sum %{{.+}}, %{{.+}} {exclusive = 1 : i64, reverse = 1 : i64} : (tensor<?x4xi64>, tensor<i32>) -> tensor<?x4xi64>
func.func @cum_sum(%a: tensor<?x4xi64>, %axis: tensor<i32>) -> tensor<?x4xi64> {
  %0 = tessel.cum_sum %a, %axis {exclusive = 1 : i64, reverse = 1 : i64} : (tensor<?x4xi64>, tensor<i32>) -> tensor<?x4xi64>
  return %0 : tensor<?x4xi64>
}

//===----------------------------------------------------------------------===//
// Matrix products, normalisation, attention
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @matmul
// CHECK:         tessel.matmul %{{.+}}, %{{.+}} : (tensor<?x1x16x32xf32>, tensor<4x32x?xf32>) -> tensor<?x4x16x?xf32>
func.func @matmul(%a: tensor<?x1x16x32xf32>, %b: tensor<4x32x?xf32>) -> tensor<?x4x16x?xf32> {
  %0 = tessel.matmul %a, %b : (tensor<?x1x16x32xf32>, tensor<4x32x?xf32>) -> tensor<?x4x16x?xf32>
  return %0 : tensor<?x4x16x?xf32>
}

// A 1-D rhs is promoted and squeezed.
// CHECK-LABEL: func.func @matmul_vector
// CHECK:         tessel.matmul %{{.+}}, %{{.+}} : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3xf32>
func.func @matmul_vector(%a: tensor<3x4xf32>, %b: tensor<4xf32>) -> tensor<3xf32> {
  %0 = tessel.matmul %a, %b : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// CHECK-LABEL: func.func @gemm
// CHECK-SAME:    (%[[A:.+]]: tensor<8x?xf32>, %[[B:.+]]: tensor<16x8xf32>, %[[C:.+]]: tensor<16xf32>)
// CHECK:         tessel.gemm %[[A]], %[[B]], %[[C]] {alpha = 5.000000e-01 : f32, beta = 2.000000e+00 : f32, transA = 1 : i64, transB = 1 : i64} : (tensor<8x?xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<?x16xf32>
func.func @gemm(%a: tensor<8x?xf32>, %b: tensor<16x8xf32>, %c: tensor<16xf32>) -> tensor<?x16xf32> {
  %0 = tessel.gemm %a, %b, %c {alpha = 0.5 : f32, beta = 2.0 : f32, transA = 1 : i64, transB = 1 : i64} : (tensor<8x?xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// CHECK-LABEL: func.func @gemm_no_c
// CHECK-SAME:    (%[[A:.+]]: tensor<?x8xf32>, %[[B:.+]]: tensor<8x16xf32>)
// CHECK:         tessel.gemm %[[A]], %[[B]] : (tensor<?x8xf32>, tensor<8x16xf32>) -> tensor<?x16xf32>
func.func @gemm_no_c(%a: tensor<?x8xf32>, %b: tensor<8x16xf32>) -> tensor<?x16xf32> {
  %0 = tessel.gemm %a, %b : (tensor<?x8xf32>, tensor<8x16xf32>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// CHECK-LABEL: func.func @softmax
// CHECK:         tessel.softmax %{{.+}} {axis = 1 : i64} : (tensor<?x10xf32>) -> tensor<?x10xf32>
func.func @softmax(%a: tensor<?x10xf32>) -> tensor<?x10xf32> {
  %0 = tessel.softmax %a {axis = 1 : i64} : (tensor<?x10xf32>) -> tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// CHECK-LABEL: func.func @log_softmax
// CHECK:         tessel.log_softmax %{{.+}} {axis = 0 : i64} : (tensor<?x10xf32>) -> tensor<?x10xf32>
func.func @log_softmax(%a: tensor<?x10xf32>) -> tensor<?x10xf32> {
  %0 = tessel.log_softmax %a {axis = 0 : i64} : (tensor<?x10xf32>) -> tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// CHECK-LABEL: func.func @layer_normalization
// CHECK-SAME:    (%[[X:.+]]: tensor<?x?x64xf32>, %[[S:.+]]: tensor<64xf32>, %[[B:.+]]: tensor<64xf32>)
// CHECK:         tessel.layer_normalization %[[X]], %[[S]], %[[B]] {epsilon = 9.99999997E-7 : f32, stash_type = 0 : i64} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
func.func @layer_normalization(%x: tensor<?x?x64xf32>, %s: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %0 = tessel.layer_normalization %x, %s, %b {epsilon = 1.0e-6 : f32, stash_type = 0 : i64} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// CHECK-LABEL: func.func @layer_normalization_no_bias
// CHECK-SAME:    (%[[X:.+]]: tensor<2x3x4xf32>, %[[S:.+]]: tensor<3x4xf32>)
// CHECK:         tessel.layer_normalization %[[X]], %[[S]] {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x4xf32>
func.func @layer_normalization_no_bias(%x: tensor<2x3x4xf32>, %s: tensor<3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = tessel.layer_normalization %x, %s {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @rms_normalization
// CHECK:         tessel.rms_normalization %{{.+}}, %{{.+}} {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x64xf16>, tensor<64xf16>) -> tensor<?x?x64xf16>
func.func @rms_normalization(%x: tensor<?x?x64xf16>, %s: tensor<64xf16>) -> tensor<?x?x64xf16> {
  %0 = tessel.rms_normalization %x, %s {epsilon = 1.0e-6 : f32} : (tensor<?x?x64xf16>, tensor<64xf16>) -> tensor<?x?x64xf16>
  return %0 : tensor<?x?x64xf16>
}

// GQA: 8 query heads over 2 kv heads, with a boolean mask.
// CHECK-LABEL: func.func @attention
// CHECK-SAME:    (%[[Q:.+]]: tensor<1x8x?x64xf32>, %[[K:.+]]: tensor<1x2x?x64xf32>, %[[V:.+]]: tensor<1x2x?x32xf32>, %[[M:.+]]: tensor<?x?xi1>)
// CHECK:         tessel.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 1.250000e-01 : f32, softcap = 5.000000e+01 : f32} : (tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x32xf32>, tensor<?x?xi1>) -> tensor<1x8x?x32xf32>
func.func @attention(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x32xf32>, %m: tensor<?x?xi1>) -> tensor<1x8x?x32xf32> {
  %0 = tessel.attention %q, %k, %v, %m {scale = 0.125 : f32, softcap = 50.0 : f32} : (tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x32xf32>, tensor<?x?xi1>) -> tensor<1x8x?x32xf32>
  return %0 : tensor<1x8x?x32xf32>
}

// 3-D operands carry the head counts as attributes.
// CHECK-LABEL: func.func @attention_3d_causal
// CHECK-SAME:    (%[[Q:.+]]: tensor<2x?x512xf32>, %[[K:.+]]: tensor<2x?x128xf32>, %[[V:.+]]: tensor<2x?x128xf32>)
// CHECK:         tessel.attention %[[Q]], %[[K]], %[[V]] {is_causal = 1 : i64, kv_num_heads = 2 : i64, q_num_heads = 8 : i64} : (tensor<2x?x512xf32>, tensor<2x?x128xf32>, tensor<2x?x128xf32>) -> tensor<2x?x512xf32>
func.func @attention_3d_causal(%q: tensor<2x?x512xf32>, %k: tensor<2x?x128xf32>, %v: tensor<2x?x128xf32>) -> tensor<2x?x512xf32> {
  %0 = tessel.attention %q, %k, %v {is_causal = 1 : i64, q_num_heads = 8 : i64, kv_num_heads = 2 : i64} : (tensor<2x?x512xf32>, tensor<2x?x128xf32>, tensor<2x?x128xf32>) -> tensor<2x?x512xf32>
  return %0 : tensor<2x?x512xf32>
}

// A sliding window and the IsNaN-guarded fully masked rows.
// CHECK-LABEL: func.func @attention_window
// CHECK:         tessel.attention %{{.+}}, %{{.+}}, %{{.+}} {fully_masked_rows = "zero", window_left = 128 : i64, window_right = 0 : i64} : (tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>) -> tensor<1x4x?x16xf32>
func.func @attention_window(%q: tensor<1x4x?x16xf32>, %k: tensor<1x4x?x16xf32>, %v: tensor<1x4x?x16xf32>) -> tensor<1x4x?x16xf32> {
  %0 = tessel.attention %q, %k, %v {window_left = 128 : i64, window_right = 0 : i64, fully_masked_rows = "zero"} : (tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>) -> tensor<1x4x?x16xf32>
  return %0 : tensor<1x4x?x16xf32>
}

// CHECK-LABEL: func.func @rotary_embedding
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x?x64xf32>, %[[C:.+]]: tensor<?x32xf32>, %[[S:.+]]: tensor<?x32xf32>, %[[P:.+]]: tensor<1x?xi64>)
// CHECK:         tessel.rotary_embedding %[[X]], %[[C]], %[[S]], %[[P]] {interleaved = 1 : i64, rotary_embedding_dim = 32 : i64} : (tensor<1x8x?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<1x?xi64>) -> tensor<1x8x?x64xf32>
func.func @rotary_embedding(%x: tensor<1x8x?x64xf32>, %cos: tensor<?x32xf32>, %sin: tensor<?x32xf32>, %pos: tensor<1x?xi64>) -> tensor<1x8x?x64xf32> {
  %0 = tessel.rotary_embedding %x, %cos, %sin, %pos {interleaved = 1 : i64, rotary_embedding_dim = 32 : i64} : (tensor<1x8x?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<1x?xi64>) -> tensor<1x8x?x64xf32>
  return %0 : tensor<1x8x?x64xf32>
}

// CHECK-LABEL: func.func @rotary_embedding_3d
// CHECK-SAME:    (%[[X:.+]]: tensor<1x?x512xf32>, %[[C:.+]]: tensor<1x?x32xf32>, %[[S:.+]]: tensor<1x?x32xf32>)
// CHECK:         tessel.rotary_embedding %[[X]], %[[C]], %[[S]] {num_heads = 8 : i64} : (tensor<1x?x512xf32>, tensor<1x?x32xf32>, tensor<1x?x32xf32>) -> tensor<1x?x512xf32>
func.func @rotary_embedding_3d(%x: tensor<1x?x512xf32>, %cos: tensor<1x?x32xf32>, %sin: tensor<1x?x32xf32>) -> tensor<1x?x512xf32> {
  %0 = tessel.rotary_embedding %x, %cos, %sin {num_heads = 8 : i64} : (tensor<1x?x512xf32>, tensor<1x?x32xf32>, tensor<1x?x32xf32>) -> tensor<1x?x512xf32>
  return %0 : tensor<1x?x512xf32>
}

// The blob survives the round trip (printed after the last function).
// CHECK:       dialect_resources
// CHECK:         weights: "0x040000000000803F00000040"

{-#
  dialect_resources: {
    builtin: {
      weights: "0x040000000000803F00000040"
    }
  }
#-}
