// RUN: tessel-opt %s -tessel-launch-row-reductions -split-input-file | FileCheck %s

// A norm's sum of squares over 2048 static channels: 8 warps (256 lanes)
// per row, one row per block; lanes stride over the row from the neutral
// element, shuffle within the warp, meet in shared memory, and the first
// lane adds the output's initial value.
#rows = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @sum_squares
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[C256:.+]] = arith.constant 256 : index
// CHECK-DAG:     %[[C2048:.+]] = arith.constant 2048 : index
// CHECK:         %[[ROWS:.+]] = memref.dim %arg0, %{{.+}} : memref<?x2048xf32>
// CHECK:         %[[ANY:.+]] = arith.cmpi ugt
// CHECK:         scf.if %[[ANY]] {
// CHECK:           gpu.launch blocks({{.+}}) in ({{.+}}) threads(%[[TX:.+]], %[[TY:.+]], %{{.+}}) in (%{{.+}} = %[[C256]], %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) workgroup(%[[SCRATCH:.+]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:             %[[ACTIVE:.+]] = arith.cmpi ult
// CHECK:             %[[PART:.+]] = scf.if %[[ACTIVE]] -> (f32) {
// The lane's elements tx, tx + 256, ...: four per iteration, loads first,
// then the rest one at a time.
// CHECK:               %[[MINE:.+]] = arith.subi %[[C2048]], %[[TX]]
// CHECK:               %[[COUNT:.+]] = arith.ceildivui %{{.+}}, %[[C256]]
// CHECK:               %[[GROUPS:.+]] = arith.divui %[[COUNT]], %c4
// CHECK:               %[[MAIN:.+]] = scf.for %{{.+}} = %c0 to %[[GROUPS]] step %c1 iter_args(%[[ACC:.+]] = %[[ZERO]]) -> (f32) {
// CHECK:                 %[[K0:.+]] = arith.addi %[[TX]], %{{.+}}
// CHECK:                 %[[X0:.+]] = memref.load %arg0[%{{.+}}, %[[K0]]]
// CHECK:                 %[[K1:.+]] = arith.addi %[[K0]], %[[C256]]
// CHECK:                 %[[X1:.+]] = memref.load %arg0[%{{.+}}, %[[K1]]]
// CHECK:                 memref.load
// CHECK:                 memref.load
// CHECK:                 %[[SQ:.+]] = arith.mulf %[[X0]], %[[X0]] : f32
// CHECK:                 %[[NEXT:.+]] = arith.addf %[[SQ]], %[[ACC]] : f32
// CHECK-COUNT-3:         arith.addf
// CHECK:                 scf.yield
// CHECK:               scf.for %{{.+}} = %{{.+}} to %[[COUNT]] step %c1 iter_args(%{{.+}} = %[[MAIN]]) -> (f32) {
// CHECK:                 memref.load %arg0
// CHECK:                 arith.addf
// CHECK:                 scf.yield
// CHECK:             } else {
// CHECK:               scf.yield %[[ZERO]] : f32
// CHECK:             gpu.shuffle  xor %[[PART]], %c16_i32, %c32_i32 : f32
// CHECK-COUNT-4:     gpu.shuffle  xor
// CHECK:             memref.store %{{.+}}, %[[SCRATCH]]
// CHECK:             gpu.barrier
// CHECK:             memref.load %[[SCRATCH]]
// CHECK-COUNT-3:     gpu.shuffle  xor
// CHECK:             %[[LEAD:.+]] = arith.cmpi eq, %[[TX]], %c0
// CHECK:             %[[WRITE:.+]] = arith.andi %[[ACTIVE]], %[[LEAD]] : i1
// CHECK:             scf.if %[[WRITE]] {
// CHECK:               %[[OLD:.+]] = memref.load %arg1[
// CHECK:               %[[NEW:.+]] = arith.addf %{{.+}}, %[[OLD]] : f32
// CHECK:               memref.store %[[NEW]], %arg1[
// CHECK:           gpu.terminator
// CHECK-NOT:     linalg.generic
func.func @sum_squares(%x: memref<?x2048xf32>, %out: memref<?xf32>) {
  linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x2048xf32>) outs(%out : memref<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A max over a dynamic innermost dim, two parallel dims, a broadcast input
// and linalg.index: one warp per row, 8 rows per block, no shared memory;
// the neutral element of arith.maximumf is -inf; the row index splits into
// the two parallel dims.
#in3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bias = affine_map<(d0, d1, d2) -> (d2)>
#out2 = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @max_dynamic
// CHECK-DAG:     %[[NEG:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:     %[[C32:.+]] = arith.constant 32 : index
// CHECK-DAG:     %[[C8:.+]] = arith.constant 8 : index
// CHECK:         %[[D0:.+]] = memref.dim %arg0, %c0
// CHECK:         %[[D1:.+]] = memref.dim %arg0, %c1
// CHECK:         %[[D2:.+]] = memref.dim %arg0, %c2
// CHECK:         %[[GRID:.+]] = arith.ceildivui %{{.+}}, %[[C8]] : index
// CHECK:         gpu.launch blocks({{.+}}) in (%{{.+}} = %[[GRID]], {{.+}}) threads(%[[TX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C32]], %{{.+}} = %[[C8]], {{.+}}) {
// CHECK:             %[[J:.+]] = arith.remui %{{.+}}, %[[D1]] : index
// CHECK:             %[[R:.+]] = arith.divui %{{.+}}, %[[D1]] : index
// CHECK:             %[[I:.+]] = arith.remui %[[R]], %[[D0]] : index
// CHECK:             arith.subi %[[D2]], %[[TX]]
// CHECK:             scf.for %{{.+}} iter_args(%{{.+}} = %[[NEG]])
// CHECK:               %[[K:.+]] = arith.addi %[[TX]], %{{.+}}
// CHECK:               memref.load %arg0[%[[I]], %[[J]], %[[K]]]
// CHECK:               memref.load %arg1[%[[K]]]
// CHECK:               arith.index_cast %[[K]]
// CHECK:               arith.maximumf
// CHECK-COUNT-5:     gpu.shuffle  xor
// CHECK-NOT:         gpu.barrier
// CHECK:             memref.store %{{.+}}, %arg2[%[[I]], %[[J]]]
func.func @max_dynamic(%x: memref<?x?x?xf32>, %b: memref<?xf32>, %out: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#in3, #bias, #out2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %b : memref<?x?x?xf32>, memref<?xf32>) outs(%out : memref<?x?xf32>) {
  ^bb0(%in: f32, %bias: f32, %acc: f32):
    %k = linalg.index 2 : index
    %ki = arith.index_cast %k : index to i32
    %kf = arith.sitofp %ki : i32 to f32
    %v = arith.addf %in, %bias : f32
    %w = arith.addf %v, %kf : f32
    %m = arith.maximumf %w, %acc : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// The output was just filled with the neutral element (the usual init): the
// fill goes and the first lane stores the total without reading the output.
// A fill with another value stays and is combined with.
#rows = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @neutral_init
// CHECK-NOT:     linalg.fill
// CHECK:         gpu.launch
// CHECK:           scf.if
// CHECK-NOT:         memref.load %arg1[
// CHECK:             memref.store %{{.+}}, %arg1[
// CHECK:         linalg.fill ins(%{{.+}} : f32) outs(%arg2
// CHECK:         gpu.launch
// CHECK:             %[[OLD:.+]] = memref.load %arg2[
// CHECK:             arith.addf %{{.+}}, %[[OLD]]
func.func @neutral_init(%x: memref<?x2048xf32>, %out: memref<?xf32>, %out2: memref<?xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<?xf32>)
  linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x2048xf32>) outs(%out : memref<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  linalg.fill ins(%one : f32) outs(%out2 : memref<?xf32>)
  linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x2048xf32>) outs(%out2 : memref<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Bufferization's shape of a shared zero init: one filled buffer, copied
// into the first reduction's output, then reused in place by the second.
// The first drops the copy, the second the fill; no kernel reads either
// output before writing it.
#rows = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @shared_init
// CHECK-NOT:     linalg.fill
// CHECK-NOT:     linalg.copy
// CHECK:         gpu.launch
// CHECK-NOT:       memref.load %{{.+}}[%{{.+}}] : memref<?xf32>
// CHECK:           gpu.terminator
// CHECK:         gpu.launch
// CHECK-NOT:       memref.load %{{.+}}[%{{.+}}] : memref<?xf32>
// CHECK:           gpu.terminator
func.func @shared_init(%x: memref<?x2048xf32>, %y: memref<?x2048xf32>, %n: index) -> (memref<?xf32>, memref<?xf32>) {
  %zero = arith.constant 0.0 : f32
  %init = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%init : memref<?xf32>)
  %first = memref.alloc(%n) : memref<?xf32>
  linalg.copy ins(%init : memref<?xf32>) outs(%first : memref<?xf32>)
  linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x2048xf32>) outs(%first : memref<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<?x2048xf32>) outs(%init : memref<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  return %first, %init : memref<?xf32>, memref<?xf32>
}

// -----

// A reduction over the outer dim (inputs not contiguous along it), one with
// two outputs (argmax), and one with an f16 result keep the generic
// lowering.
#t = affine_map<(d0, d1) -> (d1, d0)>
#o = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @not_rows
// CHECK-NOT:     gpu.launch
// CHECK-COUNT-3: linalg.generic
func.func @not_rows(%x: memref<?x?xf32>, %out: memref<?xf32>, %idx: memref<?xi32>,
                    %h: memref<?x?xf16>, %hout: memref<?xf16>) {
  linalg.generic {indexing_maps = [#t, #o], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x?xf32>) outs(%out : memref<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, #o, #o], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x?xf32>) outs(%out, %idx : memref<?xf32>, memref<?xi32>) {
  ^bb0(%in: f32, %best: f32, %at: i32):
    %k = linalg.index 1 : index
    %ki = arith.index_cast %k : index to i32
    %gt = arith.cmpf ogt, %in, %best : f32
    %v = arith.select %gt, %in, %best : f32
    %i = arith.select %gt, %ki, %at : i32
    linalg.yield %v, %i : f32, i32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, #o], iterator_types = ["parallel", "reduction"]}
      ins(%h : memref<?x?xf16>) outs(%hout : memref<?xf16>) {
  ^bb0(%in: f16, %acc: f16):
    %s = arith.addf %in, %acc : f16
    linalg.yield %s : f16
  }
  return
}
