// RUN: tessel-opt %s -convert-tessel-to-linalg -split-input-file -verify-diagnostics | FileCheck %s

// Static dims are constants, dynamic ones tensor.dim.
// CHECK-LABEL: func.func @shape
// CHECK-SAME:    (%[[A:.+]]: tensor<?x3x?x5xf32>)
// CHECK-DAG:     %[[C3:.+]] = arith.constant 3 : i64
// CHECK-DAG:     %[[D2:.+]] = tensor.dim %[[A]], %{{.+}} : tensor<?x3x?x5xf32>
// CHECK:         %[[D2I:.+]] = arith.index_cast %[[D2]] : index to i64
// CHECK:         %[[S:.+]] = tensor.from_elements %[[C3]], %[[D2I]] : tensor<2xi64>
// CHECK:         return %[[S]]
func.func @shape(%a: tensor<?x3x?x5xf32>) -> tensor<2xi64> {
  %0 = tessel.shape %a {start = 1 : i64, end = -1 : i64} : (tensor<?x3x?x5xf32>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// CHECK-LABEL: func.func @size
// CHECK:         %[[D0:.+]] = tensor.dim
// CHECK:         %[[N:.+]] = arith.muli %[[D0]], %{{.+}} : index
// CHECK:         %[[NI:.+]] = arith.index_cast %[[N]] : index to i64
// CHECK:         tensor.from_elements %[[NI]] : tensor<i64>
func.func @size(%a: tensor<?x3xf32>) -> tensor<i64> {
  %0 = tessel.size %a : (tensor<?x3xf32>) -> tensor<i64>
  return %0 : tensor<i64>
}

// -----

// A run-time shape: 0 copies the input dim, -1 divides the element count.
// CHECK-LABEL: func.func @reshape_runtime
// CHECK-SAME:    (%[[X:.+]]: tensor<?x4xf32>, %[[S:.+]]: tensor<3xi64>)
// CHECK:         %[[S0:.+]] = tensor.extract %[[S]][%{{.+}}] : tensor<3xi64>
// CHECK:         %[[S0I:.+]] = arith.index_cast %[[S0]] : i64 to index
// CHECK-DAG:     %[[IS0:.+]] = arith.cmpi eq, %[[S0I]], %{{.+}} : index
// CHECK-DAG:     %[[X0:.+]] = tensor.dim %[[X]]
// CHECK:         arith.select %[[IS0]], %[[X0]], %[[S0I]] : index
// CHECK:         arith.divsi
// CHECK:         %[[SHAPE:.+]] = tensor.from_elements %{{.+}}, %{{.+}}, %{{.+}} : tensor<3xindex>
// CHECK:         %[[R:.+]] = tensor.reshape %[[X]](%[[SHAPE]]) : (tensor<?x4xf32>, tensor<3xindex>) -> tensor<?x?x?xf32>
// CHECK:         return %[[R]]
func.func @reshape_runtime(%x: tensor<?x4xf32>, %s: tensor<3xi64>) -> tensor<?x?x?xf32> {
  %0 = tessel.reshape %x, %s : (tensor<?x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %0 : tensor<?x?x?xf32>
}

// -----

// Dims copied by 0 pair up with the input's: an expand_shape.
// CHECK-LABEL: func.func @reshape_split_heads
// CHECK-SAME:    (%[[X:.+]]: tensor<?x?x768xf32>)
// CHECK-DAG:     %[[B:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x768xf32>
// CHECK-DAG:     %[[T:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x768xf32>
// CHECK:         %[[E:.+]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3]] output_shape [%[[B]], %[[T]], 12, 64] : tensor<?x?x768xf32> into tensor<?x?x12x64xf32>
// CHECK:         return %[[E]]
func.func @reshape_split_heads(%x: tensor<?x?x768xf32>) -> tensor<?x?x12x64xf32> {
  %s = tessel.constant dense<[0, 0, 12, 64]> : tensor<4xi64>
  %0 = tessel.reshape %x, %s : (tensor<?x?x768xf32>, tensor<4xi64>) -> tensor<?x?x12x64xf32>
  return %0 : tensor<?x?x12x64xf32>
}

// -----

// The only dynamic dim on each side: the element count proves them equal.
// CHECK-LABEL: func.func @reshape_merge_heads
// CHECK-NOT:     tensor.reshape
// CHECK:         %[[C:.+]] = tensor.collapse_shape %{{.+}} {{\[}}[0], [1, 2]] : tensor<?x12x64xf32> into tensor<?x768xf32>
// CHECK:         return %[[C]]
func.func @reshape_merge_heads(%x: tensor<?x12x64xf32>) -> tensor<?x768xf32> {
  %s = tessel.constant dense<[-1, 768]> : tensor<2xi64>
  %0 = tessel.reshape %x, %s : (tensor<?x12x64xf32>, tensor<2xi64>) -> tensor<?x768xf32>
  return %0 : tensor<?x768xf32>
}

// -----

// No grouping of dims: through a 1-D tensor.
// CHECK-LABEL: func.func @reshape_regroup
// CHECK:         %[[F:.+]] = tensor.collapse_shape %{{.+}} {{\[}}[0, 1, 2]] : tensor<2x3x4xf32> into tensor<24xf32>
// CHECK:         %[[E:.+]] = tensor.expand_shape %[[F]] {{\[}}[0, 1]] output_shape [4, 6] : tensor<24xf32> into tensor<4x6xf32>
// CHECK:         return %[[E]]
func.func @reshape_regroup(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %s = tessel.constant dense<[4, 6]> : tensor<2xi64>
  %0 = tessel.reshape %x, %s : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_to_scalar
// CHECK:         %[[ONES:.+]] = tensor.cast %{{.+}} : tensor<?x1xf32> to tensor<1x1xf32>
// CHECK:         tensor.collapse_shape %[[ONES]] [] : tensor<1x1xf32> into tensor<f32>
func.func @reshape_to_scalar(%x: tensor<?x1xf32>) -> tensor<f32> {
  %s = tessel.constant dense<> : tensor<0xi64>
  %0 = tessel.reshape %x, %s : (tensor<?x1xf32>, tensor<0xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @flatten
// CHECK:         tensor.collapse_shape %{{.+}} {{\[}}[0, 1], [2]] : tensor<2x3x?xf32> into tensor<6x?xf32>
func.func @flatten(%a: tensor<2x3x?xf32>) -> tensor<6x?xf32> {
  %0 = tessel.flatten %a {axis = 2 : i64} : (tensor<2x3x?xf32>) -> tensor<6x?xf32>
  return %0 : tensor<6x?xf32>
}

// -----

// CHECK-LABEL: func.func @flatten_axis0
// CHECK:         %[[F:.+]] = tensor.collapse_shape %{{.+}} {{\[}}[0, 1]] : tensor<2x3xf32> into tensor<6xf32>
// CHECK:         tensor.expand_shape %[[F]] {{\[}}[0, 1]] output_shape [1, 6] : tensor<6xf32> into tensor<1x6xf32>
func.func @flatten_axis0(%a: tensor<2x3xf32>) -> tensor<1x6xf32> {
  %0 = tessel.flatten %a {axis = 0 : i64} : (tensor<2x3xf32>) -> tensor<1x6xf32>
  return %0 : tensor<1x6xf32>
}

// -----

// A squeezed `?` is cast to 1 first.
// CHECK-LABEL: func.func @squeeze
// CHECK:         %[[U:.+]] = tensor.cast %{{.+}} : tensor<?x?x1xf32> to tensor<1x?x1xf32>
// CHECK:         tensor.collapse_shape %[[U]] {{\[}}[0, 1, 2]] : tensor<1x?x1xf32> into tensor<?xf32>
func.func @squeeze(%a: tensor<?x?x1xf32>) -> tensor<?xf32> {
  %0 = tessel.squeeze %a {axes = array<i64: 0, -1>} : (tensor<?x?x1xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// CHECK-LABEL: func.func @unsqueeze
// CHECK:         %[[D:.+]] = tensor.dim
// CHECK:         tensor.expand_shape %{{.+}} {{\[}}[0, 1], [2, 3]] output_shape [1, %[[D]], 4, 1] : tensor<?x4xf32> into tensor<1x?x4x1xf32>
func.func @unsqueeze(%a: tensor<?x4xf32>) -> tensor<1x?x4x1xf32> {
  %0 = tessel.unsqueeze %a {axes = array<i64: 0, 3>} : (tensor<?x4xf32>) -> tensor<1x?x4x1xf32>
  return %0 : tensor<1x?x4x1xf32>
}

// -----

// Unsigned elements become signless.
// CHECK-LABEL: func.func @transpose_unsigned
// CHECK-SAME:    (%[[A:.+]]: tensor<?x8x?xi8>) -> tensor<?x?x8xi8>
// CHECK:         %[[INIT:.+]] = tensor.empty(%{{.+}}, %{{.+}}) : tensor<?x?x8xi8>
// CHECK:         %[[T:.+]] = linalg.transpose ins(%[[A]] : tensor<?x8x?xi8>) outs(%[[INIT]] : tensor<?x?x8xi8>) permutation = [0, 2, 1]
// CHECK:         return %[[T]]
func.func @transpose_unsigned(%a: tensor<?x8x?xui8>) -> tensor<?x?x8xui8> {
  %0 = tessel.transpose %a {perm = array<i64: 0, 2, 1>} : (tensor<?x8x?xui8>) -> tensor<?x?x8xui8>
  return %0 : tensor<?x?x8xui8>
}

// -----

// CHECK-LABEL: func.func @concat
// CHECK-SAME:    (%[[A:.+]]: tensor<2x?xf32>, %[[B:.+]]: tensor<?x3xf32>, %[[C:.+]]: tensor<2x1xf32>)
// CHECK:         %[[INIT:.+]] = tensor.empty(%{{.+}}) : tensor<2x?xf32>
// CHECK:         %[[R0:.+]] = tensor.insert_slice %[[A]] into %[[INIT]][0, 0] [2, %{{.+}}] [1, 1]
// CHECK:         %[[AW:.+]] = tensor.dim %[[A]]
// CHECK:         %[[R1:.+]] = tensor.insert_slice %[[B]] into %[[R0]][0, %[[AW]]] [%{{.+}}, 3] [1, 1]
// CHECK:         %[[OFF:.+]] = arith.addi %[[AW]], %{{.+}} : index
// CHECK:         %[[R2:.+]] = tensor.insert_slice %[[C]] into %[[R1]][0, %[[OFF]]] [2, 1] [1, 1]
// CHECK:         return %[[R2]]
func.func @concat(%a: tensor<2x?xf32>, %b: tensor<?x3xf32>, %c: tensor<2x1xf32>) -> tensor<2x?xf32> {
  %0 = tessel.concat %a, %b, %c {axis = -1 : i64} : (tensor<2x?xf32>, tensor<?x3xf32>, tensor<2x1xf32>) -> tensor<2x?xf32>
  return %0 : tensor<2x?xf32>
}

// -----

// CHECK-LABEL: func.func @split
// CHECK:         %[[P0:.+]] = tensor.extract_slice %{{.+}}[0, 0] [%{{.+}}, 1] [1, 1] : tensor<?x6xf32> to tensor<?x1xf32>
// CHECK:         %[[P1:.+]] = tensor.extract_slice %{{.+}}[0, 1] [%{{.+}}, 2] [1, 1] : tensor<?x6xf32> to tensor<?x2xf32>
// CHECK:         %[[P2:.+]] = tensor.extract_slice %{{.+}}[0, 3] [%{{.+}}, 3] [1, 1] : tensor<?x6xf32> to tensor<?x3xf32>
// CHECK:         return %[[P0]], %[[P1]], %[[P2]]
func.func @split(%a: tensor<?x6xf32>) -> (tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x3xf32>) {
  %0:3 = tessel.split %a {axis = 1 : i64, split = array<i64: 1, 2, 3>} : (tensor<?x6xf32>) -> (tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x3xf32>)
  return %0#0, %0#1, %0#2 : tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x3xf32>
}

// -----

// Equal parts of a dynamic dim, the last ones clamped.
// CHECK-LABEL: func.func @split_num_outputs
// CHECK:         arith.divsi
// CHECK:         %[[N0:.+]] = arith.minsi
// CHECK:         %[[P0:.+]] = tensor.extract_slice %{{.+}}[0] [%[[N0]]] [1] : tensor<?xf32> to tensor<?xf32>
// CHECK:         %[[N1:.+]] = arith.minsi
// CHECK:         %[[P1:.+]] = tensor.extract_slice %{{.+}}[%[[N0]]] [%[[N1]]] [1] : tensor<?xf32> to tensor<?xf32>
// CHECK:         return %[[P0]], %[[P1]]
func.func @split_num_outputs(%a: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0:2 = tessel.split %a {num_outputs = 2 : i64} : (tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>)
  return %0#0, %0#1 : tensor<?xf32>, tensor<?xf32>
}

// -----

// A positive constant step: an extract_slice with run-time, clamped bounds.
// CHECK-LABEL: func.func @slice_step2
// CHECK-SAME:    (%[[X:.+]]: tensor<?x8xf32>, %[[ST:.+]]: tensor<1xi64>, %[[EN:.+]]: tensor<1xi64>)
// CHECK:         %[[ROWS:.+]] = tensor.dim %[[X]]
// CHECK:         tensor.extract %[[ST]]
// CHECK:         tensor.extract %[[EN]]
// CHECK:         arith.cmpi slt
// CHECK:         arith.maxsi
// CHECK:         %[[START:.+]] = arith.minsi
// CHECK:         arith.divsi
// CHECK:         %[[COUNT:.+]] = arith.select
// CHECK:         %[[S:.+]] = tensor.extract_slice %[[X]][0, %[[START]]] [%[[ROWS]], %[[COUNT]]] [1, 2] : tensor<?x8xf32> to tensor<?x?xf32>
// CHECK:         return %[[S]]
func.func @slice_step2(%x: tensor<?x8xf32>, %st: tensor<1xi64>, %en: tensor<1xi64>) -> tensor<?x?xf32> {
  %ax = tessel.constant dense<1> : tensor<1xi64>
  %sp = tessel.constant dense<2> : tensor<1xi64>
  %0 = tessel.slice %x, %st, %en, %ax, %sp : (tensor<?x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// A negative step: a generic reading input[start + i * step].
// CHECK-LABEL: func.func @slice_reverse
// CHECK-SAME:    (%[[X:.+]]: tensor<?x8xf32>
// CHECK:         %[[START:.+]] = arith.minsi %{{.+}}, %{{.+}} : index
// CHECK:         %[[INIT:.+]] = tensor.empty(%{{.+}}, %{{.+}}) : tensor<?x?xf32>
// CHECK:         linalg.generic {{.*}} outs(%[[INIT]] : tensor<?x?xf32>)
// CHECK:           %[[I:.+]] = linalg.index 0 : index
// CHECK:           %[[J:.+]] = linalg.index 1 : index
// CHECK:           %[[JS:.+]] = arith.muli %[[J]], %{{.+}} : index
// CHECK:           %[[COL:.+]] = arith.addi %[[START]], %[[JS]] : index
// CHECK:           %[[V:.+]] = tensor.extract %[[X]][%[[I]], %[[COL]]] : tensor<?x8xf32>
// CHECK:           linalg.yield %[[V]]
func.func @slice_reverse(%x: tensor<?x8xf32>, %st: tensor<1xi64>, %en: tensor<1xi64>) -> tensor<?x?xf32> {
  %ax = tessel.constant dense<1> : tensor<1xi64>
  %sp = tessel.constant dense<-1> : tensor<1xi64>
  %0 = tessel.slice %x, %st, %en, %ax, %sp : (tensor<?x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// Axes known only at run time: no lowering.
func.func @slice_runtime_axes(%x: tensor<?x8xf32>, %st: tensor<1xi64>, %en: tensor<1xi64>, %ax: tensor<1xi64>, %sp: tensor<1xi64>) -> tensor<?x?xf32> {
  // expected-error @+1 {{failed to legalize operation 'tessel.slice'}}
  %0 = tessel.slice %x, %st, %en, %ax, %sp : (tensor<?x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// CHECK-DAG:   #[[IDX:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-DAG:   #[[OUT:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @gather
// CHECK-SAME:    (%[[D:.+]]: tensor<2x?x4xf32>, %[[I:.+]]: tensor<3x5xi32>)
// CHECK:         %[[N:.+]] = tensor.dim %[[D]]
// CHECK:         linalg.generic {indexing_maps = [#[[IDX]], #[[OUT]]], {{.*}} ins(%[[I]] : tensor<3x5xi32>) outs(%{{.+}} : tensor<2x3x5x4xf32>)
// CHECK:         ^bb0(%[[IN:.+]]: i32, %{{.+}}: f32):
// CHECK:           %[[B:.+]] = linalg.index 0 : index
// CHECK:           %[[E:.+]] = linalg.index 3 : index
// CHECK:           %[[K:.+]] = arith.index_cast %[[IN]] : i32 to index
// CHECK:           %[[NEG:.+]] = arith.cmpi slt, %[[K]], %{{.+}} : index
// CHECK:           %[[WRAPPED:.+]] = arith.addi %[[K]], %[[N]] : index
// CHECK:           %[[ROW:.+]] = arith.select %[[NEG]], %[[WRAPPED]], %[[K]] : index
// CHECK:           tensor.extract %[[D]][%[[B]], %[[ROW]], %[[E]]] : tensor<2x?x4xf32>
func.func @gather(%d: tensor<2x?x4xf32>, %i: tensor<3x5xi32>) -> tensor<2x3x5x4xf32> {
  %0 = tessel.gather %d, %i {axis = 1 : i64} : (tensor<2x?x4xf32>, tensor<3x5xi32>) -> tensor<2x3x5x4xf32>
  return %0 : tensor<2x3x5x4xf32>
}

// -----

// CHECK-LABEL: func.func @gather_elements
// CHECK-SAME:    (%[[D:.+]]: tensor<2x?xf32>, %[[I:.+]]: tensor<2x3xi64>)
// CHECK:         linalg.generic {{.*}} ins(%[[I]] : tensor<2x3xi64>) outs(%{{.+}} : tensor<2x3xf32>)
// CHECK:           %[[R:.+]] = linalg.index 0 : index
// CHECK:           %[[C:.+]] = arith.select
// CHECK:           tensor.extract %[[D]][%[[R]], %[[C]]] : tensor<2x?xf32>
func.func @gather_elements(%d: tensor<2x?xf32>, %i: tensor<2x3xi64>) -> tensor<2x3xf32> {
  %0 = tessel.gather_elements %d, %i {axis = -1 : i64} : (tensor<2x?xf32>, tensor<2x3xi64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// batch_dims = 1: the batch index selects the data batch too.
// CHECK-LABEL: func.func @gather_nd
// CHECK-SAME:    (%[[D:.+]]: tensor<2x3x4xf32>, %[[I:.+]]: tensor<2x5x1xi64>)
// CHECK:         linalg.generic {{.*}} outs(%{{.+}} : tensor<2x5x4xf32>)
// CHECK:           %[[B:.+]] = linalg.index 0 : index
// CHECK:           %[[T:.+]] = linalg.index 1 : index
// CHECK:           %[[E:.+]] = linalg.index 2 : index
// CHECK:           %[[K:.+]] = tensor.extract %[[I]][%[[B]], %[[T]], %{{.+}}] : tensor<2x5x1xi64>
// CHECK:           %[[KI:.+]] = arith.index_cast %[[K]] : i64 to index
// CHECK:           %[[ROW:.+]] = arith.select %{{.+}}, %{{.+}}, %[[KI]] : index
// CHECK:           tensor.extract %[[D]][%[[B]], %[[ROW]], %[[E]]] : tensor<2x3x4xf32>
func.func @gather_nd(%d: tensor<2x3x4xf32>, %i: tensor<2x5x1xi64>) -> tensor<2x5x4xf32> {
  %0 = tessel.gather_nd %d, %i {batch_dims = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x1xi64>) -> tensor<2x5x4xf32>
  return %0 : tensor<2x5x4xf32>
}

// -----

// Row updates combined into a copy of the data, one tuple per iteration.
// CHECK-LABEL: func.func @scatter_nd_add
// CHECK-SAME:    (%[[D:.+]]: tensor<?x4xf32>, %[[I:.+]]: tensor<3x1xi64>, %[[U:.+]]: tensor<3x4xf32>)
// CHECK:         %[[COPY:.+]] = linalg.copy ins(%[[D]] : tensor<?x4xf32>) outs(%{{.+}} : tensor<?x4xf32>)
// CHECK:         %[[R:.+]] = scf.for %[[IV:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:.+]] = %[[COPY]]) -> (tensor<?x4xf32>)
// CHECK:           tensor.extract %[[I]][%[[IV]], %{{.+}}] : tensor<3x1xi64>
// CHECK:           %[[ROW:.+]] = arith.select
// CHECK:           %[[UPD:.+]] = tensor.extract_slice %[[U]][%[[IV]], 0] [1, 4] [1, 1] : tensor<3x4xf32> to tensor<4xf32>
// CHECK:           %[[CUR:.+]] = tensor.extract_slice %[[ACC]][%[[ROW]], 0] [1, 4] [1, 1] : tensor<?x4xf32> to tensor<4xf32>
// CHECK:           %[[SUM:.+]] = linalg.generic {{.*}} ins(%[[UPD]] : tensor<4xf32>) outs(%[[CUR]] : tensor<4xf32>)
// CHECK:             arith.addf
// CHECK:           %[[NEW:.+]] = tensor.insert_slice %[[SUM]] into %[[ACC]][%[[ROW]], 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<?x4xf32>
// CHECK:           scf.yield %[[NEW]]
// CHECK:         return %[[R]]
func.func @scatter_nd_add(%d: tensor<?x4xf32>, %i: tensor<3x1xi64>, %u: tensor<3x4xf32>) -> tensor<?x4xf32> {
  %0 = tessel.scatter_nd %d, %i, %u {reduction = "add"} : (tensor<?x4xf32>, tensor<3x1xi64>, tensor<3x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// Full index tuples: element updates with tensor.insert.
// CHECK-LABEL: func.func @scatter_nd_elements
// CHECK-SAME:    (%{{.+}}: tensor<5x4xi64>, %{{.+}}: tensor<3x2xi64>, %[[U:.+]]: tensor<3xi64>)
// CHECK:         scf.for %[[IV:.+]] = {{.*}} iter_args(%[[ACC:.+]] = %{{.+}}) -> (tensor<5x4xi64>)
// CHECK:           %[[R:.+]] = arith.select
// CHECK:           %[[C:.+]] = arith.select
// CHECK:           %[[V:.+]] = tensor.extract %[[U]][%[[IV]]] : tensor<3xi64>
// CHECK:           tensor.insert %[[V]] into %[[ACC]][%[[R]], %[[C]]] : tensor<5x4xi64>
func.func @scatter_nd_elements(%d: tensor<5x4xi64>, %i: tensor<3x2xi64>, %u: tensor<3xi64>) -> tensor<5x4xi64> {
  %0 = tessel.scatter_nd %d, %i, %u : (tensor<5x4xi64>, tensor<3x2xi64>, tensor<3xi64>) -> tensor<5x4xi64>
  return %0 : tensor<5x4xi64>
}

// -----

// A static 1 broadcasts through a constant-0 map.
// CHECK-DAG:   #[[IN:.+]] = affine_map<(d0, d1, d2) -> (0, d2)>
// CHECK-LABEL: func.func @expand
// CHECK-SAME:    (%[[A:.+]]: tensor<1x4xf32>, %[[S:.+]]: tensor<3xi64>)
// CHECK:         tensor.extract %[[S]]
// CHECK:         tensor.extract %[[S]]
// CHECK:         %[[INIT:.+]] = tensor.empty(%{{.+}}, %{{.+}}) : tensor<?x?x4xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[IN]], #{{.+}}], {{.*}} ins(%[[A]] : tensor<1x4xf32>) outs(%[[INIT]] : tensor<?x?x4xf32>)
func.func @expand(%a: tensor<1x4xf32>, %s: tensor<3xi64>) -> tensor<?x?x4xf32> {
  %0 = tessel.expand %a, %s : (tensor<1x4xf32>, tensor<3xi64>) -> tensor<?x?x4xf32>
  return %0 : tensor<?x?x4xf32>
}

// -----

// A `?` that may be 1: a plain copy when it is not broadcast, else reads
// at select(dim == 1, 0, i).
// CHECK-LABEL: func.func @expand_dynamic
// CHECK-SAME:    (%[[A:.+]]: tensor<?x4xf32>
// CHECK:         %[[N:.+]] = arith.select
// CHECK:         %[[ISONE:.+]] = arith.cmpi eq, %{{.+}}, %{{.+}} : index
// CHECK:         %[[SAME:.+]] = arith.cmpi eq, %{{.+}}, %[[N]] : index
// CHECK:         scf.if %[[SAME]] -> (tensor<?x4xf32>)
// CHECK:           linalg.generic {{.*}} ins(%[[A]] : tensor<?x4xf32>)
// CHECK:         } else {
// CHECK:           linalg.generic
// CHECK:             %[[I:.+]] = linalg.index 0 : index
// CHECK:             %[[J:.+]] = linalg.index 1 : index
// CHECK:             %[[ROW:.+]] = arith.select %[[ISONE]], %{{.+}}, %[[I]] : index
// CHECK:             tensor.extract %[[A]][%[[ROW]], %[[J]]] : tensor<?x4xf32>
func.func @expand_dynamic(%a: tensor<?x4xf32>, %s: tensor<2xi64>) -> tensor<?x4xf32> {
  %0 = tessel.expand %a, %s : (tensor<?x4xf32>, tensor<2xi64>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// CHECK-LABEL: func.func @tile
// CHECK-SAME:    (%[[A:.+]]: tensor<2x?xf32>
// CHECK:         %[[W:.+]] = tensor.dim %[[A]]
// CHECK:         linalg.generic
// CHECK:           %[[I:.+]] = linalg.index 0 : index
// CHECK:           %[[J:.+]] = linalg.index 1 : index
// CHECK:           %[[R:.+]] = arith.remui %[[I]], %{{.+}} : index
// CHECK:           %[[C:.+]] = arith.remui %[[J]], %[[W]] : index
// CHECK:           tensor.extract %[[A]][%[[R]], %[[C]]] : tensor<2x?xf32>
func.func @tile(%a: tensor<2x?xf32>, %r: tensor<2xi64>) -> tensor<?x?xf32> {
  %0 = tessel.tile %a, %r : (tensor<2x?xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// CHECK-LABEL: func.func @range_int
// CHECK-SAME:    (%[[S:.+]]: tensor<i64>, %[[L:.+]]: tensor<i64>, %[[D:.+]]: tensor<i64>)
// CHECK-DAG:     %[[START:.+]] = tensor.extract %[[S]][] : tensor<i64>
// CHECK-DAG:     %[[DELTA:.+]] = tensor.extract %[[D]][] : tensor<i64>
// CHECK:         arith.divsi
// CHECK:         %[[COUNT:.+]] = arith.maxsi
// CHECK:         %[[N:.+]] = arith.index_cast %[[COUNT]] : i64 to index
// CHECK:         %[[INIT:.+]] = tensor.empty(%[[N]]) : tensor<?xi64>
// CHECK:         linalg.generic {{.*}} outs(%[[INIT]] : tensor<?xi64>)
// CHECK:           %[[I:.+]] = linalg.index 0 : index
// CHECK:           %[[II:.+]] = arith.index_cast %[[I]] : index to i64
// CHECK:           %[[STEP:.+]] = arith.muli %[[II]], %[[DELTA]] : i64
// CHECK:           %[[V:.+]] = arith.addi %[[START]], %[[STEP]] : i64
// CHECK:           linalg.yield %[[V]]
func.func @range_int(%s: tensor<i64>, %l: tensor<i64>, %d: tensor<i64>) -> tensor<?xi64> {
  %0 = tessel.range %s, %l, %d : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

// The count is computed in f64.
// CHECK-LABEL: func.func @range_float
// CHECK:         %[[Q:.+]] = arith.divf %{{.+}}, %{{.+}} : f64
// CHECK:         %[[C:.+]] = math.ceil %[[Q]] : f64
// CHECK:         %[[M:.+]] = arith.maximumf %[[C]], %{{.+}} : f64
// CHECK:         arith.fptosi %[[M]] : f64 to i64
// CHECK:         linalg.generic
// CHECK:           arith.sitofp %{{.+}} : i64 to f32
// CHECK:           arith.mulf
// CHECK:           arith.addf
func.func @range_float(%s: tensor<f32>, %l: tensor<f32>, %d: tensor<f32>) -> tensor<?xf32> {
  %0 = tessel.range %s, %l, %d : (tensor<f32>, tensor<f32>, tensor<f32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// CHECK-LABEL: func.func @constant_of_shape
// CHECK-SAME:    (%[[S:.+]]: tensor<2xi64>)
// CHECK:         %[[D0:.+]] = tensor.extract %[[S]]
// CHECK:         %[[D1:.+]] = tensor.extract %[[S]]
// CHECK:         %[[V:.+]] = arith.constant 7 : i64
// CHECK:         %[[INIT:.+]] = tensor.empty(%{{.+}}, %{{.+}}) : tensor<?x?xi64>
// CHECK:         %[[F:.+]] = linalg.fill ins(%[[V]] : i64) outs(%[[INIT]] : tensor<?x?xi64>)
// CHECK:         return %[[F]]
func.func @constant_of_shape(%s: tensor<2xi64>) -> tensor<?x?xi64> {
  %0 = tessel.constant_of_shape %s {value = dense<7> : tensor<1xi64>} : (tensor<2xi64>) -> tensor<?x?xi64>
  return %0 : tensor<?x?xi64>
}

// -----

// CHECK-LABEL: func.func @constant_of_shape_default
// CHECK:         %[[Z:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:         linalg.fill ins(%[[Z]] : f32) outs(%{{.+}} : tensor<3x?xf32>)
func.func @constant_of_shape_default(%s: tensor<2xi64>) -> tensor<3x?xf32> {
  %0 = tessel.constant_of_shape %s : (tensor<2xi64>) -> tensor<3x?xf32>
  return %0 : tensor<3x?xf32>
}

// -----

// Lower triangle: keep col - row <= k.
// CHECK-LABEL: func.func @trilu_lower
// CHECK:         %[[K:.+]] = arith.index_cast %{{.+}} : i64 to index
// CHECK:         linalg.generic
// CHECK:         ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK:           %[[R:.+]] = linalg.index 0 : index
// CHECK:           %[[C:.+]] = linalg.index 1 : index
// CHECK:           %[[D:.+]] = arith.subi %[[C]], %[[R]] : index
// CHECK:           %[[KEEP:.+]] = arith.cmpi sle, %[[D]], %[[K]] : index
// CHECK:           %[[V:.+]] = arith.select %[[KEEP]], %[[IN]], %{{.+}} : f32
// CHECK:           linalg.yield %[[V]]
func.func @trilu_lower(%x: tensor<?x?xf32>, %k: tensor<i64>) -> tensor<?x?xf32> {
  %0 = tessel.trilu %x, %k {upper = 0 : i64} : (tensor<?x?xf32>, tensor<i64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// CHECK-LABEL: func.func @trilu_upper_default
// CHECK:         arith.cmpi sge
func.func @trilu_upper_default(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = tessel.trilu %x : (tensor<4x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// CHECK-LABEL: func.func @pad
// CHECK-SAME:    (%[[X:.+]]: tensor<?x4xf32>, %[[V:.+]]: tensor<f32>)
// CHECK:         %[[PV:.+]] = tensor.extract %[[V]][] : tensor<f32>
// CHECK:         %[[P:.+]] = tensor.pad %[[X]] low[0, 1] high[2, 1]
// CHECK:           tensor.yield %[[PV]] : f32
// CHECK:         } : tensor<?x4xf32> to tensor<?x6xf32>
// CHECK:         return %[[P]]
func.func @pad(%x: tensor<?x4xf32>, %v: tensor<f32>) -> tensor<?x6xf32> {
  %p = tessel.constant dense<[0, 1, 2, 1]> : tensor<4xi64>
  %0 = tessel.pad %x, %p, %v : (tensor<?x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<?x6xf32>
  return %0 : tensor<?x6xf32>
}

// -----

// Negative pads crop.
// CHECK-LABEL: func.func @pad_crop
// CHECK:         %[[S:.+]] = tensor.extract_slice %{{.+}}[1, 0] [2, 1] [1, 1] : tensor<3x4xf32> to tensor<2x1xf32>
// CHECK:         tensor.pad %[[S]] low[0, 2] high[2, 0]
// CHECK:         } : tensor<2x1xf32> to tensor<4x3xf32>
func.func @pad_crop(%x: tensor<3x4xf32>, %v: tensor<f32>) -> tensor<4x3xf32> {
  %p = tessel.constant dense<[-1, 2, 2, -3]> : tensor<4xi64>
  %0 = tessel.pad %x, %p, %v : (tensor<3x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Run-time pads: low/high and crops are computed from the pads operand.
// CHECK-LABEL: func.func @pad_runtime
// CHECK-SAME:    (%[[X:.+]]: tensor<?x4xf32>, %[[P:.+]]: tensor<4xi64>
// CHECK:         tensor.extract %[[P]]
// CHECK:         %[[S:.+]] = tensor.extract_slice %[[X]]
// CHECK:         tensor.pad %[[S]] low[%{{.+}}, %{{.+}}] high[%{{.+}}, %{{.+}}]
func.func @pad_runtime(%x: tensor<?x4xf32>, %p: tensor<4xi64>, %v: tensor<f32>) -> tensor<?x?xf32> {
  %0 = tessel.pad %x, %p, %v : (tensor<?x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// Only constant padding has a CPU lowering.
func.func @pad_reflect(%x: tensor<?x4xf32>, %p: tensor<4xi64>, %v: tensor<f32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{failed to legalize operation 'tessel.pad'}}
  %0 = tessel.pad %x, %p, %v {mode = "reflect"} : (tensor<?x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// A known positive entry makes a dim the declared type leaves dynamic
// static: the heads split off with expand_shape (which fusion sees
// through), cast back to the declared type; no tensor.reshape.
// CHECK-LABEL: func.func @reshape_known_heads
// CHECK-NOT:     tensor.reshape
// CHECK:         %[[E:.+]] = tensor.expand_shape %arg0 {{\[}}[0], [1], [2, 3]] output_shape [%{{.+}}, %{{.+}}, 4, 16] : tensor<?x?x64xf32> into tensor<?x?x4x16xf32>
// CHECK:         tensor.cast %[[E]] : tensor<?x?x4x16xf32> to tensor<?x?x?x16xf32>
func.func @reshape_known_heads(%x: tensor<?x?x64xf32>) -> tensor<?x?x?x16xf32> {
  %t = tessel.constant dense<[0, 0, 4, 16]> : tensor<4xi64>
  %y = tessel.reshape %x, %t : (tensor<?x?x64xf32>, tensor<4xi64>) -> tensor<?x?x?x16xf32>
  return %y : tensor<?x?x?x16xf32>
}
