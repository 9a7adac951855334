// RUN: tessel-opt %s -convert-tessel-to-linalg -canonicalize -cse -split-input-file -verify-diagnostics | FileCheck %s

// tessel.rotary_embedding is one element-wise linalg.generic: each output
// element reads its rotate-half pair of x and the caches' cos/sin with
// tensor.extract.

// 4-D x, caches gathered by position_ids (a batch-1 ids tensor broadcasts;
// negative ids count from the end), rotate-half form, bf16 x with f32
// caches: the caches are converted to x's type.
// CHECK-LABEL: func.func @rotary_position_ids
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<?x4x?x16xbf16>, %[[COS:[^:]+]]: tensor<128x8xf32>, %[[SIN:[^:]+]]: tensor<128x8xf32>, %[[IDS:[^:]+]]: tensor<1x?xi64>)
// CHECK-DAG:     %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG:     %[[C128:.+]] = arith.constant 128 : index
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK:           %[[B:.+]] = linalg.index 0
// CHECK:           %[[H:.+]] = linalg.index 1
// CHECK:           %[[S:.+]] = linalg.index 2
// CHECK:           %[[D:.+]] = linalg.index 3
// CHECK:           %[[FIRST:.+]] = arith.cmpi ult, %[[D]], %[[C8]]
// CHECK:           %[[DM:.+]] = arith.subi %[[D]], %[[C8]]
// CHECK:           %[[I:.+]] = arith.select %[[FIRST]], %[[D]], %[[DM]]
// CHECK:           %[[X1:.+]] = tensor.extract %[[X]][%[[B]], %[[H]], %[[S]], %[[I]]]
// CHECK:           %[[IH:.+]] = arith.addi %[[I]], %[[C8]]
// CHECK:           %[[X2:.+]] = tensor.extract %[[X]][%[[B]], %[[H]], %[[S]], %[[IH]]]
// CHECK:           %[[ID:.+]] = tensor.extract %[[IDS]][%c0, %{{.+}}]
// CHECK:           %[[P:.+]] = arith.index_cast %[[ID]]
// CHECK:           %[[NEG:.+]] = arith.cmpi slt, %[[P]], %c0
// CHECK:           %[[WRAP:.+]] = arith.addi %[[P]], %[[C128]]
// CHECK:           %[[ROW:.+]] = arith.select %[[NEG]], %[[WRAP]], %[[P]]
// CHECK:           %[[CF:.+]] = tensor.extract %[[COS]][%[[ROW]], %[[I]]]
// CHECK:           %[[C:.+]] = arith.truncf %[[CF]] : f32 to bf16
// CHECK:           %[[SF:.+]] = tensor.extract %[[SIN]][%[[ROW]], %[[I]]]
// CHECK:           %[[SN:.+]] = arith.truncf %[[SF]] : f32 to bf16
// CHECK-DAG:       %[[A:.+]] = arith.mulf %[[C]], %[[X1]]
// CHECK-DAG:       %[[BB:.+]] = arith.mulf %[[SN]], %[[X2]]
// CHECK:           %[[REAL:.+]] = arith.subf %[[A]], %[[BB]]
// CHECK-DAG:       %[[E:.+]] = arith.mulf %[[SN]], %[[X1]]
// CHECK-DAG:       %[[F:.+]] = arith.mulf %[[C]], %[[X2]]
// CHECK:           %[[IMAG:.+]] = arith.addf %[[E]], %[[F]]
// CHECK:           %[[Y:.+]] = arith.select %[[FIRST]], %[[REAL]], %[[IMAG]]
// CHECK:           linalg.yield %[[Y]]
func.func @rotary_position_ids(%x: tensor<?x4x?x16xbf16>, %cos: tensor<128x8xf32>, %sin: tensor<128x8xf32>, %ids: tensor<1x?xi64>) -> tensor<?x4x?x16xbf16> {
  %0 = tessel.rotary_embedding %x, %cos, %sin, %ids : (tensor<?x4x?x16xbf16>, tensor<128x8xf32>, tensor<128x8xf32>, tensor<1x?xi64>) -> tensor<?x4x?x16xbf16>
  return %0 : tensor<?x4x?x16xbf16>
}

// -----

// 3-D x [B, S, H*D] without position_ids: the head's start is the last
// index minus its remainder by the head dim; the caches [1, ?, D/2]
// broadcast over the batch (static 1) and, when their dim is 1 at run
// time, over the positions.
// CHECK-LABEL: func.func @rotary_3d
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<?x?x64xf32>, %[[COS:[^:]+]]: tensor<1x?x8xf32>, %[[SIN:[^:]+]]: tensor<1x?x8xf32>)
// CHECK-DAG:     %[[C16:.+]] = arith.constant 16 : index
// CHECK:         linalg.generic
// CHECK:           %[[B:.+]] = linalg.index 0
// CHECK:           %[[S:.+]] = linalg.index 1
// CHECK:           %[[L:.+]] = linalg.index 2
// CHECK:           %[[D:.+]] = arith.remui %[[L]], %[[C16]]
// CHECK:           %[[BASE:.+]] = arith.subi %[[L]], %[[D]]
// CHECK:           %[[AT1:.+]] = arith.addi %[[BASE]], %{{.+}}
// CHECK:           tensor.extract %[[X]][%[[B]], %[[S]], %[[AT1]]]
// CHECK:           %[[SD:.+]] = tensor.dim %[[COS]], %c1
// CHECK:           %[[ONE:.+]] = arith.cmpi eq, %[[SD]], %c1
// CHECK:           %[[SC:.+]] = arith.select %[[ONE]], %c0, %[[S]]
// CHECK:           tensor.extract %[[COS]][%c0, %[[SC]], %{{.+}}]
// CHECK:           tensor.extract %[[SIN]][%c0, %{{.+}}, %{{.+}}]
// CHECK-NOT:     linalg.generic
func.func @rotary_3d(%x: tensor<?x?x64xf32>, %cos: tensor<1x?x8xf32>, %sin: tensor<1x?x8xf32>) -> tensor<?x?x64xf32> {
  %0 = tessel.rotary_embedding %x, %cos, %sin {num_heads = 4 : i64} : (tensor<?x?x64xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// Interleaved pairs (x[2i], x[2i+1]) on the first 8 of 16 dims: dims 8..16
// pass through (their pair index is clamped to 0, so every read stays in
// bounds).
// CHECK-LABEL: func.func @rotary_interleaved_partial
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<1x2x3x16xf32>
// CHECK:           %[[D:.+]] = linalg.index 3
// CHECK:           %[[ROT:.+]] = arith.cmpi ult, %[[D]], %c8
// CHECK:           %[[DR:.+]] = arith.select %[[ROT]], %[[D]], %c0
// CHECK:           %[[I:.+]] = arith.divui %[[DR]], %c2
// CHECK:           %[[EVEN:.+]] = arith.muli %[[I]], %c2
// CHECK:           %[[FIRST:.+]] = arith.cmpi eq, %[[DR]], %[[EVEN]]
// CHECK:           tensor.extract %[[X]][{{.+}}, %[[EVEN]]]
// CHECK:           %[[ODD:.+]] = arith.addi %[[EVEN]], %c1
// CHECK:           tensor.extract %[[X]][{{.+}}, %[[ODD]]]
// CHECK:           %[[PAIR:.+]] = arith.select %[[FIRST]]
// CHECK:           %[[PASS:.+]] = tensor.extract %[[X]][{{.+}}, %[[D]]]
// CHECK:           %[[Y:.+]] = arith.select %[[ROT]], %[[PAIR]], %[[PASS]]
// CHECK:           linalg.yield %[[Y]]
func.func @rotary_interleaved_partial(%x: tensor<1x2x3x16xf32>, %cos: tensor<1x3x8xf32>, %sin: tensor<1x3x8xf32>) -> tensor<1x2x3x16xf32> {
  %0 = tessel.rotary_embedding %x, %cos, %sin {interleaved = 1 : i64, rotary_embedding_dim = 8 : i64} : (tensor<1x2x3x16xf32>, tensor<1x3x8xf32>, tensor<1x3x8xf32>) -> tensor<1x2x3x16xf32>
  return %0 : tensor<1x2x3x16xf32>
}

// -----

func.func @rotary_unranked(%x: tensor<*xf32>, %cos: tensor<?x?x8xf32>, %sin: tensor<?x?x8xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{failed to legalize operation 'tessel.rotary_embedding'}}
  %0 = tessel.rotary_embedding %x, %cos, %sin : (tensor<*xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

// 3-D x without num_heads: the head dim is unknown.
func.func @rotary_3d_no_num_heads(%x: tensor<1x2x16xf32>, %cos: tensor<1x2x4xf32>, %sin: tensor<1x2x4xf32>) -> tensor<1x2x16xf32> {
  // expected-error @+1 {{failed to legalize operation 'tessel.rotary_embedding'}}
  %0 = tessel.rotary_embedding %x, %cos, %sin : (tensor<1x2x16xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x16xf32>
  return %0 : tensor<1x2x16xf32>
}
