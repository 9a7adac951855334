// RUN: tessel-opt %s -tessel-linalg-to-blas="gemm=tessel_cuda_sgemm mixed-gemm=tessel_cuda_gemm_mixed" -split-input-file | FileCheck %s
// RUN: tessel-opt %s -tessel-linalg-to-blas -split-input-file | FileCheck %s --check-prefix=NOMIXED
//
// With mixed-gemm, products of f16 or bf16 operands into an f32 result
// (what --precision makes of matrix products) call the mixed function:
// CBLAS's arguments plus the operand type (0 f16, 1 bf16); pointers step by
// the operands' own element size (from the views' offsets). Without it they keep the loop lowering.

// CHECK-LABEL: func.func @f16
// CHECK-DAG:     %[[F16:.+]] = arith.constant 0 : i32
// CHECK:         %[[A:.+]] = llvm.getelementptr %{{.+}}[%{{.+}}] : (!llvm.ptr, i64) -> !llvm.ptr, f16
// CHECK:         %[[B:.+]] = llvm.getelementptr %{{.+}}[%{{.+}}] : (!llvm.ptr, i64) -> !llvm.ptr, f16
// CHECK:         %[[C:.+]] = llvm.getelementptr %{{.+}}[%{{.+}}] : (!llvm.ptr, i64) -> !llvm.ptr, f32
// CHECK:         scf.if
// CHECK:           func.call @tessel_cuda_gemm_mixed(%c101_i32, %c111_i32, %c111_i32, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[A]], %{{.+}}, %[[B]], %{{.+}}, %{{.+}}, %[[C]], %{{.+}}, %[[F16]])
// CHECK:       func.func private @tessel_cuda_gemm_mixed(i32, i32, i32, i32, i32, i32, f32, !llvm.ptr, i32, !llvm.ptr, i32, f32, !llvm.ptr, i32, i32)
// NOMIXED-LABEL: func.func @f16
// NOMIXED:         linalg.matmul
// NOMIXED-NOT:     call
func.func @f16(%a: memref<?x64xf16, strided<[64, 1], offset: ?>>, %b: memref<64x32xf16, strided<[32, 1], offset: ?>>, %c: memref<?x32xf32, strided<[32, 1], offset: ?>>) {
  linalg.matmul ins(%a, %b : memref<?x64xf16, strided<[64, 1], offset: ?>>, memref<64x32xf16, strided<[32, 1], offset: ?>>) outs(%c : memref<?x32xf32, strided<[32, 1], offset: ?>>)
  return
}

// -----

// bf16, batched and transposed: type 1, one call per batch entry; the f32
// product in the same module still calls the f32 function.
// CHECK-LABEL: func.func @bf16_batch
// CHECK-DAG:     %[[BF16:.+]] = arith.constant 1 : i32
// CHECK:         scf.for
// CHECK:           func.call @tessel_cuda_gemm_mixed(%c101_i32, %c111_i32, %c112_i32, {{.+}}, %[[BF16]])
// CHECK:         func.call @tessel_cuda_sgemm(
// NOMIXED-LABEL: func.func @bf16_batch
// NOMIXED:         linalg.batch_matmul_transpose_b
// NOMIXED:         func.call @cblas_sgemm(
func.func @bf16_batch(%a: memref<?x8x16xbf16>, %b: memref<?x8x16xbf16>, %c: memref<?x8x8xf32>, %x: memref<4x4xf32>, %y: memref<4x4xf32>) {
  linalg.batch_matmul_transpose_b ins(%a, %b : memref<?x8x16xbf16>, memref<?x8x16xbf16>) outs(%c : memref<?x8x8xf32>)
  linalg.matmul ins(%x, %x : memref<4x4xf32>, memref<4x4xf32>) outs(%y : memref<4x4xf32>)
  return
}

// -----

// Narrow results, mixed operand types and f64 keep the loops.
// CHECK-LABEL: func.func @others
// CHECK-COUNT-3: linalg.matmul
// CHECK-NOT:     call
func.func @others(%h: memref<4x4xf16>, %hb: memref<4x4xbf16>, %d: memref<4x4xf64>, %f: memref<4x4xf32>) {
  linalg.matmul ins(%h, %h : memref<4x4xf16>, memref<4x4xf16>) outs(%h : memref<4x4xf16>)
  linalg.matmul ins(%h, %hb : memref<4x4xf16>, memref<4x4xbf16>) outs(%f : memref<4x4xf32>)
  linalg.matmul ins(%d, %d : memref<4x4xf64>, memref<4x4xf64>) outs(%d : memref<4x4xf64>)
  return
}
