// RUN: tessel-opt %s -convert-tessel-to-linalg -split-input-file -verify-diagnostics | FileCheck %s

// keepdims: reduce into the kept dims, then re-insert the unit dim.
// CHECK-LABEL: func.func @reduce_sum_keepdims
// CHECK-SAME:    (%[[X:.+]]: tensor<?x3x4xf32>)
// CHECK:         %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[INIT:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<?x4xf32>)
// CHECK:         %[[SUM:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "reduction", "parallel"]
// CHECK-SAME:      ins(%[[X]] : tensor<?x3x4xf32>) outs(%[[INIT]] : tensor<?x4xf32>)
// CHECK:           arith.addf
// CHECK:         %[[E:.+]] = tensor.expand_shape %[[SUM]] {{\[}}[0, 1], [2]] output_shape [%{{.+}}, 1, 4] : tensor<?x4xf32> into tensor<?x1x4xf32>
// CHECK:         return %[[E]]
func.func @reduce_sum_keepdims(%a: tensor<?x3x4xf32>) -> tensor<?x1x4xf32> {
  %0 = tessel.reduce_sum %a {axes = array<i64: 1>} : (tensor<?x3x4xf32>) -> tensor<?x1x4xf32>
  return %0 : tensor<?x1x4xf32>
}

// -----

// f16 sums accumulate in f32; the mean divides by the run-time count.
// CHECK-LABEL: func.func @reduce_mean_f16
// CHECK:         %[[SUM:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["reduction", "parallel", "reduction"]
// CHECK:           arith.extf %{{.+}} : f16 to f32
// CHECK:           arith.addf
// CHECK:         } -> tensor<3xf32>
// CHECK:         %[[D0:.+]] = tensor.dim %{{.+}}, %c0{{.*}} : tensor<?x3x4xf16>
// CHECK:         %[[N:.+]] = arith.muli %[[D0]], %{{.+}} : index
// CHECK:         %[[NI:.+]] = arith.index_cast %[[N]] : index to i64
// CHECK:         %[[NF:.+]] = arith.sitofp %[[NI]] : i64 to f32
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[SUM]] : tensor<3xf32>)
// CHECK:           %[[M:.+]] = arith.divf %{{.+}}, %[[NF]] : f32
// CHECK:           arith.truncf %[[M]] : f32 to f16
// CHECK:         } -> tensor<3xf16>
func.func @reduce_mean_f16(%a: tensor<?x3x4xf16>) -> tensor<3xf16> {
  %0 = tessel.reduce_mean %a {axes = array<i64: 0, -1>, keepdims = 0 : i64} : (tensor<?x3x4xf16>) -> tensor<3xf16>
  return %0 : tensor<3xf16>
}

// -----

// Unsigned max starts from 0 and compares unsigned; all dims reduced.
// CHECK-LABEL: func.func @reduce_max_unsigned
// CHECK-SAME:    (%{{.+}}: tensor<?x3xi8>) -> tensor<1x1xi8>
// CHECK:         %[[ZERO:.+]] = arith.constant 0 : i8
// CHECK:         linalg.fill ins(%[[ZERO]] : i8) outs(%{{.+}} : tensor<i8>)
// CHECK:         %[[R:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["reduction", "reduction"]
// CHECK:           arith.maxui
// CHECK:         tensor.expand_shape %[[R]] [] output_shape [1, 1] : tensor<i8> into tensor<1x1xi8>
func.func @reduce_max_unsigned(%a: tensor<?x3xui8>) -> tensor<1x1xui8> {
  %0 = tessel.reduce_max %a : (tensor<?x3xui8>) -> tensor<1x1xui8>
  return %0 : tensor<1x1xui8>
}

// -----

// CHECK-LABEL: func.func @reduce_min_signed
// CHECK:         %[[MAX:.+]] = arith.constant 2147483647 : i32
// CHECK:         linalg.fill ins(%[[MAX]] : i32)
// CHECK:         linalg.generic
// CHECK:           arith.minsi
// CHECK-NOT:     tensor.expand_shape
func.func @reduce_min_signed(%a: tensor<2x?xi32>) -> tensor<2xi32> {
  %0 = tessel.reduce_min %a {axes = array<i64: 1>, keepdims = 0 : i64} : (tensor<2x?xi32>) -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

// Float max starts from -inf and propagates NaN (maximumf).
// CHECK-LABEL: func.func @reduce_max_float
// CHECK:         arith.constant 0xFF800000 : f32
// CHECK:         arith.maximumf
func.func @reduce_max_float(%a: tensor<?x8xf32>) -> tensor<?x1xf32> {
  %0 = tessel.reduce_max %a {axes = array<i64: -1>} : (tensor<?x8xf32>) -> tensor<?x1xf32>
  return %0 : tensor<?x1xf32>
}

// -----

// noop_with_empty_axes without axes is the identity.
// CHECK-LABEL: func.func @reduce_noop
// CHECK-SAME:    (%[[X:.+]]: tensor<?x3xf32>)
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[X]]
func.func @reduce_noop(%a: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %0 = tessel.reduce_sum %a {noop_with_empty_axes = 1 : i64} : (tensor<?x3xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

// One generic carries the running maximum and its index; >= keeps the last.
// CHECK-LABEL: func.func @arg_max_last
// CHECK:         %[[NEG:.+]] = arith.constant 0xFF800000 : f32
// CHECK:         %[[BEST:.+]] = linalg.fill ins(%[[NEG]] : f32) outs(%{{.+}} : tensor<?xf32>)
// CHECK:         %[[IDX:.+]] = linalg.fill ins(%{{.+}} : i64) outs(%{{.+}} : tensor<?xi64>)
// CHECK:         %[[R:.+]]:2 = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "reduction"]
// CHECK-SAME:      outs(%[[BEST]], %[[IDX]] : tensor<?xf32>, tensor<?xi64>)
// CHECK:           %[[GE:.+]] = arith.cmpf oge
// CHECK:           %[[I:.+]] = linalg.index 1 : index
// CHECK:           %[[I64:.+]] = arith.index_cast %[[I]] : index to i64
// CHECK:           arith.select %[[GE]]
// CHECK:           arith.select %[[GE]], %[[I64]]
// CHECK:         return %[[R]]#1
func.func @arg_max_last(%a: tensor<?x5xf32>) -> tensor<?xi64> {
  %0 = tessel.arg_max %a {axis = 1 : i64, keepdims = 0 : i64, select_last_index = 1 : i64} : (tensor<?x5xf32>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

// CHECK-LABEL: func.func @arg_max_first_keepdims
// CHECK:         linalg.generic
// CHECK:           arith.cmpi sgt
// CHECK:         tensor.expand_shape %{{.+}} {{\[}}[0, 1]] output_shape [1, %{{.+}}] : tensor<?xi64> into tensor<1x?xi64>
func.func @arg_max_first_keepdims(%a: tensor<3x?xi32>) -> tensor<1x?xi64> {
  %0 = tessel.arg_max %a : (tensor<3x?xi32>) -> tensor<1x?xi64>
  return %0 : tensor<1x?xi64>
}

// -----

// A loop along the axis carries the running-sum slice and the result, which
// starts as the input; reverse walks back, exclusive stores the sum before
// adding the current slice. The update reads both of its outputs in place.
// CHECK-LABEL: func.func @cum_sum_exclusive_reverse
// CHECK-SAME:    (%[[X:.+]]: tensor<?x4xi64>)
// CHECK:         %[[ZEROS:.+]] = linalg.fill ins(%{{.+}} : i64) outs(%{{.+}} : tensor<?x1xi64>)
// CHECK:         %[[LOOP:.+]]:2 = scf.for %[[IV:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:.+]] = %[[ZEROS]], %[[RES:.+]] = %[[X]])
// CHECK:           %[[LAST:.+]] = arith.subi
// CHECK:           %[[POS:.+]] = arith.subi %[[LAST]], %[[IV]]
// CHECK:           %[[SLICE:.+]] = tensor.extract_slice %[[RES]][0, %[[POS]]] [%{{.+}}, 1] [1, 1]
// CHECK:           %[[NEW:.+]]:2 = linalg.generic
// CHECK-SAME:        outs(%[[ACC]], %[[SLICE]] : tensor<?x1xi64>, tensor<?x1xi64>)
// CHECK:           ^bb0(%[[A:.+]]: i64, %[[V:.+]]: i64):
// CHECK:             %[[S:.+]] = arith.addi %[[A]], %[[V]] : i64
// CHECK:             linalg.yield %[[S]], %[[A]] : i64, i64
// CHECK:           %[[INS:.+]] = tensor.insert_slice %[[NEW]]#1 into %[[RES]][0, %[[POS]]]
// CHECK:           scf.yield %[[NEW]]#0, %[[INS]]
// CHECK:         return %[[LOOP]]#1
func.func @cum_sum_exclusive_reverse(%a: tensor<?x4xi64>) -> tensor<?x4xi64> {
  %axis = tessel.constant dense<-1> : tensor<i32>
  %0 = tessel.cum_sum %a, %axis {exclusive = 1 : i64, reverse = 1 : i64} : (tensor<?x4xi64>, tensor<i32>) -> tensor<?x4xi64>
  return %0 : tensor<?x4xi64>
}

// -----

// CHECK-LABEL: func.func @cum_sum_inclusive
// CHECK:         scf.for
// CHECK-NOT:       arith.subi
// CHECK:           ^bb0(%[[A:.+]]: f32, %[[V:.+]]: f32):
// CHECK:             %[[S:.+]] = arith.addf %[[A]], %[[V]] : f32
// CHECK:             linalg.yield %[[S]], %[[S]] : f32, f32
func.func @cum_sum_inclusive(%a: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %axis = tessel.constant dense<0> : tensor<i64>
  %0 = tessel.cum_sum %a, %axis : (tensor<?x4xf32>, tensor<i64>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// max-reduce, exp(x - max), sum-reduce, divide. The max is not clamped: a row
// of -inf gives NaN like ONNX Runtime.
// CHECK-LABEL: func.func @softmax
// CHECK-SAME:    (%[[X:.+]]: tensor<?x8xf32>)
// CHECK:         %[[MAX:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "reduction"]
// CHECK-SAME:      ins(%[[X]] : tensor<?x8xf32>)
// CHECK:           arith.maximumf
// CHECK:         %[[EXP:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel"]
// CHECK-SAME:      ins(%[[X]], %[[MAX]] : tensor<?x8xf32>, tensor<?xf32>)
// CHECK:           %[[D:.+]] = arith.subf
// CHECK:           math.exp %[[D]]
// CHECK:         %[[SUM:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[EXP]] : tensor<?x8xf32>)
// CHECK:           arith.addf
// CHECK:         %[[Y:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[EXP]], %[[SUM]] : tensor<?x8xf32>, tensor<?xf32>)
// CHECK:           arith.divf
// CHECK:         return %[[Y]]
func.func @softmax(%a: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = tessel.softmax %a : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// log_softmax along a leading axis of f16: the sum of exps is taken in f32.
// CHECK-LABEL: func.func @log_softmax_f16_axis0
// CHECK:         %[[MAX:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["reduction", "parallel"]
// CHECK:         } -> tensor<8xf16>
// CHECK:         %[[SUM:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["reduction", "parallel"]
// CHECK:           arith.extf
// CHECK:           math.exp
// CHECK:         } -> tensor<8xf32>
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%{{.+}}, %[[MAX]], %[[SUM]] : tensor<?x8xf16>, tensor<8xf16>, tensor<8xf32>)
// CHECK:           %[[LOG:.+]] = math.log
// CHECK:           %[[Z:.+]] = arith.subf %{{.+}}, %[[LOG]] : f32
// CHECK:           arith.truncf %[[Z]] : f32 to f16
func.func @log_softmax_f16_axis0(%a: tensor<?x8xf16>) -> tensor<?x8xf16> {
  %0 = tessel.log_softmax %a {axis = 0 : i64} : (tensor<?x8xf16>) -> tensor<?x8xf16>
  return %0 : tensor<?x8xf16>
}

// -----

// Mean, two-pass variance, 1/sqrt(var + eps), then scale and bias read
// along the normalised dim.
// CHECK-DAG:   #[[ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG:   #[[ROW:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG:   #[[LAST:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @layer_norm
// CHECK-SAME:    (%[[X:.+]]: tensor<?x?x8xf32>, %[[S:.+]]: tensor<8xf32>, %[[B:.+]]: tensor<8xf32>)
// CHECK:         %[[SUM:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:         %[[MEAN:.+]] = linalg.generic
// CHECK:           arith.divf
// CHECK:         %[[VAR:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[X]], %[[MEAN]] : tensor<?x?x8xf32>, tensor<?x?xf32>)
// CHECK:           arith.subf
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         %[[EPS:.+]] = arith.constant 9.99999974E-6 : f32
// CHECK:         %[[RSTD:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[VAR]] : tensor<?x?xf32>)
// CHECK:           arith.addf %{{.+}}, %[[EPS]]
// CHECK:           math.sqrt
// CHECK:         linalg.generic
// CHECK-SAME:      indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]], #[[LAST]], #[[LAST]], #[[ID]]]
// CHECK-SAME:      ins(%[[X]], %[[MEAN]], %[[RSTD]], %[[S]], %[[B]] :
func.func @layer_norm(%x: tensor<?x?x8xf32>, %s: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<?x?x8xf32> {
  %0 = tessel.layer_normalization %x, %s, %b : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  return %0 : tensor<?x?x8xf32>
}

// -----

// bf16 is normalised in f32; a 1-sized scale dim is broadcast.
// CHECK-DAG:   #[[SCALE:.+]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-LABEL: func.func @layer_norm_bf16_axis1
// CHECK:         linalg.generic
// CHECK:           arith.extf %{{.+}} : bf16 to f32
// CHECK:         linalg.generic {indexing_maps = [{{.*}}#[[SCALE]]
// CHECK:           arith.truncf %{{.+}} : f32 to bf16
func.func @layer_norm_bf16_axis1(%x: tensor<?x3x8xbf16>, %s: tensor<3x1xbf16>) -> tensor<?x3x8xbf16> {
  %0 = tessel.layer_normalization %x, %s {axis = 1 : i64} : (tensor<?x3x8xbf16>, tensor<3x1xbf16>) -> tensor<?x3x8xbf16>
  return %0 : tensor<?x3x8xbf16>
}

// -----

// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME:    (%[[X:.+]]: tensor<?x?x8xf16>, %[[S:.+]]: tensor<8xf16>)
// CHECK:         %[[SQ:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:           %[[V:.+]] = arith.extf %{{.+}} : f16 to f32
// CHECK:           arith.mulf %[[V]], %[[V]]
// CHECK:         %[[RSTD:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[SQ]] : tensor<?x?xf32>)
// CHECK:           math.sqrt
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[X]], %[[RSTD]], %[[S]] :
// CHECK:           arith.truncf %{{.+}} : f32 to f16
func.func @rms_norm(%x: tensor<?x?x8xf16>, %s: tensor<8xf16>) -> tensor<?x?x8xf16> {
  %0 = tessel.rms_normalization %x, %s : (tensor<?x?x8xf16>, tensor<8xf16>) -> tensor<?x?x8xf16>
  return %0 : tensor<?x?x8xf16>
}

// -----

// The axis must be known at compile time.
func.func @cum_sum_dynamic_axis(%a: tensor<?x4xf32>, %axis: tensor<i64>) -> tensor<?x4xf32> {
  // expected-error @+1 {{failed to legalize operation 'tessel.cum_sum'}}
  %0 = tessel.cum_sum %a, %axis : (tensor<?x4xf32>, tensor<i64>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

func.func @reduce_sum_bool(%a: tensor<?x4xi1>) -> tensor<?x1xi1> {
  // expected-error @+1 {{failed to legalize operation 'tessel.reduce_sum'}}
  %0 = tessel.reduce_sum %a {axes = array<i64: 1>} : (tensor<?x4xi1>) -> tensor<?x1xi1>
  return %0 : tensor<?x1xi1>
}

// -----

func.func @softmax_unranked(%a: tensor<*xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{failed to legalize operation 'tessel.softmax'}}
  %0 = tessel.softmax %a : (tensor<*xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
