// RUN: tessel-opt %s -tessel-infer-shapes -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @reshape_constant_shape
// CHECK-SAME:    -> tensor<2x8xf32>
// CHECK:         %[[R:.+]] = tessel.reshape {{.*}} -> tensor<2x8xf32>
// CHECK-NEXT:    return %[[R]] : tensor<2x8xf32>
func.func @reshape_constant_shape(%x: tensor<16xf32>) -> tensor<?x?xf32> {
  %s = tessel.constant dense<[2, 8]> : tensor<2xi64>
  %r = tessel.reshape %x, %s : (tensor<16xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

// -1 is computed from the element count; 0 copies the input dim.
// CHECK-LABEL: func.func @reshape_minus_one_and_zero
// CHECK:         tessel.reshape {{.*}} -> tensor<2x3x4xf32>
func.func @reshape_minus_one_and_zero(%x: tensor<2x12xf32>) -> tensor<*xf32> {
  %s = tessel.constant dense<[0, -1, 4]> : tensor<3xi64>
  %r = tessel.reshape %x, %s : (tensor<2x12xf32>, tensor<3xi64>) -> tensor<*xf32>
  return %r : tensor<*xf32>
}

// -----

// The exporters' pattern: the batch dim read back with Shape/Gather, glued to
// constants with Unsqueeze/Concat. The dynamic batch stays `?`, the rest
// becomes static, and the users downstream follow.
// CHECK-LABEL: func.func @shape_concat_reshape
// CHECK-SAME:    -> tensor<?x32xf32>
// CHECK:         tessel.concat {{.*}} -> tensor<2xi64>
// CHECK:         tessel.reshape {{.*}} -> tensor<?x32xf32>
// CHECK:         %[[R:.+]] = tessel.relu {{.*}} -> tensor<?x32xf32>
// CHECK-NEXT:    return %[[R]] : tensor<?x32xf32>
func.func @shape_concat_reshape(%x: tensor<?x4x8xf32>) -> tensor<*xf32> {
  %shape = tessel.shape %x : (tensor<?x4x8xf32>) -> tensor<?xi64>
  %c0 = tessel.constant dense<0> : tensor<i64>
  %batch = tessel.gather %shape, %c0 : (tensor<?xi64>, tensor<i64>) -> tensor<*xi64>
  %b1 = tessel.unsqueeze %batch {axes = array<i64: 0>} : (tensor<*xi64>) -> tensor<*xi64>
  %c32 = tessel.constant dense<[32]> : tensor<1xi64>
  %target = tessel.concat %b1, %c32 {axis = 0 : i64} : (tensor<*xi64>, tensor<1xi64>) -> tensor<*xi64>
  %r = tessel.reshape %x, %target : (tensor<?x4x8xf32>, tensor<*xi64>) -> tensor<*xf32>
  %y = tessel.relu %r : (tensor<*xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// With a dynamic batch the -1 cannot be computed: only the constant dim is
// refined.
// CHECK-LABEL: func.func @shape_slice_reshape_minus_one
// CHECK:         tessel.reshape {{.*}} -> tensor<?x?x4xf32>
func.func @shape_slice_reshape_minus_one(%x: tensor<?x32xf32>) -> tensor<?x?x?xf32> {
  %batch = tessel.shape %x {end = 1 : i64} : (tensor<?x32xf32>) -> tensor<?xi64>
  %rest = tessel.constant dense<[-1, 4]> : tensor<2xi64>
  %target = tessel.concat %batch, %rest {axis = 0 : i64} : (tensor<?xi64>, tensor<2xi64>) -> tensor<?xi64>
  %r = tessel.reshape %x, %target : (tensor<?x32xf32>, tensor<?xi64>) -> tensor<?x?x?xf32>
  return %r : tensor<?x?x?xf32>
}

// -----

// CHECK-LABEL: func.func @expand_constant_shape
// CHECK-SAME:    -> tensor<3x1x4xf32>
// CHECK:         tessel.expand {{.*}} -> tensor<3x1x4xf32>
func.func @expand_constant_shape(%x: tensor<1x4xf32>) -> tensor<?x?x?xf32> {
  %s = tessel.constant dense<[3, 1, 1]> : tensor<3xi64>
  %r = tessel.expand %x, %s : (tensor<1x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %r : tensor<?x?x?xf32>
}

// -----

// Expand to the shape of another tensor: its dynamic dim stays `?`.
// CHECK-LABEL: func.func @expand_like
// CHECK:         tessel.expand {{.*}} -> tensor<?x4xf32>
func.func @expand_like(%x: tensor<1x4xf32>, %y: tensor<?x4xf32>) -> tensor<*xf32> {
  %s = tessel.shape %y : (tensor<?x4xf32>) -> tensor<2xi64>
  %r = tessel.expand %x, %s : (tensor<1x4xf32>, tensor<2xi64>) -> tensor<*xf32>
  return %r : tensor<*xf32>
}

// -----

// CHECK-LABEL: func.func @unsqueeze_dynamic
// CHECK-SAME:    -> tensor<1x?x1x?xf32>
// CHECK:         tessel.unsqueeze {{.*}} -> tensor<1x?x1x?xf32>
func.func @unsqueeze_dynamic(%x: tensor<?x?xf32>) -> tensor<*xf32> {
  %r = tessel.unsqueeze %x {axes = array<i64: 0, 2>} : (tensor<?x?xf32>) -> tensor<*xf32>
  return %r : tensor<*xf32>
}

// -----

// Refinements flow from op to op in one sweep.
// CHECK-LABEL: func.func @chain
// CHECK-SAME:    -> tensor<4x2xf32>
// CHECK:         tessel.transpose {{.*}} -> tensor<3x4x2xf32>
// CHECK:         tessel.reduce_sum {{.*}} -> tensor<4x2xf32>
func.func @chain(%x: tensor<2x3x4xf32>) -> tensor<?x?xf32> {
  %t = tessel.transpose %x {perm = array<i64: 1, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<?x?x?xf32>
  %r = tessel.reduce_sum %t {axes = array<i64: 0>, keepdims = 0 : i64} : (tensor<?x?x?xf32>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

// Only the dims that are known are refined.
// CHECK-LABEL: func.func @partially_static
// CHECK-SAME:    -> tensor<?x16xf32>
// CHECK:         tessel.matmul {{.*}} -> tensor<?x16xf32>
func.func @partially_static(%a: tensor<?x8xf32>, %b: tensor<8x16xf32>) -> tensor<?x?xf32> {
  %r = tessel.matmul %a, %b : (tensor<?x8xf32>, tensor<8x16xf32>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

// A shape read from a dynamic tensor: nothing to refine.
// CHECK-LABEL: func.func @dynamic_stays
// CHECK-SAME:    -> tensor<?x?xf32>
// CHECK:         tessel.reshape {{.*}} -> tensor<?x?xf32>
func.func @dynamic_stays(%x: tensor<?xf32>, %y: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %s = tessel.shape %y : (tensor<?x?xf32>) -> tensor<2xi64>
  %r = tessel.reshape %x, %s : (tensor<?xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

// The shape is an argument, so inference only knows the rank; the declared
// static type is kept, never made less static.
// CHECK-LABEL: func.func @never_less_static
// CHECK-SAME:    -> tensor<4x4xf32>
// CHECK:         tessel.reshape {{.*}} -> tensor<4x4xf32>
func.func @never_less_static(%x: tensor<16xf32>, %s: tensor<2xi64>) -> tensor<4x4xf32> {
  %r = tessel.reshape %x, %s : (tensor<16xf32>, tensor<2xi64>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// A declared type more static than the operand's is kept too.
// CHECK-LABEL: func.func @declared_more_static
// CHECK:         tessel.relu {{.*}} : (tensor<?x4xf32>) -> tensor<2x4xf32>
func.func @declared_more_static(%x: tensor<?x4xf32>) -> tensor<2x4xf32> {
  %r = tessel.relu %x : (tensor<?x4xf32>) -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// -----

// Squeeze without axes of a `?` dim: whether it goes is a run-time matter.
// CHECK-LABEL: func.func @squeeze_dynamic_stays_unranked
// CHECK:         tessel.squeeze {{.*}} -> tensor<*xf32>
func.func @squeeze_dynamic_stays_unranked(%x: tensor<1x?xf32>) -> tensor<*xf32> {
  %r = tessel.squeeze %x : (tensor<1x?xf32>) -> tensor<*xf32>
  return %r : tensor<*xf32>
}

// -----

// x[0:5:step] with a huge step takes one element.
// CHECK-LABEL: func.func @slice_huge_step
// CHECK:         tessel.slice {{.*}} -> tensor<1xf32>
func.func @slice_huge_step(%x: tensor<8xf32>) -> tensor<?xf32> {
  %starts = tessel.constant dense<0> : tensor<1xi64>
  %ends = tessel.constant dense<5> : tensor<1xi64>
  %axes = tessel.constant dense<0> : tensor<1xi64>
  %steps = tessel.constant dense<9223372036854775807> : tensor<1xi64>
  %r = tessel.slice %x, %starts, %ends, %axes, %steps : (tensor<8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?xf32>
  return %r : tensor<?xf32>
}

// -----

// Refining a called function's results must keep its calls valid. (Plain
// CHECKs: if this case fails verification, the labels above still match.)
// CHECK:       func.func @caller
// CHECK:         call @callee(%{{.+}}) : (tensor<16xf32>) -> [[T:tensor<[^>]+>]]
// CHECK:       func.func @callee
// CHECK-SAME:    -> [[T]]
func.func @caller(%x: tensor<16xf32>) -> tensor<?x?xf32> {
  %r = func.call @callee(%x) : (tensor<16xf32>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
func.func @callee(%x: tensor<16xf32>) -> tensor<?x?xf32> {
  %s = tessel.constant dense<[2, 8]> : tensor<2xi64>
  %r = tessel.reshape %x, %s : (tensor<16xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
