// RUN: tessel-opt %s -tessel-expand-composite-ops -split-input-file | FileCheck %s

//===----------------------------------------------------------------------===//
// tessel.attention
//===----------------------------------------------------------------------===//

// 4-D MHA: softmax(q x k^T * 1/sqrt(16)) x v.
// CHECK-LABEL: func.func @attention_mha
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<2x4x8x16xf32>, %[[K:[^:]+]]: tensor<2x4x8x16xf32>, %[[V:[^:]+]]: tensor<2x4x8x16xf32>)
// CHECK:         %[[SCALE:.+]] = tessel.constant dense<2.500000e-01> : tensor<f32>
// CHECK:         %[[KT:.+]] = tessel.transpose %[[K]] {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x8x16xf32>) -> tensor<2x4x16x8xf32>
// CHECK:         %[[QK:.+]] = tessel.matmul %[[Q]], %[[KT]] : (tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x8x8xf32>
// CHECK:         %[[S:.+]] = tessel.mul %[[QK]], %[[SCALE]]
// CHECK:         %[[P:.+]] = tessel.softmax %[[S]] : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
// CHECK:         %[[Y:.+]] = tessel.matmul %[[P]], %[[V]] : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
// CHECK-NEXT:    return %[[Y]]
// CHECK-NOT:     tessel.attention
func.func @attention_mha(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  %0 = tessel.attention %q, %k, %v : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// -----

// GQA 8/2: each kv head is repeated 4 times in a row (unsqueeze, expand,
// reshape); dynamic batch and sequence dims are kept by Reshape's 0 / -1.
// CHECK-LABEL: func.func @attention_gqa
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x8x?x64xf32>, %[[K:[^:]+]]: tensor<?x2x?x64xf32>, %[[V:[^:]+]]: tensor<?x2x?x64xf32>)
// CHECK-DAG:     %[[SCALE:.+]] = tessel.constant dense<1.250000e-01> : tensor<f32>
// CHECK-DAG:     %[[REPS:.+]] = tessel.constant dense<[1, 1, 4, 1, 1]> : tensor<5xi64>
// CHECK-DAG:     %[[SHAPE:.+]] = tessel.constant dense<[0, 8, -1, 64]> : tensor<4xi64>
// CHECK:         %[[K5:.+]] = tessel.unsqueeze %[[K]] {axes = array<i64: 2>} : (tensor<?x2x?x64xf32>) -> tensor<?x2x1x?x64xf32>
// CHECK:         %[[KE:.+]] = tessel.expand %[[K5]], %[[REPS]] : (tensor<?x2x1x?x64xf32>, tensor<5xi64>) -> tensor<?x2x4x?x64xf32>
// CHECK:         %[[KR:.+]] = tessel.reshape %[[KE]], %[[SHAPE]] : (tensor<?x2x4x?x64xf32>, tensor<4xi64>) -> tensor<?x8x?x64xf32>
// CHECK:         %[[V5:.+]] = tessel.unsqueeze %[[V]] {axes = array<i64: 2>}
// CHECK:         %[[VE:.+]] = tessel.expand %[[V5]], %[[REPS]]
// CHECK:         %[[VR:.+]] = tessel.reshape %[[VE]], %[[SHAPE]] : (tensor<?x2x4x?x64xf32>, tensor<4xi64>) -> tensor<?x8x?x64xf32>
// CHECK:         %[[KT:.+]] = tessel.transpose %[[KR]] {perm = array<i64: 0, 1, 3, 2>}
// CHECK:         %[[QK:.+]] = tessel.matmul %[[Q]], %[[KT]] : (tensor<?x8x?x64xf32>, tensor<?x8x64x?xf32>) -> tensor<?x8x?x?xf32>
// CHECK:         %[[S:.+]] = tessel.mul %[[QK]], %[[SCALE]]
// CHECK:         %[[P:.+]] = tessel.softmax %[[S]]
// CHECK:         %[[Y:.+]] = tessel.matmul %[[P]], %[[VR]] : (tensor<?x8x?x?xf32>, tensor<?x8x?x64xf32>) -> tensor<?x8x?x64xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @attention_gqa(%q: tensor<?x8x?x64xf32>, %k: tensor<?x2x?x64xf32>, %v: tensor<?x2x?x64xf32>) -> tensor<?x8x?x64xf32> {
  %0 = tessel.attention %q, %k, %v : (tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>) -> tensor<?x8x?x64xf32>
  return %0 : tensor<?x8x?x64xf32>
}

// -----

// GQA with a dynamic head dim: the reshape target comes from k's shape.
// CHECK-LABEL: func.func @attention_gqa_dynamic_head_dim
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x4x?x?xf32>, %[[K:[^:]+]]: tensor<1x2x?x?xf32>
// CHECK-DAG:     %[[PREFIX:.+]] = tessel.constant dense<[0, 4]> : tensor<2xi64>
// CHECK:         %[[KE:.+]] = tessel.expand
// CHECK:         %[[KDIMS:.+]] = tessel.shape %[[K]] {end = 4 : i64, start = 2 : i64}
// CHECK:         %[[KSHAPE:.+]] = tessel.concat %[[PREFIX]], %[[KDIMS]] {axis = 0 : i64}
// CHECK:         tessel.reshape %[[KE]], %[[KSHAPE]] : (tensor<1x2x2x?x?xf32>, tensor<4xi64>) -> tensor<1x4x?x?xf32>
func.func @attention_gqa_dynamic_head_dim(%q: tensor<1x4x?x?xf32>, %k: tensor<1x2x?x?xf32>, %v: tensor<1x2x?x?xf32>) -> tensor<1x4x?x?xf32> {
  %0 = tessel.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<1x4x?x?xf32>, tensor<1x2x?x?xf32>, tensor<1x2x?x?xf32>) -> tensor<1x4x?x?xf32>
  return %0 : tensor<1x4x?x?xf32>
}

// -----

// 3-D q/k/v: [B, S, H*D] -> [B, H, S, D] and back; GQA 4/2, explicit scale.
// CHECK-LABEL: func.func @attention_3d
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x?x64xf16>, %[[K:[^:]+]]: tensor<?x?x32xf16>, %[[V:[^:]+]]: tensor<?x?x32xf16>)
// CHECK-DAG:     %[[OUT:.+]] = tessel.constant dense<[0, 0, -1]> : tensor<3xi64>
// CHECK-DAG:     %[[SCALE:.+]] = tessel.constant dense<5.000000e-01> : tensor<f16>
// CHECK-DAG:     %[[KVSPLIT:.+]] = tessel.constant dense<[0, 0, 2, 16]> : tensor<4xi64>
// CHECK-DAG:     %[[QSPLIT:.+]] = tessel.constant dense<[0, 0, 4, 16]> : tensor<4xi64>
// CHECK:         %[[Q4:.+]] = tessel.reshape %[[Q]], %[[QSPLIT]] : (tensor<?x?x64xf16>, tensor<4xi64>) -> tensor<?x?x4x16xf16>
// CHECK:         %[[QH:.+]] = tessel.transpose %[[Q4]] {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x?x4x16xf16>) -> tensor<?x4x?x16xf16>
// CHECK:         %[[K4:.+]] = tessel.reshape %[[K]], %[[KVSPLIT]] : (tensor<?x?x32xf16>, tensor<4xi64>) -> tensor<?x?x2x16xf16>
// CHECK:         tessel.transpose %[[K4]] {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x?x2x16xf16>) -> tensor<?x2x?x16xf16>
// CHECK:         %[[V4:.+]] = tessel.reshape %[[V]], %[[KVSPLIT]]
// CHECK:         tessel.transpose %[[V4]] {perm = array<i64: 0, 2, 1, 3>}
// CHECK-COUNT-2: tessel.expand
// CHECK:         %[[QK:.+]] = tessel.matmul %[[QH]], %{{.+}} : (tensor<?x4x?x16xf16>, tensor<?x4x16x?xf16>) -> tensor<?x4x?x?xf16>
// CHECK:         tessel.mul %[[QK]], %[[SCALE]]
// CHECK:         %[[PV:.+]] = tessel.matmul %{{.+}}, %{{.+}} : (tensor<?x4x?x?xf16>, tensor<?x4x?x16xf16>) -> tensor<?x4x?x16xf16>
// CHECK:         %[[T:.+]] = tessel.transpose %[[PV]] {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x4x?x16xf16>) -> tensor<?x?x4x16xf16>
// CHECK:         %[[Y:.+]] = tessel.reshape %[[T]], %[[OUT]] : (tensor<?x?x4x16xf16>, tensor<3xi64>) -> tensor<?x?x64xf16>
// CHECK-NEXT:    return %[[Y]]
func.func @attention_3d(%q: tensor<?x?x64xf16>, %k: tensor<?x?x32xf16>, %v: tensor<?x?x32xf16>) -> tensor<?x?x64xf16> {
  %0 = tessel.attention %q, %k, %v {q_num_heads = 4 : i64, kv_num_heads = 2 : i64, scale = 0.5 : f32} : (tensor<?x?x64xf16>, tensor<?x?x32xf16>, tensor<?x?x32xf16>) -> tensor<?x?x64xf16>
  return %0 : tensor<?x?x64xf16>
}

// -----

// A boolean mask keeps the scores where true, -inf elsewhere.
// CHECK-LABEL: func.func @attention_bool_mask
// CHECK-SAME:    %[[M:[^:]+]]: tensor<?x1x?x?xi1>
// CHECK-DAG:     %[[NEGINF:.+]] = tessel.constant dense<0xFF800000> : tensor<f32>
// CHECK:         %[[S:.+]] = tessel.mul
// CHECK:         %[[MASKED:.+]] = tessel.where %[[M]], %[[S]], %[[NEGINF]] : (tensor<?x1x?x?xi1>, tensor<?x4x?x?xf32>, tensor<f32>) -> tensor<?x4x?x?xf32>
// CHECK:         tessel.softmax %[[MASKED]]
func.func @attention_bool_mask(%q: tensor<?x4x?x8xf32>, %k: tensor<?x4x?x8xf32>, %v: tensor<?x4x?x8xf32>, %m: tensor<?x1x?x?xi1>) -> tensor<?x4x?x8xf32> {
  %0 = tessel.attention %q, %k, %v, %m : (tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x1x?x?xi1>) -> tensor<?x4x?x8xf32>
  return %0 : tensor<?x4x?x8xf32>
}

// -----

// A float mask is added to the scores.
// CHECK-LABEL: func.func @attention_float_mask
// CHECK-SAME:    %[[M:[^:]+]]: tensor<8x8xf32>
// CHECK:         %[[S:.+]] = tessel.mul
// CHECK:         %[[MASKED:.+]] = tessel.add %[[S]], %[[M]] : (tensor<1x2x8x8xf32>, tensor<8x8xf32>) -> tensor<1x2x8x8xf32>
// CHECK:         tessel.softmax %[[MASKED]]
func.func @attention_float_mask(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %m: tensor<8x8xf32>) -> tensor<1x2x8x4xf32> {
  %0 = tessel.attention %q, %k, %v, %m : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<8x8xf32>) -> tensor<1x2x8x4xf32>
  return %0 : tensor<1x2x8x4xf32>
}

// -----

// A mask shorter than the keys is padded with -inf (ONNX); with scale 1 no
// mul is emitted.
// CHECK-LABEL: func.func @attention_short_mask
// CHECK-SAME:    %[[M:[^:]+]]: tensor<3x4xf32>
// CHECK-DAG:     %[[PADS:.+]] = tessel.constant dense<[0, 0, 0, 2]> : tensor<4xi64>
// CHECK-DAG:     %[[NEGINF:.+]] = tessel.constant dense<0xFF800000> : tensor<f32>
// CHECK:         %[[QK:.+]] = tessel.matmul
// CHECK-NOT:     tessel.mul
// CHECK:         %[[PADDED:.+]] = tessel.pad %[[M]], %[[PADS]], %[[NEGINF]] {{.*}}-> tensor<3x6xf32>
// CHECK:         tessel.add %[[QK]], %[[PADDED]]
func.func @attention_short_mask(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x6x4xf32>, %v: tensor<1x2x6x4xf32>, %m: tensor<3x4xf32>) -> tensor<1x2x3x4xf32> {
  %0 = tessel.attention %q, %k, %v, %m {scale = 1.0 : f32} : (tensor<1x2x3x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<3x4xf32>) -> tensor<1x2x3x4xf32>
  return %0 : tensor<1x2x3x4xf32>
}

// -----

// Static causal: a constant mask, queries aligned to the end of the keys
// (query i sees keys j <= i + 2).
// CHECK-LABEL: func.func @attention_causal_static
// CHECK-DAG:     %[[CAUSAL:.+]] = tessel.constant dense<{{\[}}[true, true, true, false, false], [true, true, true, true, false], [true, true, true, true, true]]> : tensor<3x5xi1>
// CHECK-DAG:     %[[NEGINF:.+]] = tessel.constant dense<0xFF800000> : tensor<f32>
// CHECK:         %[[S:.+]] = tessel.mul
// CHECK:         %[[MASKED:.+]] = tessel.where %[[CAUSAL]], %[[S]], %[[NEGINF]] : (tensor<3x5xi1>, tensor<1x2x3x5xf32>, tensor<f32>) -> tensor<1x2x3x5xf32>
// CHECK:         tessel.softmax %[[MASKED]]
func.func @attention_causal_static(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32> {
  %0 = tessel.attention %q, %k, %v {is_causal = 1 : i64} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32>
  return %0 : tensor<1x2x3x4xf32>
}

// -----

// Dynamic causal, after a float mask: range / less_or_equal on the run-time
// sequence lengths.
// CHECK-LABEL: func.func @attention_causal_dynamic
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x2x?x8xf32>, %[[K:[^:]+]]: tensor<1x2x?x8xf32>, %{{.+}}: tensor<1x2x?x8xf32>, %[[M:[^:]+]]: tensor<1x1x?x?xf32>)
// CHECK-DAG:     %[[ZERO:.+]] = tessel.constant dense<0> : tensor<i64>
// CHECK-DAG:     %[[ONE:.+]] = tessel.constant dense<1> : tensor<i64>
// CHECK-DAG:     %[[NEGINF:.+]] = tessel.constant dense<0xFF800000> : tensor<f32>
// CHECK:         %[[ADDED:.+]] = tessel.add %{{.+}}, %[[M]]
// CHECK:         %[[SQ1:.+]] = tessel.shape %[[Q]] {end = 3 : i64, start = 2 : i64}
// CHECK:         %[[SQ:.+]] = tessel.squeeze %[[SQ1]] {axes = array<i64: 0>} : (tensor<1xi64>) -> tensor<i64>
// CHECK:         %[[SKV1:.+]] = tessel.shape %[[K]] {end = 3 : i64, start = 2 : i64}
// CHECK:         %[[SKV:.+]] = tessel.squeeze %[[SKV1]]
// CHECK-DAG:     %[[ROWS:.+]] = tessel.range %[[ZERO]], %[[SQ]], %[[ONE]] : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
// CHECK-DAG:     %[[COLS:.+]] = tessel.range %[[ZERO]], %[[SKV]], %[[ONE]]
// CHECK-DAG:     %[[ROWS2:.+]] = tessel.unsqueeze %[[ROWS]] {axes = array<i64: 1>} : (tensor<?xi64>) -> tensor<?x1xi64>
// CHECK-DAG:     %[[OFFSET:.+]] = tessel.sub %[[SKV]], %[[SQ]]
// CHECK:         %[[LAST:.+]] = tessel.add %[[ROWS2]], %[[OFFSET]]
// CHECK:         %[[ALLOWED:.+]] = tessel.less_or_equal %[[COLS]], %[[LAST]] : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
// CHECK:         %[[MASKED:.+]] = tessel.where %[[ALLOWED]], %[[ADDED]], %[[NEGINF]]
// CHECK:         tessel.softmax %[[MASKED]]
func.func @attention_causal_dynamic(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>, %m: tensor<1x1x?x?xf32>) -> tensor<1x2x?x8xf32> {
  %0 = tessel.attention %q, %k, %v, %m {is_causal = 1 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x1x?x?xf32>) -> tensor<1x2x?x8xf32>
  return %0 : tensor<1x2x?x8xf32>
}

// -----

// Softcap: c * tanh(scores / c), before the mask.
// CHECK-LABEL: func.func @attention_softcap
// CHECK-SAME:    %[[M:[^:]+]]: tensor<1x1x4x4xi1>
// CHECK-DAG:     %[[CAP:.+]] = tessel.constant dense<5.000000e+01> : tensor<f32>
// CHECK:         %[[S:.+]] = tessel.mul
// CHECK:         %[[D:.+]] = tessel.div %[[S]], %[[CAP]]
// CHECK:         %[[T:.+]] = tessel.tanh %[[D]]
// CHECK:         %[[C:.+]] = tessel.mul %[[T]], %[[CAP]]
// CHECK:         tessel.where %[[M]], %[[C]], %{{.+}}
func.func @attention_softcap(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %m: tensor<1x1x4x4xi1>) -> tensor<1x2x4x8xf32> {
  %0 = tessel.attention %q, %k, %v, %m {softcap = 50.0 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x4xi1>) -> tensor<1x2x4x8xf32>
  return %0 : tensor<1x2x4x8xf32>
}

// -----

// fully_masked_rows = "zero": where(is_nan(p), 0, p) before p x v, as the
// exported graphs that guard the probabilities compute it.
// CHECK-LABEL: func.func @attention_fully_masked_rows_zero
// CHECK-SAME:    %[[V:[^:]+]]: tensor<1x2x4x8xf32>, %[[M:[^:]+]]: tensor<1x1x4x4xf32>)
// CHECK-DAG:     %[[ZERO:.+]] = tessel.constant dense<0.000000e+00> : tensor<f32>
// CHECK:         %[[P:.+]] = tessel.softmax
// CHECK-NEXT:    %[[NAN:.+]] = tessel.is_nan %[[P]] : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xi1>
// CHECK-NEXT:    %[[G:.+]] = tessel.where %[[NAN]], %[[ZERO]], %[[P]] : (tensor<1x2x4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
// CHECK-NEXT:    %[[Y:.+]] = tessel.matmul %[[G]], %[[V]]
// CHECK-NEXT:    return %[[Y]]
func.func @attention_fully_masked_rows_zero(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %m: tensor<1x1x4x4xf32>) -> tensor<1x2x4x8xf32> {
  %0 = tessel.attention %q, %k, %v, %m {fully_masked_rows = "zero"} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x8xf32>
  return %0 : tensor<1x2x4x8xf32>
}

// -----

// A static sliding window (left 1, right 0) with 3 queries aligned to the
// end of 5 keys: query i (i' = i + 2) sees keys i' - 1 .. i'.
// CHECK-LABEL: func.func @attention_window_static
// CHECK-DAG:     %[[WINDOW:.+]] = tessel.constant dense<{{\[}}[false, true, true, false, false], [false, false, true, true, false], [false, false, false, true, true]]> : tensor<3x5xi1>
// CHECK-DAG:     %[[NEGINF:.+]] = tessel.constant dense<0xFF800000> : tensor<f32>
// CHECK:         %[[S:.+]] = tessel.mul
// CHECK:         %[[MASKED:.+]] = tessel.where %[[WINDOW]], %[[S]], %[[NEGINF]] : (tensor<3x5xi1>, tensor<1x2x3x5xf32>, tensor<f32>) -> tensor<1x2x3x5xf32>
// CHECK:         tessel.softmax %[[MASKED]]
func.func @attention_window_static(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32> {
  %0 = tessel.attention %q, %k, %v {window_left = 1 : i64, window_right = 0 : i64} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32>
  return %0 : tensor<1x2x3x4xf32>
}

// -----

// Causal plus a left window on dynamic lengths: one comparison per limit,
// combined with and.
// CHECK-LABEL: func.func @attention_causal_window_dynamic
// CHECK-DAG:     %[[LEFT:.+]] = tessel.constant dense<2> : tensor<i64>
// CHECK-DAG:     %[[NEGINF:.+]] = tessel.constant dense<0xFF800000> : tensor<f32>
// CHECK:         %[[ROWS:.+]] = tessel.range
// CHECK:         %[[COLS:.+]] = tessel.range
// CHECK-DAG:     %[[ROWS2:.+]] = tessel.unsqueeze %[[ROWS]] {axes = array<i64: 1>}
// CHECK:         %[[LAST:.+]] = tessel.add %[[ROWS2]], %{{.+}} : (tensor<?x1xi64>, tensor<i64>) -> tensor<?x1xi64>
// CHECK:         %[[CAUSAL:.+]] = tessel.less_or_equal %[[COLS]], %[[LAST]] : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
// CHECK:         %[[FIRST:.+]] = tessel.sub %[[LAST]], %[[LEFT]] : (tensor<?x1xi64>, tensor<i64>) -> tensor<?x1xi64>
// CHECK:         %[[INLEFT:.+]] = tessel.greater_or_equal %[[COLS]], %[[FIRST]] : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
// CHECK:         %[[BOTH:.+]] = tessel.and %[[CAUSAL]], %[[INLEFT]] : (tensor<?x?xi1>, tensor<?x?xi1>) -> tensor<?x?xi1>
// CHECK:         %[[MASKED:.+]] = tessel.where %[[BOTH]], %{{.+}}, %[[NEGINF]]
// CHECK:         tessel.softmax %[[MASKED]]
func.func @attention_causal_window_dynamic(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %0 = tessel.attention %q, %k, %v {is_causal = 1 : i64, window_left = 2 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %0 : tensor<1x2x?x8xf32>
}

// -----

// Unranked operands: nothing to expand against.
// CHECK-LABEL: func.func @attention_unranked
// CHECK:         tessel.attention
func.func @attention_unranked(%q: tensor<*xf32>, %k: tensor<*xf32>, %v: tensor<*xf32>) -> tensor<*xf32> {
  %0 = tessel.attention %q, %k, %v : (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

// Dynamic head counts: MHA and GQA cannot be told apart.
// CHECK-LABEL: func.func @attention_dynamic_heads
// CHECK:         tessel.attention
func.func @attention_dynamic_heads(%q: tensor<1x?x4x8xf32>, %k: tensor<1x?x4x8xf32>, %v: tensor<1x?x4x8xf32>) -> tensor<1x?x4x8xf32> {
  %0 = tessel.attention %q, %k, %v : (tensor<1x?x4x8xf32>, tensor<1x?x4x8xf32>, tensor<1x?x4x8xf32>) -> tensor<1x?x4x8xf32>
  return %0 : tensor<1x?x4x8xf32>
}

// -----

// No scale and a dynamic head dim: the default scale is unknown.
// CHECK-LABEL: func.func @attention_default_scale_dynamic_head_dim
// CHECK:         tessel.attention
func.func @attention_default_scale_dynamic_head_dim(%q: tensor<1x2x4x?xf32>, %k: tensor<1x2x4x?xf32>, %v: tensor<1x2x4x?xf32>) -> tensor<1x2x4x?xf32> {
  %0 = tessel.attention %q, %k, %v : (tensor<1x2x4x?xf32>, tensor<1x2x4x?xf32>, tensor<1x2x4x?xf32>) -> tensor<1x2x4x?xf32>
  return %0 : tensor<1x2x4x?xf32>
}

// -----

// A mask that does not broadcast onto the scores fails half-way: everything
// built so far is erased and the op stays (the pass itself succeeds).
// CHECK-LABEL: func.func @attention_bad_mask
// CHECK-NOT:     tessel.matmul
// CHECK:         tessel.attention
// CHECK-NOT:     tessel.matmul
func.func @attention_bad_mask(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>, %m: tensor<3x7xf32>) -> tensor<1x2x3x4xf32> {
  %0 = tessel.attention %q, %k, %v, %m : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>, tensor<3x7xf32>) -> tensor<1x2x3x4xf32>
  return %0 : tensor<1x2x3x4xf32>
}

//===----------------------------------------------------------------------===//
// tessel.rms_normalization
//===----------------------------------------------------------------------===//

// -----

// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<?x?x64xf32>, %[[W:[^:]+]]: tensor<64xf32>)
// CHECK-DAG:     %[[EPS:.+]] = tessel.constant dense<9.99999997E-7> : tensor<f32>
// CHECK:         %[[SQ:.+]] = tessel.mul %[[X]], %[[X]]
// CHECK:         %[[MEAN:.+]] = tessel.reduce_mean %[[SQ]] {axes = array<i64: 2>} : (tensor<?x?x64xf32>) -> tensor<?x?x1xf32>
// CHECK:         %[[ADD:.+]] = tessel.add %[[MEAN]], %[[EPS]]
// CHECK:         %[[RMS:.+]] = tessel.sqrt %[[ADD]]
// CHECK:         %[[INV:.+]] = tessel.reciprocal %[[RMS]]
// CHECK:         %[[N:.+]] = tessel.mul %[[X]], %[[INV]] : (tensor<?x?x64xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xf32>
// CHECK:         %[[Y:.+]] = tessel.mul %[[N]], %[[W]] : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @rms_norm(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %0 = tessel.rms_normalization %x, %w {epsilon = 1.0e-6 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// f16 with stash_type 1: statistics in f32, scale applied in f16; axis 1
// normalises the last two dims.
// CHECK-LABEL: func.func @rms_norm_f16
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<2x4x8xf16>, %[[W:[^:]+]]: tensor<4x8xf16>)
// CHECK:         %[[X32:.+]] = tessel.cast %[[X]] {to = f32} : (tensor<2x4x8xf16>) -> tensor<2x4x8xf32>
// CHECK:         %[[SQ:.+]] = tessel.mul %[[X32]], %[[X32]]
// CHECK:         tessel.reduce_mean %[[SQ]] {axes = array<i64: 1, 2>} : (tensor<2x4x8xf32>) -> tensor<2x1x1xf32>
// CHECK:         %[[N:.+]] = tessel.mul %[[X32]], %{{.+}} : (tensor<2x4x8xf32>, tensor<2x1x1xf32>) -> tensor<2x4x8xf32>
// CHECK:         %[[N16:.+]] = tessel.cast %[[N]] {to = f16} : (tensor<2x4x8xf32>) -> tensor<2x4x8xf16>
// CHECK:         %[[Y:.+]] = tessel.mul %[[N16]], %[[W]] : (tensor<2x4x8xf16>, tensor<4x8xf16>) -> tensor<2x4x8xf16>
// CHECK-NEXT:    return %[[Y]]
func.func @rms_norm_f16(%x: tensor<2x4x8xf16>, %w: tensor<4x8xf16>) -> tensor<2x4x8xf16> {
  %0 = tessel.rms_normalization %x, %w {axis = 1 : i64} : (tensor<2x4x8xf16>, tensor<4x8xf16>) -> tensor<2x4x8xf16>
  return %0 : tensor<2x4x8xf16>
}

// -----

// CHECK-LABEL: func.func @rms_norm_unranked
// CHECK:         tessel.rms_normalization
func.func @rms_norm_unranked(%x: tensor<*xf32>, %w: tensor<64xf32>) -> tensor<*xf32> {
  %0 = tessel.rms_normalization %x, %w : (tensor<*xf32>, tensor<64xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

//===----------------------------------------------------------------------===//
// tessel.gemm
//===----------------------------------------------------------------------===//

// -----

// CHECK-LABEL: func.func @gemm_trans_alpha_beta
// CHECK-SAME:    (%[[A:[^:]+]]: tensor<4x3xf32>, %[[B:[^:]+]]: tensor<5x4xf32>, %[[C:[^:]+]]: tensor<5xf32>)
// CHECK-DAG:     %[[ALPHA:.+]] = tessel.constant dense<2.000000e+00> : tensor<f32>
// CHECK-DAG:     %[[BETA:.+]] = tessel.constant dense<5.000000e-01> : tensor<f32>
// CHECK:         %[[AT:.+]] = tessel.transpose %[[A]] {perm = array<i64: 1, 0>} : (tensor<4x3xf32>) -> tensor<3x4xf32>
// CHECK:         %[[BT:.+]] = tessel.transpose %[[B]] {perm = array<i64: 1, 0>} : (tensor<5x4xf32>) -> tensor<4x5xf32>
// CHECK:         %[[AB:.+]] = tessel.matmul %[[AT]], %[[BT]] : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
// CHECK:         %[[SAB:.+]] = tessel.mul %[[AB]], %[[ALPHA]]
// CHECK:         %[[SC:.+]] = tessel.mul %[[C]], %[[BETA]]
// CHECK:         %[[Y:.+]] = tessel.add %[[SAB]], %[[SC]] : (tensor<3x5xf32>, tensor<5xf32>) -> tensor<3x5xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @gemm_trans_alpha_beta(%a: tensor<4x3xf32>, %b: tensor<5x4xf32>, %c: tensor<5xf32>) -> tensor<3x5xf32> {
  %0 = tessel.gemm %a, %b, %c {transA = 1 : i64, transB = 1 : i64, alpha = 2.0 : f32, beta = 0.5 : f32} : (tensor<4x3xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

// The Linear pattern: transB, bias with beta 1.
// CHECK-LABEL: func.func @gemm_linear
// CHECK-SAME:    (%[[A:[^:]+]]: tensor<?x3xf32>, %[[B:[^:]+]]: tensor<5x3xf32>, %[[C:[^:]+]]: tensor<5xf32>)
// CHECK:         %[[BT:.+]] = tessel.transpose %[[B]] {perm = array<i64: 1, 0>}
// CHECK:         %[[AB:.+]] = tessel.matmul %[[A]], %[[BT]] : (tensor<?x3xf32>, tensor<3x5xf32>) -> tensor<?x5xf32>
// CHECK-NOT:     tessel.mul
// CHECK:         %[[Y:.+]] = tessel.add %[[AB]], %[[C]]
// CHECK-NEXT:    return %[[Y]]
func.func @gemm_linear(%a: tensor<?x3xf32>, %b: tensor<5x3xf32>, %c: tensor<5xf32>) -> tensor<?x5xf32> {
  %0 = tessel.gemm %a, %b, %c {transB = 1 : i64} : (tensor<?x3xf32>, tensor<5x3xf32>, tensor<5xf32>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}

// -----

// beta 0 drops C.
// CHECK-LABEL: func.func @gemm_beta_zero
// CHECK:         %[[AB:.+]] = tessel.matmul
// CHECK-NEXT:    return %[[AB]]
func.func @gemm_beta_zero(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>, %c: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = tessel.gemm %a, %b, %c {beta = 0.0 : f32} : (tensor<2x3xf32>, tensor<3x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @gemm_unranked
// CHECK:         tessel.gemm
func.func @gemm_unranked(%a: tensor<*xf32>, %b: tensor<3x5xf32>) -> tensor<*xf32> {
  %0 = tessel.gemm %a, %b : (tensor<*xf32>, tensor<3x5xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
