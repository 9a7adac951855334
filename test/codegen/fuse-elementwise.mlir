// RUN: tessel-opt %s -tessel-fuse-elementwise -split-input-file | FileCheck %s
//
// Element-wise chains fuse; reshapes never fold into named linalg ops
// (upstream's -linalg-fuse-elementwise-ops turns the batch_matmul below into
// a linalg.generic, which then misses the BLAS lowering).

#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @chain
// CHECK:         linalg.generic
// CHECK:           arith.addf
// CHECK-NEXT:      arith.mulf
// CHECK-NOT:     linalg.generic
func.func @chain(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%0 : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.mulf %x, %x : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @bmm_keeps_reshape
// CHECK:         tensor.collapse_shape
// CHECK:         tensor.collapse_shape
// CHECK:         linalg.fill
// CHECK-NEXT:    linalg.batch_matmul
// CHECK-NEXT:    tensor.expand_shape
// CHECK-NOT:     linalg.generic
func.func @bmm_keeps_reshape(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x8x16xf32>) -> tensor<2x4x16x16xf32> {
  %qc = tensor.collapse_shape %q [[0, 1], [2], [3]] : tensor<2x4x16x8xf32> into tensor<8x16x8xf32>
  %kc = tensor.collapse_shape %k [[0, 1], [2], [3]] : tensor<2x4x8x16xf32> into tensor<8x8x16xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %s = linalg.batch_matmul ins(%qc, %kc : tensor<8x16x8xf32>, tensor<8x8x16xf32>) outs(%f : tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %r = tensor.expand_shape %s [[0, 1], [2], [3]] output_shape [2, 4, 16, 16] : tensor<8x16x16xf32> into tensor<2x4x16x16xf32>
  return %r : tensor<2x4x16x16xf32>
}

// -----

// A cheap one-input producer (a norm's bf16 -> f32 copy of x) with two
// users is recomputed in both: the sum-of-squares reduction and the
// normalisation read x itself, and the f32 copy is gone.
#rows = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#bcast = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @cheap_producer_two_users
// CHECK-SAME:    (%[[X:.+]]: tensor<4x64xbf16>
// CHECK:         %[[XR:.+]] = tensor.expand_shape %[[X]]
// CHECK:         %[[SUM:.+]] = linalg.generic {{.*}}"reduction"]} ins(%[[XR]] : tensor<4x1x64xbf16>)
// CHECK:           arith.extf
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         linalg.generic {{.*}} ins(%[[X]], %[[SUM]] : tensor<4x64xbf16>, tensor<4x1xf32>)
// CHECK:           arith.extf
// CHECK:           arith.mulf
// CHECK-NOT:     linalg.generic
func.func @cheap_producer_two_users(%x: tensor<4x64xbf16>, %zero: tensor<4xf32>) -> tensor<4x64xf32> {
  %e = tensor.empty() : tensor<4x64xf32>
  %wide = linalg.generic {indexing_maps = [#rows, #rows], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x64xbf16>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%in: bf16, %o: f32):
    %w = arith.extf %in : bf16 to f32
    linalg.yield %w : f32
  } -> tensor<4x64xf32>
  %sum = linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]} ins(%wide : tensor<4x64xf32>) outs(%zero : tensor<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %sum2 = tensor.expand_shape %sum [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %out = linalg.generic {indexing_maps = [#rows, #bcast, #rows], iterator_types = ["parallel", "parallel"]} ins(%wide, %sum2 : tensor<4x64xf32>, tensor<4x1xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %m = arith.mulf %in, %s : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  return %out : tensor<4x64xf32>
}

// -----

// A producer with two inputs (a residual add) read by two users stays one
// loop nest: recomputing it would read both inputs twice.
#rows = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @two_input_producer_stays
// CHECK-COUNT-3: linalg.generic
func.func @two_input_producer_stays(%a: tensor<4x64xf32>, %b: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %e = tensor.empty() : tensor<4x64xf32>
  %h = linalg.generic {indexing_maps = [#rows, #rows, #rows], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  %0 = linalg.generic {indexing_maps = [#rows, #rows], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.mulf %x, %x : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  %1 = linalg.generic {indexing_maps = [#rows, #rows], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%x: f32, %o: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  } -> tensor<4x64xf32>
  return %0, %1 : tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

// A transpose fuses like an element-wise op: a projection's f32 -> bf16
// conversion and the head transpose after it become one loop nest that
// writes the transposed bf16 tensor.
// CHECK-LABEL: func.func @convert_then_transpose
// CHECK:         linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<2x3x4x16xf32>) outs(%{{.+}} : tensor<2x4x3x16xbf16>)
// CHECK:           arith.truncf
// CHECK-NOT:     linalg.transpose
// CHECK-NOT:     linalg.generic
func.func @convert_then_transpose(%x: tensor<2x3x4x16xf32>) -> tensor<2x4x3x16xbf16> {
  %e = tensor.empty() : tensor<2x3x4x16xbf16>
  %b = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x4x16xf32>) outs(%e : tensor<2x3x4x16xbf16>) {
  ^bb0(%in: f32, %o: bf16):
    %t = arith.truncf %in : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<2x3x4x16xbf16>
  %e2 = tensor.empty() : tensor<2x4x3x16xbf16>
  %y = linalg.transpose ins(%b : tensor<2x3x4x16xbf16>) outs(%e2 : tensor<2x4x3x16xbf16>) permutation = [0, 2, 1, 3]
  return %y : tensor<2x4x3x16xbf16>
}
