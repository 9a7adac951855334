// RUN: tessel-opt %s -tessel-fold-constants=max-elements=4 -canonicalize -split-input-file | FileCheck %s --check-prefix=MAX4
// RUN: tessel-opt %s -tessel-fold-constants -canonicalize -split-input-file | FileCheck %s

//===----------------------------------------------------------------------===//
// Shape subgraphs
//===----------------------------------------------------------------------===//

// The exporters' Shape -> Gather -> Unsqueeze -> Concat over static dims
// becomes one constant, and the Reshape reading it gets a static type.
// CHECK-LABEL: func.func @shape_gather_unsqueeze_concat
// CHECK-SAME:    (%[[X:.+]]: tensor<2x4x8xf32>) -> tensor<2x32xf32>
// CHECK:         %[[S:.+]] = tessel.constant dense<[2, -1]> : tensor<2xi64>
// CHECK-NEXT:    %[[R:.+]] = tessel.reshape %[[X]], %[[S]] : (tensor<2x4x8xf32>, tensor<2xi64>) -> tensor<2x32xf32>
// CHECK-NEXT:    return %[[R]]
func.func @shape_gather_unsqueeze_concat(%x: tensor<2x4x8xf32>) -> tensor<?x?xf32> {
  %shape = tessel.shape %x : (tensor<2x4x8xf32>) -> tensor<3xi64>
  %c0 = tessel.constant dense<0> : tensor<i64>
  %batch = tessel.gather %shape, %c0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = tessel.unsqueeze %batch {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %minus1 = tessel.constant dense<[-1]> : tensor<1xi64>
  %target = tessel.concat %b1, %minus1 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %r = tessel.reshape %x, %target : (tensor<2x4x8xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

// Only dim 1 is read, and it is static.
// CHECK-LABEL: func.func @shape_gather_static_dim_of_dynamic_tensor
// CHECK-NEXT:    %[[C:.+]] = tessel.constant dense<64> : tensor<i64>
// CHECK-NEXT:    return %[[C]]
func.func @shape_gather_static_dim_of_dynamic_tensor(%x: tensor<?x64xf32>) -> tensor<i64> {
  %shape = tessel.shape %x : (tensor<?x64xf32>) -> tensor<2xi64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %d = tessel.gather %shape, %c1 : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  return %d : tensor<i64>
}

// -----

// The static tail of a dynamic tensor's shape, glued to the dynamic head: the
// head stays computed, the tail becomes a constant.
// CHECK-LABEL: func.func @shape_partially_dynamic
// CHECK-SAME:    (%[[X:.+]]: tensor<?x4x8xf32>)
// CHECK-DAG:     %[[TAIL:.+]] = tessel.constant dense<32> : tensor<1xi64>
// CHECK-DAG:     %[[HEAD:.+]] = tessel.shape %[[X]] {end = 1 : i64}
// CHECK:         %[[T:.+]] = tessel.concat %[[HEAD]], %[[TAIL]]
// CHECK:         tessel.reshape %[[X]], %[[T]] : (tensor<?x4x8xf32>, tensor<2xi64>) -> tensor<?x32xf32>
func.func @shape_partially_dynamic(%x: tensor<?x4x8xf32>) -> tensor<?x?xf32> {
  %head = tessel.shape %x {end = 1 : i64} : (tensor<?x4x8xf32>) -> tensor<1xi64>
  %tail = tessel.shape %x {start = 1 : i64} : (tensor<?x4x8xf32>) -> tensor<2xi64>
  %n = tessel.reduce_min %tail {keepdims = 1 : i64} : (tensor<2xi64>) -> tensor<1xi64>
  %c8 = tessel.constant dense<8> : tensor<1xi64>
  %prod = tessel.mul %n, %c8 : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %target = tessel.concat %head, %prod {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %r = tessel.reshape %x, %target : (tensor<?x4x8xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

// Size and a cast to i32 and back, as exporters write them.
// CHECK-LABEL: func.func @size_cast
// CHECK-NEXT:    %[[C:.+]] = tessel.constant dense<24> : tensor<i64>
// CHECK-NEXT:    return %[[C]]
func.func @size_cast(%x: tensor<2x3x4xf32>) -> tensor<i64> {
  %n = tessel.size %x : (tensor<2x3x4xf32>) -> tensor<i64>
  %n32 = tessel.cast %n {to = i32} : (tensor<i64>) -> tensor<i32>
  %n64 = tessel.cast %n32 {to = i64} : (tensor<i32>) -> tensor<i64>
  return %n64 : tensor<i64>
}

// -----

//===----------------------------------------------------------------------===//
// Mask construction
//===----------------------------------------------------------------------===//

// A causal mask from Range/Unsqueeze/LessOrEqual/Where.
// CHECK-LABEL: func.func @causal_mask_range_where
// CHECK-NEXT:    %[[M:.+]] = tessel.constant dense<{{\[}}[0.000000e+00, 0xFF800000, 0xFF800000], [0.000000e+00, 0.000000e+00, 0xFF800000], [0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<3x3xf32>
// CHECK-NEXT:    return %[[M]]
func.func @causal_mask_range_where() -> tensor<?x?xf32> {
  %c0 = tessel.constant dense<0> : tensor<i64>
  %c3 = tessel.constant dense<3> : tensor<i64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %r = tessel.range %c0, %c3, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %row = tessel.unsqueeze %r {axes = array<i64: 1>} : (tensor<?xi64>) -> tensor<?x1xi64>
  %col = tessel.unsqueeze %r {axes = array<i64: 0>} : (tensor<?xi64>) -> tensor<1x?xi64>
  %keep = tessel.less_or_equal %col, %row : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %zero = tessel.constant dense<0.0> : tensor<f32>
  %ninf = tessel.constant dense<0xFF800000> : tensor<f32>
  %mask = tessel.where %keep, %zero, %ninf : (tensor<?x?xi1>, tensor<f32>, tensor<f32>) -> tensor<?x?xf32>
  return %mask : tensor<?x?xf32>
}

// -----

// ConstantOfShape -> Trilu -> Cast -> Equal -> Expand, the other common form.
// CHECK-LABEL: func.func @causal_mask_trilu_expand
// CHECK-NEXT:    %[[M:.+]] = tessel.constant dense<{{\[}}{{\[}}[true, false, false], [true, true, false], [true, true, true]], {{\[}}[true, false, false], [true, true, false], [true, true, true]]]> : tensor<2x3x3xi1>
// CHECK-NEXT:    return %[[M]]
func.func @causal_mask_trilu_expand() -> tensor<*xi1> {
  %s = tessel.constant dense<[3, 3]> : tensor<2xi64>
  %ones = tessel.constant_of_shape %s {value = dense<1.0> : tensor<1xf32>} : (tensor<2xi64>) -> tensor<?x?xf32>
  %k = tessel.constant dense<1> : tensor<i64>
  %upper = tessel.trilu %ones, %k : (tensor<?x?xf32>, tensor<i64>) -> tensor<?x?xf32>
  %i = tessel.cast %upper {to = i64} : (tensor<?x?xf32>) -> tensor<?x?xi64>
  %c0 = tessel.constant dense<0> : tensor<i64>
  %keep = tessel.equal %i, %c0 : (tensor<?x?xi64>, tensor<i64>) -> tensor<?x?xi1>
  %b = tessel.constant dense<[2, 1, 1]> : tensor<3xi64>
  %e = tessel.expand %keep, %b : (tensor<?x?xi1>, tensor<3xi64>) -> tensor<*xi1>
  return %e : tensor<*xi1>
}

// -----

//===----------------------------------------------------------------------===//
// Arithmetic and reductions
//===----------------------------------------------------------------------===//

// Integer Div truncates toward zero (-3 / 2 is -1, not -2).
// CHECK-LABEL: func.func @arithmetic
// CHECK-NEXT:    %[[C:.+]] = tessel.constant dense<{{\[}}[4, -1], [2, 0]]> : tensor<2x2xi64>
// CHECK-NEXT:    return %[[C]]
func.func @arithmetic() -> tensor<2x2xi64> {
  %a = tessel.constant dense<[[7, -4], [3, -1]]> : tensor<2x2xi64>
  %b = tessel.constant dense<[1, 1]> : tensor<2xi64>
  %c2 = tessel.constant dense<2> : tensor<i64>
  %sum = tessel.add %a, %b : (tensor<2x2xi64>, tensor<2xi64>) -> tensor<2x2xi64>
  %q = tessel.div %sum, %c2 : (tensor<2x2xi64>, tensor<i64>) -> tensor<2x2xi64>
  %m = tessel.mul %q, %c2 : (tensor<2x2xi64>, tensor<i64>) -> tensor<2x2xi64>
  %r = tessel.sub %m, %q : (tensor<2x2xi64>, tensor<2x2xi64>) -> tensor<2x2xi64>
  return %r : tensor<2x2xi64>
}

// -----

// CHECK-LABEL: func.func @float_arithmetic
// CHECK-NEXT:    %[[C:.+]] = tessel.constant dense<[2.500000e-01, 1.000000e+00, 9.000000e+00]> : tensor<3xf32>
// CHECK-NEXT:    return %[[C]]
func.func @float_arithmetic() -> tensor<3xf32> {
  %a = tessel.constant dense<[0.5, -1.0, 3.0]> : tensor<3xf32>
  %two = tessel.constant dense<2.0> : tensor<f32>
  %p = tessel.pow %a, %two : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
  %s = tessel.sqrt %p : (tensor<3xf32>) -> tensor<3xf32>
  %r = tessel.mul %s, %s : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @reduce_sum_constant
// CHECK-NEXT:    %[[C:.+]] = tessel.constant dense<{{\[}}[6], [15]]> : tensor<2x1xi64>
// CHECK-NEXT:    return %[[C]]
func.func @reduce_sum_constant() -> tensor<?x?xi64> {
  %a = tessel.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
  %r = tessel.reduce_sum %a {axes = array<i64: -1>} : (tensor<2x3xi64>) -> tensor<?x?xi64>
  return %r : tensor<?x?xi64>
}

// -----

// A splat stays a splat, however large.
// CHECK-LABEL: func.func @splat_sum
// CHECK-NEXT:    %[[C:.+]] = tessel.constant dense<2.560000e+02> : tensor<1024xf32>
// CHECK-NEXT:    return %[[C]]
// MAX4-LABEL:  func.func @splat_sum
// MAX4-NEXT:     %[[C:.+]] = tessel.constant dense<2.560000e+02> : tensor<1024xf32>
// MAX4-NEXT:     return %[[C]]
func.func @splat_sum() -> tensor<1024xf32> {
  %ones = tessel.constant dense<1.0> : tensor<1024x256xf32>
  %r = tessel.reduce_sum %ones {axes = array<i64: 1>, keepdims = 0 : i64} : (tensor<1024x256xf32>) -> tensor<1024xf32>
  return %r : tensor<1024xf32>
}

// -----

//===----------------------------------------------------------------------===//
// What must not fold
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @shape_of_dynamic_dim
// CHECK:         tessel.shape
// CHECK:         tessel.gather
func.func @shape_of_dynamic_dim(%x: tensor<?x64xf32>) -> tensor<i64> {
  %shape = tessel.shape %x : (tensor<?x64xf32>) -> tensor<2xi64>
  %c0 = tessel.constant dense<0> : tensor<i64>
  %d = tessel.gather %shape, %c0 : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  return %d : tensor<i64>
}

// -----

// CHECK-LABEL: func.func @function_argument
// CHECK-SAME:    (%[[X:.+]]: tensor<3xi64>)
// CHECK:         %[[R:.+]] = tessel.add %[[X]], %{{.+}}
// CHECK-NEXT:    return %[[R]]
func.func @function_argument(%x: tensor<3xi64>) -> tensor<3xi64> {
  %c = tessel.constant dense<[1, 2, 3]> : tensor<3xi64>
  %r = tessel.add %x, %c : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  return %r : tensor<3xi64>
}

// -----

// Eight elements: folded by default, not with max-elements=4.
// CHECK-LABEL: func.func @over_max_elements
// CHECK-NEXT:    %[[C:.+]] = tessel.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi64>
// CHECK-NEXT:    return %[[C]]
// MAX4-LABEL:  func.func @over_max_elements
// MAX4:          tessel.range
func.func @over_max_elements() -> tensor<?xi64> {
  %c0 = tessel.constant dense<0> : tensor<i64>
  %c8 = tessel.constant dense<8> : tensor<i64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %r = tessel.range %c0, %c8, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %r : tensor<?xi64>
}

// -----

// Four elements fit max-elements=4.
// MAX4-LABEL:  func.func @at_max_elements
// MAX4-NEXT:     %[[C:.+]] = tessel.constant dense<[0, 1, 2, 3]> : tensor<4xi64>
// MAX4-NEXT:     return %[[C]]
func.func @at_max_elements() -> tensor<?xi64> {
  %c0 = tessel.constant dense<0> : tensor<i64>
  %c4 = tessel.constant dense<4> : tensor<i64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %r = tessel.range %c0, %c4, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %r : tensor<?xi64>
}

// -----

// Weights in a blob resource are not read.
// CHECK-LABEL: func.func @dense_resource_operand
// CHECK:         %[[W:.+]] = tessel.constant dense_resource<weights> : tensor<2xf32>
// CHECK:         %[[R:.+]] = tessel.mul %[[W]], %{{.+}}
// CHECK-NEXT:    return %[[R]]
func.func @dense_resource_operand() -> tensor<2xf32> {
  %w = tessel.constant dense_resource<weights> : tensor<2xf32>
  %c = tessel.constant dense<2.0> : tensor<f32>
  %r = tessel.mul %w, %c : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      weights: "0x040000000000803F00000040"
    }
  }
#-}

// -----

// Integer division by zero is left for run time.
// CHECK-LABEL: func.func @division_by_zero
// CHECK:         tessel.div
func.func @division_by_zero() -> tensor<2xi64> {
  %a = tessel.constant dense<[1, 2]> : tensor<2xi64>
  %z = tessel.constant dense<[1, 0]> : tensor<2xi64>
  %r = tessel.div %a, %z : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %r : tensor<2xi64>
}

// -----

// Cast to i1 maps the dim 3 to true, and back to i64 that is 1, not 3.
// CHECK-LABEL: func.func @shape_value_through_bool_cast
// CHECK-NEXT:    %[[C:.+]] = tessel.constant dense<1> : tensor<i64>
// CHECK-NEXT:    return %[[C]]
func.func @shape_value_through_bool_cast(%x: tensor<?x3xf32>) -> tensor<i64> {
  %shape = tessel.shape %x : (tensor<?x3xf32>) -> tensor<2xi64>
  %b = tessel.cast %shape {to = i1} : (tensor<2xi64>) -> tensor<2xi1>
  %i = tessel.cast %b {to = i64} : (tensor<2xi1>) -> tensor<2xi64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %d = tessel.gather %i, %c1 : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  return %d : tensor<i64>
}

// -----

// What folding leaves dead is removed by canonicalize: nothing but the
// function argument's use remains.
// CHECK-LABEL: func.func @dead_ops_removed
// CHECK-SAME:    (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NEXT:    %[[S:.+]] = tessel.constant dense<[3, 2]> : tensor<2xi64>
// CHECK-NEXT:    %[[R:.+]] = tessel.reshape %[[X]], %[[S]]
// CHECK-NEXT:    return %[[R]]
// CHECK-NOT:     tessel.
func.func @dead_ops_removed(%x: tensor<2x3xf32>) -> tensor<?x?xf32> {
  %shape = tessel.shape %x : (tensor<2x3xf32>) -> tensor<2xi64>
  %rev = tessel.constant dense<[1, 0]> : tensor<2xi64>
  %swapped = tessel.gather %shape, %rev : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  %unused = tessel.add %shape, %swapped : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  %n = tessel.size %x : (tensor<2x3xf32>) -> tensor<i64>
  %r = tessel.reshape %x, %swapped : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
