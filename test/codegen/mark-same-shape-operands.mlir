// RUN: tessel-opt %s -split-input-file -tessel-mark-same-shape-operands | FileCheck %s
// RUN: tessel-opt %s -split-input-file -tessel-mark-same-shape-operands -convert-tessel-to-linalg | FileCheck %s --check-prefix=LINALG
//
// Operands proven to have the result's dynamic shape (here: inputs whose
// dims share an ONNX dim_param) are marked, and the element-wise lowering
// then reads them without a run-time broadcast check (no scf.if, one
// linalg.generic per op, which element-wise fusion can merge).

// CHECK-LABEL: func.func @same_rows
// CHECK:         tessel.mul %{{.+}}, %{{.+}} {tessel.same_shape_operands = array<i64: 0, 1>}
// CHECK:         tessel.add %{{.+}}, %{{.+}} {tessel.same_shape_operands = array<i64: 0, 1>}
// LINALG-LABEL: func.func @same_rows
// LINALG-NOT:    scf.if
// LINALG-COUNT-2: linalg.generic
// LINALG-NOT:    scf.if
// LINALG:        return
func.func @same_rows(%x: tensor<?x8xf32>, %y: tensor<?x8xf32>) -> tensor<?x8xf32>
    attributes {tessel.dim_params = [["rows", ""], ["rows", ""]]} {
  %0 = tessel.mul %x, %y : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  %1 = tessel.add %0, %x : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %1 : tensor<?x8xf32>
}

// -----

// Different dim_params: either may be a broadcast 1, so nothing is marked
// and the lowering keeps its run-time check.
// CHECK-LABEL: func.func @different_rows
// CHECK-NOT:     tessel.same_shape_operands
// LINALG-LABEL: func.func @different_rows
// LINALG:        scf.if
func.func @different_rows(%x: tensor<?x8xf32>, %y: tensor<?x8xf32>) -> tensor<?x8xf32>
    attributes {tessel.dim_params = [["a", ""], ["b", ""]]} {
  %0 = tessel.mul %x, %y : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}
