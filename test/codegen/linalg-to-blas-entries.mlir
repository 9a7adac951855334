// RUN: tessel-opt %s -tessel-linalg-to-blas | FileCheck %s
//
// Several entry points (@main, @prefill, @decode of a --kv-cache model) share
// one declaration. The pass runs on the module: a per-function pass that
// declared it raced with itself when the functions ran in parallel ("redefinition
// of symbol named 'cblas_sgemm'", seen intermittently on tesselc --kv-cache).
// CHECK:       func.func private @cblas_sgemm
// CHECK-NEXT:  func.func @first(
// CHECK:         call @cblas_sgemm
// CHECK:       func.func @second(
// CHECK:         call @cblas_sgemm
// CHECK-NOT:   func.func private @cblas_sgemm
func.func @first(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}
func.func @second(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}
