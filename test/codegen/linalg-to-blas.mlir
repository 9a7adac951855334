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
// CHECK-NOT:     call @cblas_sgemm
func.func @strided(%a: memref<4x4xf32, strided<[8, 2]>>, %b: memref<4x4xf32>, %c: memref<4x4xf32>) {
  linalg.matmul ins(%a, %b : memref<4x4xf32, strided<[8, 2]>>, memref<4x4xf32>) outs(%c : memref<4x4xf32>)
  return
}

// -----

// A result buffer that was only zeroed is not read: beta = 0 and the zero
// fill goes.
// CHECK-LABEL: func.func @zero_filled
// CHECK-DAG:     %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT:     linalg.fill
// CHECK:         func.call @cblas_sgemm(%c101_i32, %c111_i32, %c111_i32, %{{.+}}, %{{.+}}, %{{.+}}, %[[ONE]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[ZERO]],
func.func @zero_filled(%a: memref<?x64xf32>, %b: memref<64x32xf32>, %c: memref<?x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<?x32xf32>)
  linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x32xf32>) outs(%c : memref<?x32xf32>)
  return
}

// -----

// Bufferization's copies of one zero-filled init into two results: both
// products have beta = 0, and the copies, the fill and its buffer go.
// CHECK-LABEL: func.func @zero_copies
// CHECK-NOT:     linalg.fill
// CHECK-NOT:     linalg.copy
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:         memref.alloc() : memref<8x32xf32>
// CHECK:         func.call @cblas_sgemm({{.*}}, %[[ZERO]], %{{.+}}, %c32_i32)
// CHECK:         memref.alloc() : memref<8x32xf32>
// CHECK:         func.call @cblas_sgemm({{.*}}, %[[ZERO]], %{{.+}}, %c32_i32)
// CHECK-NOT:     memref.alloc
func.func @zero_copies(%a: memref<8x64xf32>, %b: memref<64x32xf32>, %d: memref<64x32xf32>) -> (memref<8x32xf32>, memref<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %init = memref.alloc() : memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%init : memref<8x32xf32>)
  %c1 = memref.alloc() : memref<8x32xf32>
  linalg.copy ins(%init : memref<8x32xf32>) outs(%c1 : memref<8x32xf32>)
  linalg.matmul ins(%a, %b : memref<8x64xf32>, memref<64x32xf32>) outs(%c1 : memref<8x32xf32>)
  %c2 = memref.alloc() : memref<8x32xf32>
  linalg.copy ins(%init : memref<8x32xf32>) outs(%c2 : memref<8x32xf32>)
  linalg.matmul ins(%a, %d : memref<8x64xf32>, memref<64x32xf32>) outs(%c2 : memref<8x32xf32>)
  memref.dealloc %init : memref<8x32xf32>
  return %c1, %c2 : memref<8x32xf32>, memref<8x32xf32>
}

// -----

// A fill with another value, or a read of the result between the zero fill
// and the product, keeps beta = 1 (C += A x B) and the fill.
// CHECK-LABEL: func.func @accumulates
// CHECK-DAG:     %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK:         linalg.fill
// CHECK:         func.call @cblas_sgemm({{.*}}, %[[ONE]], %{{.+}}, %{{.+}})
// CHECK:         linalg.fill
// CHECK:         memref.load
// CHECK:         func.call @cblas_sgemm({{.*}}, %[[ONE]], %{{.+}}, %{{.+}})
func.func @accumulates(%a: memref<8x64xf32>, %b: memref<64x32xf32>, %c: memref<8x32xf32>, %e: memref<8x32xf32>) -> f32 {
  %half = arith.constant 0.5 : f32
  %zero = arith.constant 0.0 : f32
  %i = arith.constant 0 : index
  linalg.fill ins(%half : f32) outs(%c : memref<8x32xf32>)
  linalg.matmul ins(%a, %b : memref<8x64xf32>, memref<64x32xf32>) outs(%c : memref<8x32xf32>)
  linalg.fill ins(%zero : f32) outs(%e : memref<8x32xf32>)
  %x = memref.load %e[%i, %i] : memref<8x32xf32>
  linalg.matmul ins(%a, %b : memref<8x64xf32>, memref<64x32xf32>) outs(%e : memref<8x32xf32>)
  return %x : f32
}
