// RUN: tessel-opt %s -tessel-linalg-to-blas -split-input-file | FileCheck %s

// A row-major f32 matmul on buffers calls cblas_sgemm (row major, no
// transposes, alpha = beta = 1), guarded against empty problems.
// CHECK-LABEL: func.func @matmul
// CHECK-NOT:     linalg.matmul
// CHECK:         scf.if
// CHECK:           func.call @cblas_sgemm(%c101_i32, %c111_i32, %c111_i32,
// CHECK:       func.func private @cblas_sgemm(i32, i32, i32, i32, i32, i32, f32, !llvm.ptr, i32, !llvm.ptr, i32, f32, !llvm.ptr, i32)
func.func @matmul(%a: memref<?x64xf32>, %b: memref<64x32xf32>, %c: memref<?x32xf32>) {
  linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x32xf32>) outs(%c : memref<?x32xf32>)
  return
}

// -----

// Batched: one call per batch entry.
// CHECK-LABEL: func.func @batch
// CHECK:         scf.for
// CHECK:           func.call @cblas_sgemm
func.func @batch(%a: memref<?x8x16xf32>, %b: memref<?x16x8xf32>, %c: memref<?x8x8xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<?x8x16xf32>, memref<?x16x8xf32>) outs(%c : memref<?x8x8xf32>)
  return
}

// -----

// transpose_b: B is read transposed (CblasTrans = 112).
// CHECK-LABEL: func.func @transpose_b
// CHECK:         func.call @cblas_sgemm(%c101_i32, %c111_i32, %c112_i32,
func.func @transpose_b(%a: memref<4x16xf32>, %b: memref<8x16xf32>, %c: memref<4x8xf32>) {
  linalg.matmul_transpose_b ins(%a, %b : memref<4x16xf32>, memref<8x16xf32>) outs(%c : memref<4x8xf32>)
  return
}

// -----

// Integer products and tensors keep their loops.
// CHECK-LABEL: func.func @not_f32
// CHECK:         linalg.matmul
// CHECK-NOT:     cblas_sgemm
func.func @not_f32(%a: memref<4x4xi32>, %b: memref<4x4xi32>, %c: memref<4x4xi32>) {
  linalg.matmul ins(%a, %b : memref<4x4xi32>, memref<4x4xi32>) outs(%c : memref<4x4xi32>)
  return
}

// -----

// Neither dim of A is contiguous: BLAS cannot read it.
// CHECK-LABEL: func.func @strided
// CHECK:         linalg.matmul
// CHECK-NOT:     cblas_sgemm
func.func @strided(%a: memref<4x4xf32, strided<[8, 2]>>, %b: memref<4x4xf32>, %c: memref<4x4xf32>) {
  linalg.matmul ins(%a, %b : memref<4x4xf32, strided<[8, 2]>>, memref<4x4xf32>) outs(%c : memref<4x4xf32>)
  return
}
