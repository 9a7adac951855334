// RUN: tessel-opt %s -tessel-tile-gpu-loops=threads=64 -cse -split-input-file | FileCheck %s
// RUN: not tessel-opt %s -tessel-tile-gpu-loops=threads=0 -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: tessel-tile-gpu-loops: threads must be >= 1

// A static 8x16 nest with 64 threads: the dims are reversed (the inner,
// contiguous one becomes x), 16 threads along it, 4 along the outer one; the
// tiles divide the bounds, so no guard.
// CHECK-LABEL: func.func @static_2d
// CHECK-DAG:     %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG:     %[[C16:.+]] = arith.constant 16 : index
// CHECK-DAG:     %[[C4:.+]] = arith.constant 4 : index
// CHECK:         %[[T0:.+]] = arith.muli %{{.+}}, %[[C16]] : index
// CHECK-NEXT:    %[[T1:.+]] = arith.muli %{{.+}}, %[[C4]] : index
// CHECK-NEXT:    scf.parallel (%[[J:.+]], %[[I:.+]]) = ({{.+}}) to (%[[C16]], %[[C8]]) step (%[[T0]], %[[T1]])
// CHECK-NEXT:      scf.parallel (%[[JJ:.+]], %[[II:.+]]) = ({{.+}}) to (%[[T0]], %[[T1]])
// CHECK-NEXT:        %[[COL:.+]] = arith.addi %[[JJ]], %[[J]] : index
// CHECK-NEXT:        %[[ROW:.+]] = arith.addi %[[II]], %[[I]] : index
// CHECK-NEXT:        memref.load %{{.+}}[%[[ROW]], %[[COL]]]
func.func @static_2d(%a: memref<8x16xf32>, %b: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c16) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<8x16xf32>
    memref.store %x, %b[%i, %j] : memref<8x16xf32>
    scf.reduce
  }
  return
}

// -----

// A dynamic bound: tiles of 64 behind a guard.
// CHECK-LABEL: func.func @dynamic_1d
// CHECK-SAME:    %[[N:[^:]+]]: index
// CHECK:         scf.parallel ({{.+}}) = ({{.+}}) to (%[[N]]) step (%[[T:.+]])
// CHECK-NEXT:      scf.parallel ({{.+}}) = ({{.+}}) to (%[[T]])
// CHECK:           %[[IN:.+]] = arith.cmpi ult, %{{.+}}, %[[N]] : index
// CHECK:           scf.if
// CHECK-NEXT:        memref.store
func.func @dynamic_1d(%a: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %f, %a[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// One iteration: nothing to tile.
// CHECK-LABEL: func.func @single_iteration
// CHECK:         scf.parallel
// CHECK-NOT:     scf.parallel
// CHECK:         return
func.func @single_iteration(%a: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %f, %a[%i] : memref<1xf32>
    scf.reduce
  }
  return
}
