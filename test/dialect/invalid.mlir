// RUN: tessel-opt %s -split-input-file -verify-diagnostics

// One case per user-facing message of tessel's type inference (TesselOps.cpp)
// and of the ODS type constraints. Type inference doubles as the verifier, so
// each inference error comes with MLIR's "failed to infer returned types".

//===----------------------------------------------------------------------===//
// Shared checks
//===----------------------------------------------------------------------===//

func.func @not_broadcastable(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{shapes [2, 3] and [4] are not broadcastable}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @element_type_mismatch(%a: tensor<3xf32>, %b: tensor<3xf16>) {
  // expected-error @+2 {{operands have different element types ('f32' vs 'f16')}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.mul %a, %b : (tensor<3xf32>, tensor<3xf16>) -> tensor<3xf32>
  return
}

// -----

func.func @compare_element_type_mismatch(%a: tensor<3xi64>, %b: tensor<3xi32>) {
  // expected-error @+2 {{operands have different element types}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.equal %a, %b : (tensor<3xi64>, tensor<3xi32>) -> tensor<3xi1>
  return
}

// -----

func.func @axis_out_of_range(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{axis 2 is out of range for rank 2 (expected [-2, 1])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.reduce_sum %a {axes = array<i64: 2>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @axis_repeated(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{axis -1 is repeated in axes}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.reduce_mean %a {axes = array<i64: 1, -1>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return
}

// -----

// The declared result type disagrees with the inferred one.
func.func @incompatible_result(%a: tensor<2x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{'tessel.add' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  return
}

// -----

func.func @incompatible_result_element(%a: tensor<3xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<3xf32>' are incompatible with return type(s) of operation 'tensor<3xf16>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.neg %a : (tensor<3xf32>) -> tensor<3xf16>
  return
}

// -----

func.func @incompatible_result_rank(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<3x2xf32>' are incompatible with return type(s) of operation 'tensor<6xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.transpose %a : (tensor<2x3xf32>) -> tensor<6xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// ODS type constraints
//===----------------------------------------------------------------------===//

func.func @sqrt_integer(%a: tensor<3xi64>) {
  // expected-error @+1 {{operand #0 must be tensor of floating-point values}}
  %0 = tessel.sqrt %a : (tensor<3xi64>) -> tensor<3xi64>
  return
}

// -----

func.func @where_condition_not_i1(%c: tensor<3xi32>, %x: tensor<3xf32>, %y: tensor<3xf32>) {
  // expected-error @+1 {{operand #0 must be tensor of 1-bit signless integer values}}
  %0 = tessel.where %c, %x, %y : (tensor<3xi32>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @reshape_shape_not_i64(%x: tensor<6xf32>, %s: tensor<2xi32>) {
  // expected-error @+1 {{operand #1 must be tensor of 64-bit signless integer values}}
  %0 = tessel.reshape %x, %s : (tensor<6xf32>, tensor<2xi32>) -> tensor<?x?xf32>
  return
}

// -----

func.func @and_not_bool(%a: tensor<3xi8>, %b: tensor<3xi8>) {
  // expected-error @+1 {{operand #0 must be tensor of 1-bit signless integer values}}
  %0 = tessel.and %a, %b : (tensor<3xi8>, tensor<3xi8>) -> tensor<3xi8>
  return
}

// -----

func.func @compare_result_not_i1(%a: tensor<3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{result #0 must be tensor of 1-bit signless integer values}}
  %0 = tessel.greater %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

func.func @gelu_approximate(%a: tensor<3xf32>) {
  // expected-error @+2 {{approximate must be "none" or "tanh", got "fast"}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.gelu %a {approximate = "fast"} : (tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @clip_bounds_not_scalar(%x: tensor<4xf32>, %lo: tensor<2xf32>, %hi: tensor<f32>) {
  // expected-error @+2 {{clip bounds must have one element, got [2]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.clip %x, %lo, %hi : (tensor<4xf32>, tensor<2xf32>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

func.func @clip_bounds_element_type(%x: tensor<4xf32>, %lo: tensor<f32>, %hi: tensor<f16>) {
  // expected-error @+2 {{operands have different element types ('f32' vs 'f16')}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.clip %x, %lo, %hi : (tensor<4xf32>, tensor<f32>, tensor<f16>) -> tensor<4xf32>
  return
}

// -----

func.func @where_not_broadcastable(%c: tensor<3xi1>, %x: tensor<4xf32>, %y: tensor<f32>) {
  // expected-error @+2 {{shapes [3] and [4] are not broadcastable}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.where %c, %x, %y : (tensor<3xi1>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Constants and shapes
//===----------------------------------------------------------------------===//

func.func @constant_of_shape_value_not_one_element(%s: tensor<2xi64>) {
  // expected-error @+2 {{value must have exactly one element, has 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.constant_of_shape %s {value = dense<[1, 2]> : tensor<2xi64>} : (tensor<2xi64>) -> tensor<?x?xi64>
  return
}

// -----

func.func @constant_of_shape_negative_dim() {
  %s = tessel.constant dense<[2, -3]> : tensor<2xi64>
  // expected-error @+2 {{shape has a negative dim -3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.constant_of_shape %s : (tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @reshape_more_than_one_minus_one(%x: tensor<6xf32>) {
  %s = tessel.constant dense<[-1, 2, -1]> : tensor<3xi64>
  // expected-error @+2 {{shape has more than one -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.reshape %x, %s : (tensor<6xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return
}

// -----

func.func @reshape_invalid_dim(%x: tensor<6xf32>) {
  %s = tessel.constant dense<[-3, 2]> : tensor<2xi64>
  // expected-error @+2 {{shape has an invalid dim -3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.reshape %x, %s : (tensor<6xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @reshape_copies_dim_beyond_rank(%x: tensor<6xf32>) {
  %s = tessel.constant dense<[6, 0]> : tensor<2xi64>
  // expected-error @+2 {{shape copies dim 1 (0) but the input has rank 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.reshape %x, %s : (tensor<6xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @reshape_element_count(%x: tensor<2x3xf32>) {
  %s = tessel.constant dense<[4, 2]> : tensor<2xi64>
  // expected-error @+2 {{cannot reshape [2, 3] (6 elements) into [4, 2] (8 elements)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @reshape_minus_one_not_divisible(%x: tensor<2x3xf32>) {
  %s = tessel.constant dense<[4, -1]> : tensor<2xi64>
  // expected-error @+2 {{cannot reshape [2, 3] into [4, -1]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @reshape_shape_not_1d(%x: tensor<6xf32>, %s: tensor<1x2xi64>) {
  // expected-error @+2 {{shape must be 1-D, got rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.reshape %x, %s : (tensor<6xf32>, tensor<1x2xi64>) -> tensor<?x?xf32>
  return
}

// -----

// Flatten's axis may equal the rank, so its range message differs.
func.func @flatten_axis_out_of_range(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{axis 3 is out of range for rank 2 (expected [-2, 2])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.flatten %x {axis = 3 : i64} : (tensor<2x3xf32>) -> tensor<6x1xf32>
  return
}

// -----

func.func @squeeze_non_one_dim(%x: tensor<1x3xf32>) {
  // expected-error @+2 {{cannot squeeze dim 1 of size 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.squeeze %x {axes = array<i64: 1>} : (tensor<1x3xf32>) -> tensor<1xf32>
  return
}

// -----

func.func @unsqueeze_axis_out_of_range(%x: tensor<3xf32>) {
  // expected-error @+2 {{axis 2 is out of range for rank 2 (expected [-2, 1])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.unsqueeze %x {axes = array<i64: 2>} : (tensor<3xf32>) -> tensor<3x1xf32>
  return
}

// -----

func.func @transpose_bad_perm(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{perm [0, 2, 2] is not a permutation of the 3 input dims}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.transpose %x {perm = array<i64: 0, 2, 2>} : (tensor<2x3x4xf32>) -> tensor<2x4x4xf32>
  return
}

// -----

func.func @transpose_perm_wrong_length(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{perm [1, 0] is not a permutation of the 3 input dims}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3x4xf32>) -> tensor<3x2xf32>
  return
}

// -----

func.func @concat_no_inputs() {
  // expected-error @+2 {{needs at least one input}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.concat {axis = 0 : i64} : () -> tensor<0xf32>
  return
}

// -----

func.func @concat_rank_mismatch(%a: tensor<2x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{inputs have different ranks (2 vs 1)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  return
}

// -----

func.func @concat_dim_mismatch(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error @+2 {{inputs disagree on dim 1 (3 vs 4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @concat_element_type_mismatch(%a: tensor<2xi64>, %b: tensor<2xi32>) {
  // expected-error @+2 {{inputs have different element types ('i64' vs 'i32')}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.concat %a, %b {axis = 0 : i64} : (tensor<2xi64>, tensor<2xi32>) -> tensor<4xi64>
  return
}

// -----

func.func @concat_axis_out_of_range(%a: tensor<2xi64>, %b: tensor<2xi64>) {
  // expected-error @+2 {{axis 1 is out of range for rank 1 (expected [-1, 0])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.concat %a, %b {axis = 1 : i64} : (tensor<2xi64>, tensor<2xi64>) -> tensor<4xi64>
  return
}

// -----

func.func @split_neither(%x: tensor<4xf32>) {
  // expected-error @+2 {{needs exactly one of `split` and `num_outputs`}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = tessel.split %x : (tensor<4xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  return
}

// -----

func.func @split_both(%x: tensor<4xf32>) {
  // expected-error @+2 {{needs exactly one of `split` and `num_outputs`}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = tessel.split %x {split = array<i64: 2, 2>, num_outputs = 2 : i64} : (tensor<4xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  return
}

// -----

func.func @split_no_outputs(%x: tensor<4xf32>) {
  // expected-error @+2 {{needs at least one output}}
  // expected-error @+1 {{failed to infer returned types}}
  tessel.split %x {num_outputs = 0 : i64} : (tensor<4xf32>) -> ()
  return
}

// -----

func.func @split_sum_mismatch(%x: tensor<4x6xf32>) {
  // expected-error @+2 {{split sizes sum to 5 but the dim has size 6}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = tessel.split %x {axis = 1 : i64, split = array<i64: 2, 3>} : (tensor<4x6xf32>) -> (tensor<4x2xf32>, tensor<4x3xf32>)
  return
}

// -----

func.func @split_negative(%x: tensor<?xf32>) {
  // expected-error @+2 {{split has a negative size -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = tessel.split %x {split = array<i64: 3, -1>} : (tensor<?xf32>) -> (tensor<3xf32>, tensor<?xf32>)
  return
}

// -----

func.func @split_result_count(%x: tensor<6xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<2xf32>', 'tensor<2xf32>', 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<3xf32>', 'tensor<3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = tessel.split %x {num_outputs = 3 : i64} : (tensor<6xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  return
}

// -----

func.func @slice_entries_per_axis(%x: tensor<4x4xf32>) {
  %starts = tessel.constant dense<[0, 1]> : tensor<2xi64>
  %ends = tessel.constant dense<[2]> : tensor<1xi64>
  %axes = tessel.constant dense<[0]> : tensor<1xi64>
  %steps = tessel.constant dense<[1]> : tensor<1xi64>
  // expected-error @+2 {{starts/ends/steps must have one entry per axis (1), got 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.slice %x, %starts, %ends, %axes, %steps : (tensor<4x4xf32>, tensor<2xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x4xf32>
  return
}

// -----

func.func @slice_step_zero(%x: tensor<4x4xf32>) {
  %starts = tessel.constant dense<0> : tensor<1xi64>
  %ends = tessel.constant dense<2> : tensor<1xi64>
  %axes = tessel.constant dense<1> : tensor<1xi64>
  %steps = tessel.constant dense<0> : tensor<1xi64>
  // expected-error @+2 {{steps must not be 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.slice %x, %starts, %ends, %axes, %steps : (tensor<4x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4x?xf32>
  return
}

// -----

func.func @slice_repeated_axis(%x: tensor<4x4xf32>, %starts: tensor<2xi64>, %ends: tensor<2xi64>, %steps: tensor<2xi64>) {
  %axes = tessel.constant dense<[1, -1]> : tensor<2xi64>
  // expected-error @+2 {{axis -1 is repeated in axes}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.slice %x, %starts, %ends, %axes, %steps : (tensor<4x4xf32>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) -> tensor<4x?xf32>
  return
}

// -----

func.func @gather_rank_zero(%d: tensor<f32>, %i: tensor<i64>) {
  // expected-error @+2 {{data must have rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.gather %d, %i : (tensor<f32>, tensor<i64>) -> tensor<f32>
  return
}

// -----

func.func @gather_axis_out_of_range(%d: tensor<2x3xf32>, %i: tensor<4xi64>) {
  // expected-error @+2 {{axis -3 is out of range for rank 2 (expected [-2, 1])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.gather %d, %i {axis = -3 : i64} : (tensor<2x3xf32>, tensor<4xi64>) -> tensor<4x3xf32>
  return
}

// -----

func.func @gather_elements_rank(%d: tensor<2x3xf32>, %i: tensor<4xi64>) {
  // expected-error @+2 {{data and indices must have one rank (2 vs 1)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.gather_elements %d, %i : (tensor<2x3xf32>, tensor<4xi64>) -> tensor<4xf32>
  return
}

// -----

func.func @gather_nd_batch_dims(%d: tensor<2x3xf32>, %i: tensor<2x1xi64>) {
  // expected-error @+2 {{batch_dims 2 must be less than both ranks}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.gather_nd %d, %i {batch_dims = 2 : i64} : (tensor<2x3xf32>, tensor<2x1xi64>) -> tensor<2xf32>
  return
}

// -----

func.func @gather_nd_tuple_length(%d: tensor<2x3xf32>, %i: tensor<5x3xi64>) {
  // expected-error @+2 {{index tuples of length 3 exceed the data rank 2 minus batch_dims 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.gather_nd %d, %i : (tensor<2x3xf32>, tensor<5x3xi64>) -> tensor<5xf32>
  return
}

// -----

func.func @expand_incompatible(%x: tensor<3x4xf32>) {
  %s = tessel.constant dense<[2, 4]> : tensor<2xi64>
  // expected-error @+2 {{cannot expand [3, 4] to [2, 4]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.expand %x, %s : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<?x4xf32>
  return
}

// -----

func.func @tile_repeats_count(%x: tensor<3x4xf32>) {
  %r = tessel.constant dense<[2, 2, 2]> : tensor<3xi64>
  // expected-error @+2 {{repeats has 3 entries for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.tile %x, %r : (tensor<3x4xf32>, tensor<3xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @range_not_scalar(%s: tensor<2xi64>, %l: tensor<i64>, %d: tensor<i64>) {
  // expected-error @+2 {{start, limit and delta must be scalars, got [2]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.range %s, %l, %d : (tensor<2xi64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return
}

// -----

func.func @range_delta_zero() {
  %s = tessel.constant dense<0> : tensor<i64>
  %l = tessel.constant dense<4> : tensor<i64>
  %d = tessel.constant dense<0> : tensor<i64>
  // expected-error @+2 {{delta must not be 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.range %s, %l, %d : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return
}

// -----

func.func @range_mixed_types(%s: tensor<i64>, %l: tensor<i32>, %d: tensor<i64>) {
  // expected-error @+2 {{start, limit and delta must have one element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.range %s, %l, %d : (tensor<i64>, tensor<i32>, tensor<i64>) -> tensor<?xi64>
  return
}

// -----

func.func @pad_mode(%x: tensor<4xf32>, %p: tensor<2xi64>, %v: tensor<f32>) {
  // expected-error @+2 {{unknown pad mode "symmetric"}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.pad %x, %p, %v {mode = "symmetric"} : (tensor<4xf32>, tensor<2xi64>, tensor<f32>) -> tensor<?xf32>
  return
}

// -----

func.func @pad_count(%x: tensor<4x4xf32>, %v: tensor<f32>) {
  %p = tessel.constant dense<[1, 1]> : tensor<2xi64>
  // expected-error @+2 {{pads has 2 entries, expected 2 * rank = 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.pad %x, %p, %v : (tensor<4x4xf32>, tensor<2xi64>, tensor<f32>) -> tensor<?x?xf32>
  return
}

// -----

func.func @pad_negative(%x: tensor<4xf32>, %v: tensor<f32>) {
  %p = tessel.constant dense<[-3, -2]> : tensor<2xi64>
  // expected-error @+2 {{pads make dim 0 negative}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.pad %x, %p, %v : (tensor<4xf32>, tensor<2xi64>, tensor<f32>) -> tensor<?xf32>
  return
}

// -----

func.func @pad_value_element_type(%x: tensor<4xf32>, %p: tensor<2xi64>, %v: tensor<i64>) {
  // expected-error @+2 {{operands have different element types ('f32' vs 'i64')}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.pad %x, %p, %v : (tensor<4xf32>, tensor<2xi64>, tensor<i64>) -> tensor<?xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Matrix products, normalisation, attention
//===----------------------------------------------------------------------===//

func.func @gemm_not_2d(%a: tensor<2x3x4xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{A and B must be 2-D}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.gemm %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<?x5xf32>
  return
}

// -----

func.func @gemm_contraction(%a: tensor<3x4xf32>, %b: tensor<5x6xf32>) {
  // expected-error @+2 {{contraction dims differ (4 vs 5)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.gemm %a, %b : (tensor<3x4xf32>, tensor<5x6xf32>) -> tensor<3x6xf32>
  return
}

// -----

func.func @gemm_c_broadcast(%a: tensor<3x4xf32>, %b: tensor<4x6xf32>, %c: tensor<5xf32>) {
  // expected-error @+2 {{C [5] does not broadcast to [3, 6]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.gemm %a, %b, %c : (tensor<3x4xf32>, tensor<4x6xf32>, tensor<5xf32>) -> tensor<3x6xf32>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<2x3x4xf32>, %b: tensor<5x6xf32>) {
  // expected-error @+2 {{contraction dims differ: [2, 3, 4] x [5, 6]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.matmul %a, %b : (tensor<2x3x4xf32>, tensor<5x6xf32>) -> tensor<2x3x6xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x6xf32>) {
  // expected-error @+2 {{batch dims of [2, 3, 4] and [3, 4, 6] are not broadcastable}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x6xf32>) -> tensor<?x3x6xf32>
  return
}

// -----

func.func @matmul_rank_zero(%a: tensor<f32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{operands must have rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.matmul %a, %b : (tensor<f32>, tensor<4xf32>) -> tensor<f32>
  return
}

// -----

func.func @softmax_axis(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{axis 2 is out of range for rank 2 (expected [-2, 1])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.softmax %a {axis = 2 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @layer_norm_scale(%x: tensor<2x3x4xf32>, %s: tensor<3xf32>) {
  // expected-error @+2 {{scale/bias [3] does not broadcast to the normalized dims [4]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.layer_normalization %x, %s : (tensor<2x3x4xf32>, tensor<3xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

// The scale may not add dims beyond the normalized ones.
func.func @rms_norm_scale_rank(%x: tensor<2x4xf32>, %s: tensor<2x4xf32>) {
  // expected-error @+2 {{scale/bias [2, 4] does not broadcast to the normalized dims [4]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.rms_normalization %x, %s : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @attention_ranks(%q: tensor<1x2x3x4xf32>, %k: tensor<1x3x8xf32>, %v: tensor<1x3x8xf32>) {
  // expected-error @+2 {{q, k and v must all be 3-D or all 4-D, got ranks 4, 3, 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.attention %q, %k, %v : (tensor<1x2x3x4xf32>, tensor<1x3x8xf32>, tensor<1x3x8xf32>) -> tensor<1x2x3x4xf32>
  return
}

// -----

func.func @attention_head_dims(%q: tensor<1x2x3x64xf32>, %k: tensor<1x2x5x32xf32>, %v: tensor<1x2x5x64xf32>) {
  // expected-error @+2 {{q and k head dims differ (64 vs 32)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.attention %q, %k, %v : (tensor<1x2x3x64xf32>, tensor<1x2x5x32xf32>, tensor<1x2x5x64xf32>) -> tensor<1x2x3x64xf32>
  return
}

// -----

func.func @attention_heads_multiple(%q: tensor<1x6x3x8xf32>, %k: tensor<1x4x5x8xf32>, %v: tensor<1x4x5x8xf32>) {
  // expected-error @+2 {{num_heads (6) must be a multiple of num_kv_heads (4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.attention %q, %k, %v : (tensor<1x6x3x8xf32>, tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x6x3x8xf32>
  return
}

// -----

func.func @attention_heads_multiple_3d(%q: tensor<1x3x48xf32>, %k: tensor<1x5x32xf32>, %v: tensor<1x5x32xf32>) {
  // expected-error @+2 {{num_heads (6) must be a multiple of num_kv_heads (4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.attention %q, %k, %v {q_num_heads = 6 : i64, kv_num_heads = 4 : i64} : (tensor<1x3x48xf32>, tensor<1x5x32xf32>, tensor<1x5x32xf32>) -> tensor<1x3x48xf32>
  return
}

// -----

func.func @attention_seq_mismatch(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x6x8xf32>) {
  // expected-error @+2 {{k and v have different sequence lengths (5 vs 6)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.attention %q, %k, %v : (tensor<1x2x3x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x6x8xf32>) -> tensor<1x2x3x8xf32>
  return
}

// -----

func.func @attention_window_below_minus_one(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x5x8xf32>) {
  // expected-error @+2 {{window_left/window_right must be >= -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.attention %q, %k, %v {window_left = -2 : i64} : (tensor<1x2x3x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>) -> tensor<1x2x3x8xf32>
  return
}

// -----

func.func @attention_3d_needs_heads(%q: tensor<1x3x64xf32>, %k: tensor<1x5x64xf32>, %v: tensor<1x5x64xf32>) {
  // expected-error @+2 {{3-D q/k/v need q_num_heads and kv_num_heads}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.attention %q, %k, %v {q_num_heads = 8 : i64} : (tensor<1x3x64xf32>, tensor<1x5x64xf32>, tensor<1x5x64xf32>) -> tensor<1x3x64xf32>
  return
}

// -----

func.func @attention_element_type(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x5x8xf16>, %v: tensor<1x2x5x8xf32>) {
  // expected-error @+2 {{operands have different element types ('f32' vs 'f16')}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.attention %q, %k, %v : (tensor<1x2x3x8xf32>, tensor<1x2x5x8xf16>, tensor<1x2x5x8xf32>) -> tensor<1x2x3x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Boundaries: what must (not) be an error
//===----------------------------------------------------------------------===//

// A bound of unknown size may hold one element: no error.
func.func @clip_dynamic_bound(%x: tensor<4xf32>, %lo: tensor<?xf32>, %hi: tensor<f32>) {
  %0 = tessel.clip %x, %lo, %hi : (tensor<4xf32>, tensor<?xf32>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

// A start of unknown size may hold one element: no error.
func.func @range_dynamic_scalar(%s: tensor<?xi64>, %l: tensor<i64>, %d: tensor<i64>) {
  %0 = tessel.range %s, %l, %d : (tensor<?xi64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return
}

// -----

// Cast to i1 maps every dim to 1, so the target shape is [1]: no error.
func.func @reshape_shape_through_bool_cast(%x: tensor<?x3xf32>, %y: tensor<1xf32>) {
  %s = tessel.shape %x {start = 1 : i64} : (tensor<?x3xf32>) -> tensor<1xi64>
  %b = tessel.cast %s {to = i1} : (tensor<1xi64>) -> tensor<1xi1>
  %c = tessel.cast %b {to = i64} : (tensor<1xi1>) -> tensor<1xi64>
  %0 = tessel.reshape %y, %c : (tensor<1xf32>, tensor<1xi64>) -> tensor<?xf32>
  return
}

// -----

// C broadcasts to (M, N) one way only: [5, 6] does not fit [1, 6].
func.func @gemm_c_unidirectional(%a: tensor<1x4xf32>, %b: tensor<4x6xf32>, %c: tensor<5x6xf32>) {
  // expected-error @+2 {{C [5, 6] does not broadcast to [1, 6]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.gemm %a, %b, %c : (tensor<1x4xf32>, tensor<4x6xf32>, tensor<5x6xf32>) -> tensor<1x6xf32>
  return
}

// -----

// Likewise the scale: [3] does not fit the normalized dims [1].
func.func @layer_norm_scale_unidirectional(%x: tensor<2x1xf32>, %s: tensor<3xf32>) {
  // expected-error @+2 {{scale/bias [3] does not broadcast to the normalized dims [1]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.layer_normalization %x, %s : (tensor<2x1xf32>, tensor<3xf32>) -> tensor<2x1xf32>
  return
}

// -----

// Expand's shape has no -1 (nor any negative dim).
func.func @expand_negative_dim(%x: tensor<1x4xf32>) {
  %s = tessel.constant dense<[-1, 4]> : tensor<2xi64>
  // expected-error @+2 {{cannot expand [1, 4] to [-1, 4]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.expand %x, %s : (tensor<1x4xf32>, tensor<2xi64>) -> tensor<?x4xf32>
  return
}

// -----

func.func @tile_negative_repeats(%x: tensor<3xf32>) {
  %r = tessel.constant dense<[-1]> : tensor<1xi64>
  // expected-error @+2 {{negative}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.tile %x, %r : (tensor<3xf32>, tensor<1xi64>) -> tensor<?xf32>
  return
}

// -----

func.func @kv_attention_mode(%q: tensor<1x2x3x8xf32>, %p: tensor<1xi64>) {
  // expected-error @+2 {{mode must be "prefill" or "decode", got "fast"}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.kv_attention %q, %q, %q, %p {layer = 0 : i64, scale = 1.0 : f32, mode = "fast"} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1xi64>) -> tensor<1x2x3x8xf32>
  return
}

// -----

func.func @kv_attention_batch(%q: tensor<2x2x3x8xf32>, %p: tensor<3xi64>) {
  // expected-error @+2 {{past_lens has 3 entries for a batch of 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.kv_attention %q, %q, %q, %p {layer = 0 : i64, scale = 1.0 : f32} : (tensor<2x2x3x8xf32>, tensor<2x2x3x8xf32>, tensor<2x2x3x8xf32>, tensor<3xi64>) -> tensor<2x2x3x8xf32>
  return
}

// -----

func.func @kv_attention_heads(%q: tensor<1x3x4x8xf32>, %k: tensor<1x2x4x8xf32>, %p: tensor<1xi64>) {
  // expected-error @+2 {{num_heads (3) must be a multiple of num_kv_heads (2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.kv_attention %q, %k, %k, %p {layer = 1 : i64, scale = 1.0 : f32} : (tensor<1x3x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1xi64>) -> tensor<1x3x4x8xf32>
  return
}

// -----

func.func @kv_attention_layer(%q: tensor<1x2x3x8xf32>, %p: tensor<1xi64>) {
  // expected-error @+2 {{layer must be >= 0, got -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessel.kv_attention %q, %q, %q, %p {layer = -1 : i64, scale = 1.0 : f32} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1xi64>) -> tensor<1x2x3x8xf32>
  return
}
