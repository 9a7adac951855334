// RUN: tessel-opt %s -convert-tessel-to-linalg -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @matmul_2d
// CHECK-SAME:    (%[[A:.+]]: tensor<?x32xf32>, %[[B:.+]]: tensor<32x?xf32>)
// CHECK:         %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[INIT:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:         %[[Y:.+]] = linalg.matmul ins(%[[A]], %[[B]] : tensor<?x32xf32>, tensor<32x?xf32>) outs(%[[INIT]] : tensor<?x?xf32>)
// CHECK:         return %[[Y]]
func.func @matmul_2d(%a: tensor<?x32xf32>, %b: tensor<32x?xf32>) -> tensor<?x?xf32> {
  %0 = tessel.matmul %a, %b : (tensor<?x32xf32>, tensor<32x?xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// A 2-D rhs: the lhs' leading dims become rows of one matmul.
// CHECK-LABEL: func.func @matmul_rows
// CHECK-SAME:    (%[[A:.+]]: tensor<?x16x32xf32>, %[[B:.+]]: tensor<32x8xf32>)
// CHECK:         %[[ROWS:.+]] = tensor.collapse_shape %[[A]] {{\[}}[0, 1], [2]] : tensor<?x16x32xf32> into tensor<?x32xf32>
// CHECK:         %[[Y:.+]] = linalg.matmul ins(%[[ROWS]], %[[B]] : tensor<?x32xf32>, tensor<32x8xf32>) outs(%{{.+}} : tensor<?x8xf32>)
// CHECK:         %[[E:.+]] = tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2]] output_shape [%{{.+}}, 16, 8] : tensor<?x8xf32> into tensor<?x16x8xf32>
// CHECK:         return %[[E]]
func.func @matmul_rows(%a: tensor<?x16x32xf32>, %b: tensor<32x8xf32>) -> tensor<?x16x8xf32> {
  %0 = tessel.matmul %a, %b : (tensor<?x16x32xf32>, tensor<32x8xf32>) -> tensor<?x16x8xf32>
  return %0 : tensor<?x16x8xf32>
}

// -----

// Two dynamic row dims: LLVM 19 cannot bufferize an expand_shape splitting
// one dim into two dynamic ones, so the product is reshaped back with
// tensor.reshape.
// CHECK-LABEL: func.func @matmul_dynamic_rows
// CHECK-SAME:    (%[[A:.+]]: tensor<?x?x32xf32>, %[[B:.+]]: tensor<32x8xf32>)
// CHECK-DAG:     %[[D0:.+]] = tensor.dim %[[A]], %c0
// CHECK-DAG:     %[[D1:.+]] = tensor.dim %[[A]], %c1
// CHECK:         %[[ROWS:.+]] = tensor.collapse_shape %[[A]] {{\[}}[0, 1], [2]] : tensor<?x?x32xf32> into tensor<?x32xf32>
// CHECK:         %[[P:.+]] = linalg.matmul ins(%[[ROWS]], %[[B]] : tensor<?x32xf32>, tensor<32x8xf32>)
// CHECK-DAG:     %[[I0:.+]] = arith.index_cast %[[D0]] : index to i64
// CHECK-DAG:     %[[I1:.+]] = arith.index_cast %[[D1]] : index to i64
// CHECK:         %[[SHAPE:.+]] = tensor.from_elements %[[I0]], %[[I1]], %{{.+}} : tensor<3xi64>
// CHECK:         %[[Y:.+]] = tensor.reshape %[[P]](%[[SHAPE]]) : (tensor<?x8xf32>, tensor<3xi64>) -> tensor<?x?x8xf32>
// CHECK-NOT:     tensor.expand_shape
// CHECK:         return %[[Y]]
func.func @matmul_dynamic_rows(%a: tensor<?x?x32xf32>, %b: tensor<32x8xf32>) -> tensor<?x?x8xf32> {
  %0 = tessel.matmul %a, %b : (tensor<?x?x32xf32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  return %0 : tensor<?x?x8xf32>
}

// -----

// Equal batch dims collapse into one batch_matmul; f16 accumulates in f32.
// CHECK-LABEL: func.func @matmul_batch_f16
// CHECK-SAME:    (%[[A:.+]]: tensor<?x4x?x8xf16>, %[[B:.+]]: tensor<?x4x8x?xf16>)
// CHECK-DAG:     %[[A3:.+]] = tensor.collapse_shape %[[A]] {{\[}}[0, 1], [2], [3]] : tensor<?x4x?x8xf16> into tensor<?x?x8xf16>
// CHECK-DAG:     %[[B3:.+]] = tensor.collapse_shape %[[B]] {{\[}}[0, 1], [2], [3]] : tensor<?x4x8x?xf16> into tensor<?x8x?xf16>
// CHECK:         %[[INIT:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x?x?xf32>)
// CHECK:         %[[P:.+]] = linalg.batch_matmul ins(%[[A3]], %[[B3]] : tensor<?x?x8xf16>, tensor<?x8x?xf16>) outs(%[[INIT]] : tensor<?x?x?xf32>)
// CHECK:         %[[E:.+]] = tensor.expand_shape %[[P]] {{\[}}[0, 1], [2], [3]] output_shape [%{{.+}}, 4, %{{.+}}, %{{.+}}] : tensor<?x?x?xf32> into tensor<?x4x?x?xf32>
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[E]] : tensor<?x4x?x?xf32>)
// CHECK:           arith.truncf %{{.+}} : f32 to f16
func.func @matmul_batch_f16(%a: tensor<?x4x?x8xf16>, %b: tensor<?x4x8x?xf16>) -> tensor<?x4x?x?xf16> {
  %0 = tessel.matmul %a, %b : (tensor<?x4x?x8xf16>, tensor<?x4x8x?xf16>) -> tensor<?x4x?x?xf16>
  return %0 : tensor<?x4x?x?xf16>
}

// -----

// Two dynamic batch dims: collapsed for batch_matmul, reshaped back.
// CHECK-LABEL: func.func @matmul_batch_dynamic
// CHECK:         %[[P:.+]] = linalg.batch_matmul ins(%{{.+}}, %{{.+}} : tensor<?x16x32xf32>, tensor<?x32x8xf32>)
// CHECK:         tensor.reshape %[[P]](%{{.+}}) : (tensor<?x16x8xf32>, tensor<4xi64>) -> tensor<?x?x16x8xf32>
func.func @matmul_batch_dynamic(%a: tensor<?x?x16x32xf32>, %b: tensor<?x?x32x8xf32>) -> tensor<?x?x16x8xf32> {
  %0 = tessel.matmul %a, %b : (tensor<?x?x16x32xf32>, tensor<?x?x32x8xf32>) -> tensor<?x?x16x8xf32>
  return %0 : tensor<?x?x16x8xf32>
}

// -----

// Broadcast batch dims are materialised, then one batch_matmul.
// CHECK-DAG:   #[[BCAST_A:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
// CHECK-DAG:   #[[BCAST_B:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
// CHECK-LABEL: func.func @matmul_broadcast
// CHECK-SAME:    (%[[A:.+]]: tensor<?x1x16x32xf32>, %[[B:.+]]: tensor<4x32x?xf32>)
// CHECK:         %[[BA:.+]] = linalg.generic {indexing_maps = [#[[BCAST_A]], #{{.+}}]
// CHECK-SAME:      ins(%[[A]] : tensor<?x1x16x32xf32>) outs(%{{.+}} : tensor<?x4x16x32xf32>)
// CHECK:         %[[BB:.+]] = linalg.generic {indexing_maps = [#[[BCAST_B]], #{{.+}}]
// CHECK-SAME:      ins(%[[B]] : tensor<4x32x?xf32>) outs(%{{.+}} : tensor<?x4x32x?xf32>)
// CHECK-DAG:     %[[A3:.+]] = tensor.collapse_shape %[[BA]]
// CHECK-DAG:     %[[B3:.+]] = tensor.collapse_shape %[[BB]]
// CHECK:         linalg.batch_matmul ins(%[[A3]], %[[B3]] : tensor<?x16x32xf32>, tensor<?x32x?xf32>)
func.func @matmul_broadcast(%a: tensor<?x1x16x32xf32>, %b: tensor<4x32x?xf32>) -> tensor<?x4x16x?xf32> {
  %0 = tessel.matmul %a, %b : (tensor<?x1x16x32xf32>, tensor<4x32x?xf32>) -> tensor<?x4x16x?xf32>
  return %0 : tensor<?x4x16x?xf32>
}

// -----

// A `?` batch dim against a static one may be a broadcast 1: it is read
// through an index select at run time.
// CHECK-LABEL: func.func @matmul_runtime_broadcast
// CHECK:         linalg.generic
// CHECK:           %[[ISONE:.+]] = arith.cmpi eq, %{{.+}}, %c1{{.*}} : index
// CHECK:           %[[I:.+]] = arith.select %[[ISONE]], %c0{{.*}}, %{{.+}} : index
// CHECK:           tensor.extract %{{.+}}[%[[I]],
// CHECK:         linalg.batch_matmul
func.func @matmul_runtime_broadcast(%a: tensor<?x3x4xf32>, %b: tensor<5x4x2xf32>) -> tensor<5x3x2xf32> {
  %0 = tessel.matmul %a, %b : (tensor<?x3x4xf32>, tensor<5x4x2xf32>) -> tensor<5x3x2xf32>
  return %0 : tensor<5x3x2xf32>
}

// -----

// 1-D operands are promoted to matrices and squeezed from the result.
// CHECK-LABEL: func.func @matmul_dot_i32
// CHECK-SAME:    (%[[A:.+]]: tensor<8xi32>, %[[B:.+]]: tensor<8xi32>) -> tensor<i32>
// CHECK-DAG:     %[[A2:.+]] = tensor.expand_shape %[[A]] {{\[}}[0, 1]] output_shape [1, 8] : tensor<8xi32> into tensor<1x8xi32>
// CHECK-DAG:     %[[B2:.+]] = tensor.expand_shape %[[B]] {{\[}}[0, 1]] output_shape [8, 1] : tensor<8xi32> into tensor<8x1xi32>
// CHECK:         %[[P:.+]] = linalg.matmul ins(%[[A2]], %[[B2]] : tensor<1x8xi32>, tensor<8x1xi32>) outs(%{{.+}} : tensor<1x1xi32>)
// CHECK:         %[[Y:.+]] = tensor.collapse_shape %[[P]] [] : tensor<1x1xi32> into tensor<i32>
// CHECK:         return %[[Y]]
func.func @matmul_dot_i32(%a: tensor<8xi32>, %b: tensor<8xi32>) -> tensor<i32> {
  %0 = tessel.matmul %a, %b : (tensor<8xi32>, tensor<8xi32>) -> tensor<i32>
  return %0 : tensor<i32>
}

// -----

// CHECK-LABEL: func.func @matmul_matvec
// CHECK:         tensor.expand_shape %{{.+}} {{\[}}[0, 1]] output_shape [32, 1] : tensor<32xf32> into tensor<32x1xf32>
// CHECK:         linalg.matmul
// CHECK:         tensor.expand_shape %{{.+}} : tensor<?x1xf32> into tensor<?x16x1xf32>
// CHECK:         tensor.collapse_shape %{{.+}} {{\[}}[0], [1, 2]] : tensor<?x16x1xf32> into tensor<?x16xf32>
func.func @matmul_matvec(%a: tensor<?x16x32xf32>, %b: tensor<32xf32>) -> tensor<?x16xf32> {
  %0 = tessel.matmul %a, %b : (tensor<?x16x32xf32>, tensor<32xf32>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

// Gemm: transB picks matmul_transpose_b; alpha/beta and the broadcast C are
// an element-wise epilogue.
// CHECK-DAG:   #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @gemm_trans_b
// CHECK-SAME:    (%[[A:.+]]: tensor<?x8xf32>, %[[B:.+]]: tensor<16x8xf32>, %[[C:.+]]: tensor<16xf32>)
// CHECK:         %[[P:.+]] = linalg.matmul_transpose_b ins(%[[A]], %[[B]] : tensor<?x8xf32>, tensor<16x8xf32>)
// CHECK:         linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]]
// CHECK-SAME:      ins(%[[P]], %[[C]] : tensor<?x16xf32>, tensor<16xf32>)
// CHECK:           %[[ALPHA:.+]] = arith.constant 5.000000e-01 : f32
// CHECK:           %[[X:.+]] = arith.mulf %{{.+}}, %[[ALPHA]]
// CHECK:           %[[BETA:.+]] = arith.constant 2.000000e+00 : f32
// CHECK:           %[[Z:.+]] = arith.mulf %{{.+}}, %[[BETA]]
// CHECK:           arith.addf %[[X]], %[[Z]]
func.func @gemm_trans_b(%a: tensor<?x8xf32>, %b: tensor<16x8xf32>, %c: tensor<16xf32>) -> tensor<?x16xf32> {
  %0 = tessel.gemm %a, %b, %c {alpha = 0.5 : f32, beta = 2.0 : f32, transB = 1 : i64} : (tensor<?x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

// transA alone is matmul_transpose_a; without C and alpha = 1 the product
// is the result (narrowed from the f32 accumulator).
// CHECK-LABEL: func.func @gemm_trans_a_f16
// CHECK:         %[[P:.+]] = linalg.matmul_transpose_a ins(%{{.+}}, %{{.+}} : tensor<8x?xf16>, tensor<8x16xf16>) outs(%{{.+}} : tensor<?x16xf32>)
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[P]] : tensor<?x16xf32>)
// CHECK:           arith.truncf
func.func @gemm_trans_a_f16(%a: tensor<8x?xf16>, %b: tensor<8x16xf16>) -> tensor<?x16xf16> {
  %0 = tessel.gemm %a, %b {transA = 1 : i64} : (tensor<8x?xf16>, tensor<8x16xf16>) -> tensor<?x16xf16>
  return %0 : tensor<?x16xf16>
}

// -----

// Both transposed: A is transposed first.
// CHECK-LABEL: func.func @gemm_trans_ab
// CHECK-SAME:    (%[[A:.+]]: tensor<8x?xf32>, %[[B:.+]]: tensor<16x8xf32>)
// CHECK:         %[[AT:.+]] = linalg.transpose ins(%[[A]] : tensor<8x?xf32>) outs(%{{.+}} : tensor<?x8xf32>) permutation = [1, 0]
// CHECK:         %[[P:.+]] = linalg.matmul_transpose_b ins(%[[AT]], %[[B]] : tensor<?x8xf32>, tensor<16x8xf32>)
// CHECK:         return %[[P]]
func.func @gemm_trans_ab(%a: tensor<8x?xf32>, %b: tensor<16x8xf32>) -> tensor<?x16xf32> {
  %0 = tessel.gemm %a, %b {transA = 1 : i64, transB = 1 : i64} : (tensor<8x?xf32>, tensor<16x8xf32>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

// A C whose `?` dims may broadcast is resolved at run time.
// CHECK-LABEL: func.func @gemm_dynamic_c
// CHECK:         linalg.matmul
// CHECK:         scf.if
// CHECK:           linalg.generic
// CHECK:         } else {
// CHECK:           tensor.extract
func.func @gemm_dynamic_c(%a: tensor<?x8xf32>, %b: tensor<8x16xf32>, %c: tensor<?x?xf32>) -> tensor<?x16xf32> {
  %0 = tessel.gemm %a, %b, %c : (tensor<?x8xf32>, tensor<8x16xf32>, tensor<?x?xf32>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

// CHECK-LABEL: func.func @gemm_int
// CHECK:         linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<?x8xi32>, tensor<8x16xi32>) outs(%{{.+}} : tensor<?x16xi32>)
// CHECK:         linalg.generic
// CHECK:           arith.muli
// CHECK:           arith.addi
func.func @gemm_int(%a: tensor<?x8xi32>, %b: tensor<8x16xi32>, %c: tensor<16xi32>) -> tensor<?x16xi32> {
  %0 = tessel.gemm %a, %b, %c {alpha = 2.0 : f32} : (tensor<?x8xi32>, tensor<8x16xi32>, tensor<16xi32>) -> tensor<?x16xi32>
  return %0 : tensor<?x16xi32>
}

// -----

func.func @matmul_bool(%a: tensor<4x8xi1>, %b: tensor<8x2xi1>) -> tensor<4x2xi1> {
  // expected-error @+1 {{failed to legalize operation 'tessel.matmul'}}
  %0 = tessel.matmul %a, %b : (tensor<4x8xi1>, tensor<8x2xi1>) -> tensor<4x2xi1>
  return %0 : tensor<4x2xi1>
}

// -----

// An integer gemm cannot scale by a fraction.
func.func @gemm_int_fractional_alpha(%a: tensor<4x8xi32>, %b: tensor<8x2xi32>) -> tensor<4x2xi32> {
  // expected-error @+1 {{failed to legalize operation 'tessel.gemm'}}
  %0 = tessel.gemm %a, %b {alpha = 0.5 : f32} : (tensor<4x8xi32>, tensor<8x2xi32>) -> tensor<4x2xi32>
  return %0 : tensor<4x2xi32>
}

// -----

func.func @matmul_unranked(%a: tensor<*xf32>, %b: tensor<8x2xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{failed to legalize operation 'tessel.matmul'}}
  %0 = tessel.matmul %a, %b : (tensor<*xf32>, tensor<8x2xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
