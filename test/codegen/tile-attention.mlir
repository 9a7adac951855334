// RUN: tessel-opt %s -tessel-tile-attention -split-input-file | FileCheck %s --check-prefix=TILE
// RUN: tessel-opt %s -tessel-tile-attention="tile-q=32 tile-kv=64" -split-input-file | FileCheck %s --check-prefix=FIXED
// RUN: tessel-opt %s -tessel-tile-attention="cache-bytes=131072" -split-input-file | FileCheck %s --check-prefix=SMALL
// RUN: tessel-opt %s -tessel-tile-attention -convert-tessel-attention-to-loops -canonicalize -cse -split-input-file | FileCheck %s

// Causal GQA (8 query heads on 2 kv heads), 1000 queries and keys: not a
// multiple of the tiles. Head dim 64 in 512 KiB: 128 x 256 tiles.
// TILE-LABEL:  func.func @causal_gqa
// TILE:          tessel.attention {{.*}}tile_kv = 256 : i64, tile_q = 128 : i64
// FIXED-LABEL: func.func @causal_gqa
// FIXED:         tessel.attention {{.*}}tile_kv = 64 : i64, tile_q = 32 : i64
// SMALL-LABEL: func.func @causal_gqa
// SMALL:         tessel.attention {{.*}}tile_kv = 128 : i64, tile_q = 32 : i64

// Loops over batch, q heads and query tiles; the kv head is h / 4 (k/v are
// read in place, never repeated).
// CHECK-LABEL: func.func @causal_gqa
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x8x1000x64xf32>, %[[K:[^:]+]]: tensor<1x2x1000x64xf32>, %[[V:[^:]+]]: tensor<1x2x1000x64xf32>)
// CHECK-DAG:     %[[NINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:     %[[SCALE:.+]] = arith.constant 1.250000e-01 : f32
// CHECK-DAG:     %[[C1000:.+]] = arith.constant 1000 : index
// CHECK-DAG:     %[[C128:.+]] = arith.constant 128 : index
// CHECK-DAG:     %[[C256:.+]] = arith.constant 256 : index
// CHECK-DAG:     %[[C4:.+]] = arith.constant 4 : index
// CHECK:         %[[OUT:.+]] = tensor.empty() : tensor<1x8x1000x64xf32>
// CHECK:         scf.for %[[H:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{.+}} = %[[OUT]])
// CHECK:           scf.for %[[I0:.+]] = %{{.+}} to %[[C1000]] step %[[C128]] iter_args
// The last query tile is partial.
// CHECK:             %[[REST:.+]] = arith.subi %[[C1000]], %[[I0]]
// CHECK:             %[[TQ:.+]] = arith.minsi %[[REST]], %[[C128]]
// CHECK:             %[[KVH:.+]] = arith.divui %[[H]], %[[C4]]
// CHECK:             %[[QT:.+]] = tensor.extract_slice %[[Q]][0, %[[H]], %[[I0]], 0] [1, 1, %[[TQ]], 64] [1, 1, 1, 1] : tensor<1x8x1000x64xf32> to tensor<?x64xf32>
// CHECK:             %[[QS:.+]] = linalg.generic {{.*}} ins(%[[QT]] : tensor<?x64xf32>)
// CHECK:               arith.mulf %{{.+}}, %[[SCALE]]
// Causal: the query tile sees keys up to i0 + tq (fully masked tiles are
// never visited).
// CHECK:             %[[LAST:.+]] = arith.addi %[[I0]], %[[TQ]]
// CHECK:             %[[HI:.+]] = arith.minsi %[[LAST]], %[[C1000]]
// CHECK:             %[[M0:.+]] = linalg.fill ins(%[[NINF]] : f32) outs(%{{.+}} : tensor<?xf32>)
// CHECK:             %[[L0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?xf32>)
// CHECK:             %[[ACC0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x64xf32>)
// CHECK:             %[[KV:.+]]:3 = scf.for %[[J0:.+]] = %{{.+}} to %[[HI]] step %[[C256]] iter_args(%[[M:.+]] = %[[M0]], %[[L:.+]] = %[[L0]], %[[ACC:.+]] = %[[ACC0]]) -> (tensor<?xf32>, tensor<?xf32>, tensor<?x64xf32>)
// CHECK:               %[[TK:.+]] = arith.minsi %{{.+}}, %[[C256]]
// CHECK:               %[[KT:.+]] = tensor.extract_slice %[[K]][0, %[[KVH]], %[[J0]], 0] [1, 1, %[[TK]], 64]
// CHECK:               %[[VT:.+]] = tensor.extract_slice %[[V]][0, %[[KVH]], %[[J0]], 0] [1, 1, %[[TK]], 64]
// Scores of one tile only: [tq, tk].
// CHECK:               %[[S0:.+]] = tensor.empty(%[[TQ]], %[[TK]]) : tensor<?x?xf32>
// CHECK:               %[[S:.+]] = linalg.matmul_transpose_b ins(%[[QS]], %[[KT]] : tensor<?x64xf32>, tensor<?x64xf32>)
// Only tiles crossing the diagonal are masked element-wise.
// CHECK:               %[[CROSS:.+]] = arith.cmpi sgt
// CHECK:               %[[SM:.+]] = scf.if %[[CROSS]] -> (tensor<?x?xf32>) {
// CHECK:                 linalg.generic {{.*}} outs(%[[S]] : tensor<?x?xf32>)
// CHECK:                   arith.cmpi sle
// CHECK:                   arith.select %{{.+}}, %{{.+}}, %[[NINF]]
// CHECK:               } else {
// CHECK:                 scf.yield %[[S]]
// Per row: m' = max(m, rowmax(s)), a = exp(m - m'), p = exp(s - m'),
// l' = l * a + rowsum(p).
// CHECK:               %[[ROWS:.+]]:4 = scf.for %[[I:.+]] = %{{.+}} to %[[TQ]] step %{{.+}} iter_args(%[[P:.+]] = %[[SM]], %[[MR:.+]] = %[[M]], %[[LR:.+]] = %[[L]], %{{.+}} = %{{.+}})
// CHECK:                 %[[MOLD:.+]] = tensor.extract %[[MR]][%[[I]]]
// CHECK:                 %[[LOLD:.+]] = tensor.extract %[[LR]][%[[I]]]
// CHECK:                 %[[RMAX:.+]] = scf.for
// CHECK:                   arith.maximumf
// CHECK:                 %[[MNEW:.+]] = arith.maximumf %[[MOLD]], %[[RMAX]]
// CHECK:                 %[[NONE:.+]] = arith.cmpf oeq, %[[MNEW]], %[[NINF]]
// CHECK:                 %[[SHIFT:.+]] = arith.select %[[NONE]], %{{.+}}, %[[MNEW]]
// CHECK:                 %[[DM:.+]] = arith.subf %[[MOLD]], %[[SHIFT]]
// CHECK:                 %[[ALPHA:.+]] = math.exp %[[DM]]
// CHECK:                 %[[PSUM:.+]]:2 = scf.for
// CHECK:                   arith.subf %{{.+}}, %[[SHIFT]]
// CHECK:                   math.exp
// CHECK:                   tensor.insert
// CHECK:                   arith.addf {{.*}} fastmath<reassoc>
// CHECK:                 %[[LA:.+]] = arith.mulf %[[LOLD]], %[[ALPHA]]
// CHECK:                 %[[LNEW:.+]] = arith.addf %[[LA]], %[[PSUM]]#1
// acc' = acc * a + p x v.
// CHECK:               %[[ACCS:.+]] = linalg.generic {{.*}} ins(%[[ROWS]]#3 : tensor<?xf32>) outs(%[[ACC]] : tensor<?x64xf32>)
// CHECK:                 arith.mulf
// CHECK:               %[[ACCN:.+]] = linalg.matmul ins(%[[ROWS]]#0, %[[VT]] : tensor<?x?xf32>, tensor<?x64xf32>) outs(%[[ACCS]] : tensor<?x64xf32>)
// CHECK:               scf.yield %[[ROWS]]#1, %[[ROWS]]#2, %[[ACCN]]
// out = acc / l.
// CHECK:             %[[Y:.+]] = linalg.generic {{.*}} ins(%[[KV]]#2, %[[KV]]#1 : tensor<?x64xf32>, tensor<?xf32>)
// CHECK:               arith.divf
// CHECK:             tensor.insert_slice %[[Y]] into %{{.+}}[0, %[[H]], %[[I0]], 0] [1, 1, %[[TQ]], 64]
// CHECK-NOT:     tessel.attention
func.func @causal_gqa(%q: tensor<1x8x1000x64xf32>, %k: tensor<1x2x1000x64xf32>, %v: tensor<1x2x1000x64xf32>) -> tensor<1x8x1000x64xf32> {
  %0 = tessel.attention %q, %k, %v {is_causal = 1 : i64} : (tensor<1x8x1000x64xf32>, tensor<1x2x1000x64xf32>, tensor<1x2x1000x64xf32>) -> tensor<1x8x1000x64xf32>
  return %0 : tensor<1x8x1000x64xf32>
}

// -----

// Sequences that are multiples of the tiles keep static tile shapes: the
// largest tensor in the loops is one [128, 256] score tile, never
// [1024, 1024]. A key-padding mask is read per tile; fully masked rows
// become 0.
// TILE-LABEL:  func.func @full_tiles_mask
// TILE:          tile_kv = 256 : i64, tile_q = 128 : i64
// CHECK-LABEL: func.func @full_tiles_mask
// CHECK-SAME:    %[[MASK:[^:]+]]: tensor<2x1x1x1024xi1>
// CHECK-NOT:     1024x1024
// CHECK:         scf.for %[[J0:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args({{.*}}) -> (tensor<128xf32>, tensor<128xf32>, tensor<128x64xf32>)
// CHECK-NOT:     1024x1024
// CHECK:           linalg.matmul_transpose_b {{.*}} -> tensor<128x256xf32>
// CHECK-NOT:     1024x1024
// CHECK:           tensor.extract %[[MASK]][%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] : tensor<2x1x1x1024xi1>
// CHECK-NOT:     scf.if
// CHECK-NOT:     1024x1024
// CHECK:         arith.divf
// CHECK:         arith.cmpf oeq
// CHECK:         arith.select
// CHECK-NOT:     1024x1024
// CHECK:         return
func.func @full_tiles_mask(%q: tensor<2x4x1024x64xf32>, %k: tensor<2x4x1024x64xf32>, %v: tensor<2x4x1024x64xf32>, %m: tensor<2x1x1x1024xi1>) -> tensor<2x4x1024x64xf32> {
  %0 = tessel.attention %q, %k, %v, %m {fully_masked_rows = "zero"} : (tensor<2x4x1024x64xf32>, tensor<2x4x1024x64xf32>, tensor<2x4x1024x64xf32>, tensor<2x1x1x1024xi1>) -> tensor<2x4x1024x64xf32>
  return %0 : tensor<2x4x1024x64xf32>
}

// -----

// A sliding window (left 100, right 0) on dynamic sequences: the kv loop
// runs from max(0, i0 + offset - 100) to min(seq_kv, i0 + tq + offset).
// f16 inputs are computed in f32 and the output truncated.
// CHECK-LABEL: func.func @window_f16
// CHECK-DAG:     %[[C100:.+]] = arith.constant 100 : index
// CHECK-DAG:     %[[SQ:.+]] = tensor.dim %arg0, %c2
// CHECK-DAG:     %[[SKV:.+]] = tensor.dim %arg1, %c2
// CHECK:         %[[OFF:.+]] = arith.subi %[[SKV]], %[[SQ]]
// CHECK:         scf.for %[[I0:.+]] = %{{.+}} to %[[SQ]] step
// CHECK:           %[[TQ:.+]] = arith.minsi
// CHECK:           arith.extf %{{.+}} : f16 to f32
// CHECK:           %[[ALIGNED:.+]] = arith.addi %[[I0]], %[[OFF]]
// CHECK:           %[[FIRST:.+]] = arith.subi %[[ALIGNED]], %[[C100]]
// CHECK:           %[[LO:.+]] = arith.maxsi %[[FIRST]], %{{.+}}
// CHECK:           %[[END:.+]] = arith.addi %[[I0]], %[[TQ]]
// CHECK:           %[[ENDA:.+]] = arith.addi %[[END]], %[[OFF]]
// CHECK:           %[[HI:.+]] = arith.minsi %[[SKV]], %[[ENDA]]
// CHECK:           scf.for %{{.+}} = %[[LO]] to %[[HI]] step
// CHECK:             arith.extf %{{.+}} : f16 to f32
// CHECK:             scf.if
// CHECK:           arith.truncf %{{.+}} : f32 to f16
func.func @window_f16(%q: tensor<?x4x?x32xf16>, %k: tensor<?x4x?x32xf16>, %v: tensor<?x4x?x32xf16>) -> tensor<?x4x?x32xf16> {
  %0 = tessel.attention %q, %k, %v {window_left = 100 : i64, window_right = 0 : i64} : (tensor<?x4x?x32xf16>, tensor<?x4x?x32xf16>, tensor<?x4x?x32xf16>) -> tensor<?x4x?x32xf16>
  return %0 : tensor<?x4x?x32xf16>
}

// -----

// Decoding: one query, 300 keys. The query tile is 1 and the key tile grows.
// TILE-LABEL:  func.func @decode
// TILE:          tile_kv = 512 : i64, tile_q = 1 : i64
// CHECK-LABEL: func.func @decode
// CHECK:         linalg.matmul_transpose_b {{.*}} -> tensor<1x300xf32>
func.func @decode(%q: tensor<1x8x1x64xf32>, %k: tensor<1x8x300x64xf32>, %v: tensor<1x8x300x64xf32>) -> tensor<1x8x1x64xf32> {
  %0 = tessel.attention %q, %k, %v : (tensor<1x8x1x64xf32>, tensor<1x8x300x64xf32>, tensor<1x8x300x64xf32>) -> tensor<1x8x1x64xf32>
  return %0 : tensor<1x8x1x64xf32>
}

// -----

// 3-D operands [B, S, H*D] are sliced per head in place.
// CHECK-LABEL: func.func @three_d
// CHECK:         tensor.extract_slice %arg0[%{{.+}}, %{{.+}}, %{{.+}}] [1, %{{.+}}, 16] [1, 1, 1] : tensor<2x10x64xf32> to tensor<?x16xf32>
// CHECK:         tensor.insert_slice %{{.+}} into %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}] [1, %{{.+}}, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<2x10x32xf32>
func.func @three_d(%q: tensor<2x10x64xf32>, %k: tensor<2x12x32xf32>, %v: tensor<2x12x16xf32>) -> tensor<2x10x32xf32> {
  %0 = tessel.attention %q, %k, %v {q_num_heads = 4 : i64, kv_num_heads = 2 : i64, tile_q = 4 : i64, tile_kv = 5 : i64} : (tensor<2x10x64xf32>, tensor<2x12x32xf32>, tensor<2x12x16xf32>) -> tensor<2x10x32xf32>
  return %0 : tensor<2x10x32xf32>
}

// -----

// Negative: a dynamic head dim (the tile choice and the loop shapes need it
// static) gets no tiles, and the op stays for the composite expansion.
// TILE-LABEL:  func.func @dynamic_head_dim
// TILE-NOT:      tile_q
// CHECK-LABEL: func.func @dynamic_head_dim
// CHECK-NOT:     scf.for
// CHECK:         tessel.attention
func.func @dynamic_head_dim(%q: tensor<1x4x?x?xf32>, %k: tensor<1x2x?x?xf32>, %v: tensor<1x2x?x?xf32>) -> tensor<1x4x?x?xf32> {
  %0 = tessel.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<1x4x?x?xf32>, tensor<1x2x?x?xf32>, tensor<1x2x?x?xf32>) -> tensor<1x4x?x?xf32>
  return %0 : tensor<1x4x?x?xf32>
}

// -----

// Negative: tiles given by hand, but the mask is neither bool nor float:
// the lowering leaves the op (with its tiles) to the expansion.
// TILE-LABEL:  func.func @int_mask
// TILE:          tile_kv = 8 : i64, tile_q = 8 : i64
// CHECK-LABEL: func.func @int_mask
// CHECK-NOT:     scf.for
// CHECK:         tessel.attention
func.func @int_mask(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %m: tensor<8x8xi64>) -> tensor<1x1x8x16xf32> {
  %0 = tessel.attention %q, %k, %v, %m {tile_q = 8 : i64, tile_kv = 8 : i64} : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<8x8xi64>) -> tensor<1x1x8x16xf32>
  return %0 : tensor<1x1x8x16xf32>
}
