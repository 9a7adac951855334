// RUN: tessel-opt %s -tessel-fuse-rotary -canonicalize -split-input-file | FileCheck %s

// Static shapes, caches Unsqueeze(Cos/Sin(Concat(f, f)), 1) as in llama:
// the op reads the first halves of the [1, S, D] caches.
// CHECK-LABEL: func.func @rotary_static
// CHECK-SAME:    (%[[X:.+]]: tensor<2x4x8x16xf32>, %[[F:.+]]: tensor<1x8x8xf32>)
// CHECK-DAG:     %[[COS:.+]] = tessel.cos
// CHECK-DAG:     %[[SIN:.+]] = tessel.sin
// CHECK-DAG:     %[[COSH:.+]] = tessel.slice %[[COS]], {{.*}} -> tensor<1x8x8xf32>
// CHECK-DAG:     %[[SINH:.+]] = tessel.slice %[[SIN]], {{.*}} -> tensor<1x8x8xf32>
// CHECK:         %[[Y:.+]] = tessel.rotary_embedding %[[X]], %[[COSH]], %[[SINH]] : (tensor<2x4x8x16xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<2x4x8x16xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @rotary_static(%x: tensor<2x4x8x16xf32>, %f: tensor<1x8x8xf32>) -> tensor<2x4x8x16xf32> {
  %c0 = tessel.constant dense<0> : tensor<1xi64>
  %c8 = tessel.constant dense<8> : tensor<1xi64>
  %cmax = tessel.constant dense<9223372036854775807> : tensor<1xi64>
  %c3 = tessel.constant dense<3> : tensor<1xi64>
  %c1 = tessel.constant dense<1> : tensor<1xi64>
  %ff = tessel.concat %f, %f {axis = -1 : i64} : (tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<1x8x16xf32>
  %cos3 = tessel.cos %ff : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %sin3 = tessel.sin %ff : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %cos = tessel.unsqueeze %cos3 {axes = array<i64: 1>} : (tensor<1x8x16xf32>) -> tensor<1x1x8x16xf32>
  %sin = tessel.unsqueeze %sin3 {axes = array<i64: 1>} : (tensor<1x8x16xf32>) -> tensor<1x1x8x16xf32>
  %xc = tessel.mul %x, %cos : (tensor<2x4x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<2x4x8x16xf32>
  %x1 = tessel.slice %x, %c0, %c8, %c3, %c1 : (tensor<2x4x8x16xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x4x8x8xf32>
  %x2 = tessel.slice %x, %c8, %cmax, %c3, %c1 : (tensor<2x4x8x16xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x4x8x8xf32>
  %n = tessel.neg %x2 : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %r = tessel.concat %n, %x1 {axis = -1 : i64} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x16xf32>
  %rs = tessel.mul %r, %sin : (tensor<2x4x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<2x4x8x16xf32>
  %y = tessel.add %xc, %rs : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

// Dynamic batch and sequence: the caches are built from Range(0, S, 1)
// with S = x's dim 2 (llama builds it from the input ids' shape), which the
// pass follows through Shape/Squeeze/Range/Unsqueeze/Cast/Mul to prove the
// caches' sequence dim is x's. The rotate-half uses an even Split; the
// scaling by 1.0 and the casts keep the halves duplicated. k = 2 q has
// q's dims; q and k share one slice of each cache.
// CHECK-LABEL: func.func @rotary_dynamic_seq_split
// CHECK-SAME:    (%[[Q:.+]]: tensor<?x4x?x16xf32>)
// CHECK:         %[[K:.+]] = tessel.mul %[[Q]]
// CHECK-DAG:     %[[COSH:.+]] = tessel.slice %{{.+}} -> tensor<1x?x8xf32>
// CHECK-DAG:     %[[SINH:.+]] = tessel.slice %{{.+}} -> tensor<1x?x8xf32>
// CHECK:         %[[YQ:.+]] = tessel.rotary_embedding %[[Q]], %[[COSH]], %[[SINH]]
// CHECK:         %[[YK:.+]] = tessel.rotary_embedding %[[K]], %[[COSH]], %[[SINH]]
// CHECK-NEXT:    return %[[YQ]], %[[YK]]
func.func @rotary_dynamic_seq_split(%q: tensor<?x4x?x16xf32>) -> (tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>) {
  %two = tessel.constant dense<2.000000e+00> : tensor<f32>
  %k = tessel.mul %q, %two : (tensor<?x4x?x16xf32>, tensor<f32>) -> tensor<?x4x?x16xf32>
  %zero = tessel.constant dense<0> : tensor<i64>
  %one = tessel.constant dense<1> : tensor<i64>
  %fone = tessel.constant dense<1.000000e+00> : tensor<f32>
  %inv = tessel.constant dense<[[[1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125]]]> : tensor<1x1x8xf32>
  %s1 = tessel.shape %q {start = 2 : i64, end = 3 : i64} : (tensor<?x4x?x16xf32>) -> tensor<1xi64>
  %s = tessel.squeeze %s1 {axes = array<i64: 0>} : (tensor<1xi64>) -> tensor<i64>
  %pos = tessel.range %zero, %s, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %posf = tessel.cast %pos {to = f32} : (tensor<?xi64>) -> tensor<?xf32>
  %pos3 = tessel.unsqueeze %posf {axes = array<i64: 0, 2>} : (tensor<?xf32>) -> tensor<1x?x1xf32>
  %f = tessel.mul %pos3, %inv : (tensor<1x?x1xf32>, tensor<1x1x8xf32>) -> tensor<1x?x8xf32>
  %ff = tessel.concat %f, %f {axis = 2 : i64} : (tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> tensor<1x?x16xf32>
  %cosr = tessel.cos %ff : (tensor<1x?x16xf32>) -> tensor<1x?x16xf32>
  %coss = tessel.mul %cosr, %fone : (tensor<1x?x16xf32>, tensor<f32>) -> tensor<1x?x16xf32>
  %cos3 = tessel.cast %coss {to = f32} : (tensor<1x?x16xf32>) -> tensor<1x?x16xf32>
  %sinr = tessel.sin %ff : (tensor<1x?x16xf32>) -> tensor<1x?x16xf32>
  %sin3 = tessel.cast %sinr {to = f32} : (tensor<1x?x16xf32>) -> tensor<1x?x16xf32>
  %cos = tessel.unsqueeze %cos3 {axes = array<i64: 1>} : (tensor<1x?x16xf32>) -> tensor<1x1x?x16xf32>
  %sin = tessel.unsqueeze %sin3 {axes = array<i64: 1>} : (tensor<1x?x16xf32>) -> tensor<1x1x?x16xf32>

  %qc = tessel.mul %q, %cos : (tensor<?x4x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<?x4x?x16xf32>
  %q12:2 = tessel.split %q {axis = 3 : i64, split = array<i64: 8, 8>} : (tensor<?x4x?x16xf32>) -> (tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>)
  %qn = tessel.neg %q12#1 : (tensor<?x4x?x8xf32>) -> tensor<?x4x?x8xf32>
  %qr = tessel.concat %qn, %q12#0 {axis = 3 : i64} : (tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>) -> tensor<?x4x?x16xf32>
  %qs = tessel.mul %sin, %qr : (tensor<1x1x?x16xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>
  %yq = tessel.add %qs, %qc : (tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>

  %kc = tessel.mul %cos, %k : (tensor<1x1x?x16xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>
  %k12:2 = tessel.split %k {axis = -1 : i64, num_outputs = 2 : i64} : (tensor<?x4x?x16xf32>) -> (tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>)
  %kn = tessel.neg %k12#1 : (tensor<?x4x?x8xf32>) -> tensor<?x4x?x8xf32>
  %kr = tessel.concat %kn, %k12#0 {axis = -1 : i64} : (tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>) -> tensor<?x4x?x16xf32>
  %ks = tessel.mul %kr, %sin : (tensor<?x4x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<?x4x?x16xf32>
  %yk = tessel.add %kc, %ks : (tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>
  return %yq, %yk : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>
}

// -----

// Constant caches whose halves are equal (what folding makes of a static
// sequence length) fuse: a Squeeze drops their head dim (no Unsqueeze to
// look through) and a Slice takes the first half (tessel-fold-constants
// folds both).
// CHECK-LABEL: func.func @rotary_constant_caches
// CHECK-DAG:     %[[COS:.+]] = tessel.constant dense<{{\[\[\[\[}}1.000000e+00, 5.000000e-01, 1.000000e+00, 5.000000e-01]
// CHECK-DAG:     %[[SIN:.+]] = tessel.constant dense<0.000000e+00> : tensor<1x1x2x4xf32>
// CHECK-DAG:     %[[COS3:.+]] = tessel.squeeze %[[COS]] {axes = array<i64: 1>} : (tensor<1x1x2x4xf32>) -> tensor<1x2x4xf32>
// CHECK-DAG:     %[[COSH:.+]] = tessel.slice %[[COS3]], {{.*}} -> tensor<1x2x2xf32>
// CHECK-DAG:     %[[SIN3:.+]] = tessel.squeeze %[[SIN]]
// CHECK-DAG:     %[[SINH:.+]] = tessel.slice %[[SIN3]]
// CHECK:         tessel.rotary_embedding %{{.+}}, %[[COSH]], %[[SINH]]
func.func @rotary_constant_caches(%x: tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32> {
  %c0 = tessel.constant dense<0> : tensor<1xi64>
  %c2 = tessel.constant dense<2> : tensor<1xi64>
  %c4 = tessel.constant dense<4> : tensor<1xi64>
  %c3 = tessel.constant dense<3> : tensor<1xi64>
  %c1 = tessel.constant dense<1> : tensor<1xi64>
  %cos = tessel.constant dense<[[[[1.0, 0.5, 1.0, 0.5], [0.25, 0.125, 0.25, 0.125]]]]> : tensor<1x1x2x4xf32>
  %sin = tessel.constant dense<0.0> : tensor<1x1x2x4xf32>
  %xc = tessel.mul %x, %cos : (tensor<1x2x2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x2x2x4xf32>
  %x1 = tessel.slice %x, %c0, %c2, %c3, %c1 : (tensor<1x2x2x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x2x2x2xf32>
  %x2 = tessel.slice %x, %c2, %c4, %c3, %c1 : (tensor<1x2x2x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x2x2x2xf32>
  %n = tessel.neg %x2 : (tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %r = tessel.concat %n, %x1 {axis = 3 : i64} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x4xf32>
  %rs = tessel.mul %r, %sin : (tensor<1x2x2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x2x2x4xf32>
  %y = tessel.add %xc, %rs : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  return %y : tensor<1x2x2x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// What must stay unfused, and the reason left for the report
//===----------------------------------------------------------------------===//

// Caches passed in: nothing says their halves repeat.
// CHECK-LABEL: func.func @no_rotary_caches_not_duplicated
// CHECK-NOT:     tessel.rotary_embedding
// CHECK:         tessel.add %{{.+}}, %{{.+}} {tessel.unfused = "cannot prove cos/sin repeat their first half in their second{{.*}}", tessel.unfused_kind = "rotary_embedding"}
func.func @no_rotary_caches_not_duplicated(%x: tensor<2x4x8x16xf32>, %cos: tensor<1x1x8x16xf32>, %sin: tensor<1x1x8x16xf32>) -> tensor<2x4x8x16xf32> {
  %c0 = tessel.constant dense<0> : tensor<1xi64>
  %c8 = tessel.constant dense<8> : tensor<1xi64>
  %c16 = tessel.constant dense<16> : tensor<1xi64>
  %c3 = tessel.constant dense<3> : tensor<1xi64>
  %c1 = tessel.constant dense<1> : tensor<1xi64>
  %xc = tessel.mul %x, %cos : (tensor<2x4x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<2x4x8x16xf32>
  %x1 = tessel.slice %x, %c0, %c8, %c3, %c1 : (tensor<2x4x8x16xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x4x8x8xf32>
  %x2 = tessel.slice %x, %c8, %c16, %c3, %c1 : (tensor<2x4x8x16xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x4x8x8xf32>
  %n = tessel.neg %x2 : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %r = tessel.concat %n, %x1 {axis = -1 : i64} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x16xf32>
  %rs = tessel.mul %r, %sin : (tensor<2x4x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<2x4x8x16xf32>
  %y = tessel.add %xc, %rs : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

// A constant cache whose halves differ.
// CHECK-LABEL: func.func @no_rotary_constant_halves_differ
// CHECK-NOT:     tessel.rotary_embedding
// CHECK:         tessel.unfused = "cannot prove cos/sin repeat
func.func @no_rotary_constant_halves_differ(%x: tensor<1x2x1x4xf32>) -> tensor<1x2x1x4xf32> {
  %c0 = tessel.constant dense<0> : tensor<1xi64>
  %c2 = tessel.constant dense<2> : tensor<1xi64>
  %c4 = tessel.constant dense<4> : tensor<1xi64>
  %c3 = tessel.constant dense<3> : tensor<1xi64>
  %c1 = tessel.constant dense<1> : tensor<1xi64>
  %cos = tessel.constant dense<[[[[1.0, 0.5, 1.0, 0.25]]]]> : tensor<1x1x1x4xf32>
  %sin = tessel.constant dense<0.0> : tensor<1x1x1x4xf32>
  %xc = tessel.mul %x, %cos : (tensor<1x2x1x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x1x4xf32>
  %x1 = tessel.slice %x, %c0, %c2, %c3, %c1 : (tensor<1x2x1x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x2x1x2xf32>
  %x2 = tessel.slice %x, %c2, %c4, %c3, %c1 : (tensor<1x2x1x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x2x1x2xf32>
  %n = tessel.neg %x2 : (tensor<1x2x1x2xf32>) -> tensor<1x2x1x2xf32>
  %r = tessel.concat %n, %x1 {axis = 3 : i64} : (tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>) -> tensor<1x2x1x4xf32>
  %rs = tessel.mul %r, %sin : (tensor<1x2x1x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x1x4xf32>
  %y = tessel.add %xc, %rs : (tensor<1x2x1x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x1x4xf32>
  return %y : tensor<1x2x1x4xf32>
}

// -----

// Duplicated caches whose sequence dim has nothing to do with x's: with
// x's S = 1 and the caches' S = 8 the graph's result is [B, H, 8, D], the
// op's [B, H, 1, D].
// CHECK-LABEL: func.func @no_rotary_sequence_unproven
// CHECK-NOT:     tessel.rotary_embedding
// CHECK:         tessel.unfused = "cannot prove cos/sin's sequence dim is x's or 1"
func.func @no_rotary_sequence_unproven(%x: tensor<2x4x?x16xf32>, %f: tensor<1x?x8xf32>) -> tensor<2x4x?x16xf32> {
  %c0 = tessel.constant dense<0> : tensor<1xi64>
  %c8 = tessel.constant dense<8> : tensor<1xi64>
  %cmax = tessel.constant dense<9223372036854775807> : tensor<1xi64>
  %c3 = tessel.constant dense<3> : tensor<1xi64>
  %c1 = tessel.constant dense<1> : tensor<1xi64>
  %ff = tessel.concat %f, %f {axis = -1 : i64} : (tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> tensor<1x?x16xf32>
  %cos3 = tessel.cos %ff : (tensor<1x?x16xf32>) -> tensor<1x?x16xf32>
  %sin3 = tessel.sin %ff : (tensor<1x?x16xf32>) -> tensor<1x?x16xf32>
  %cos = tessel.unsqueeze %cos3 {axes = array<i64: 1>} : (tensor<1x?x16xf32>) -> tensor<1x1x?x16xf32>
  %sin = tessel.unsqueeze %sin3 {axes = array<i64: 1>} : (tensor<1x?x16xf32>) -> tensor<1x1x?x16xf32>
  %xc = tessel.mul %x, %cos : (tensor<2x4x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<2x4x?x16xf32>
  %x1 = tessel.slice %x, %c0, %c8, %c3, %c1 : (tensor<2x4x?x16xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x4x?x8xf32>
  %x2 = tessel.slice %x, %c8, %cmax, %c3, %c1 : (tensor<2x4x?x16xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x4x?x8xf32>
  %n = tessel.neg %x2 : (tensor<2x4x?x8xf32>) -> tensor<2x4x?x8xf32>
  %r = tessel.concat %n, %x1 {axis = -1 : i64} : (tensor<2x4x?x8xf32>, tensor<2x4x?x8xf32>) -> tensor<2x4x?x16xf32>
  %rs = tessel.mul %r, %sin : (tensor<2x4x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<2x4x?x16xf32>
  %y = tessel.add %xc, %rs : (tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>) -> tensor<2x4x?x16xf32>
  return %y : tensor<2x4x?x16xf32>
}

// -----

// The rotated half is also returned.
// CHECK-LABEL: func.func @no_rotary_extra_use
// CHECK-NOT:     tessel.rotary_embedding
// CHECK:         tessel.unfused = "an intermediate value of the rotate-half chain has other users"
func.func @no_rotary_extra_use(%x: tensor<2x4x8x16xf32>, %f: tensor<1x8x8xf32>) -> (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) {
  %c0 = tessel.constant dense<0> : tensor<1xi64>
  %c8 = tessel.constant dense<8> : tensor<1xi64>
  %cmax = tessel.constant dense<9223372036854775807> : tensor<1xi64>
  %c3 = tessel.constant dense<3> : tensor<1xi64>
  %c1 = tessel.constant dense<1> : tensor<1xi64>
  %ff = tessel.concat %f, %f {axis = -1 : i64} : (tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<1x8x16xf32>
  %cos3 = tessel.cos %ff : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %sin3 = tessel.sin %ff : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %cos = tessel.unsqueeze %cos3 {axes = array<i64: 1>} : (tensor<1x8x16xf32>) -> tensor<1x1x8x16xf32>
  %sin = tessel.unsqueeze %sin3 {axes = array<i64: 1>} : (tensor<1x8x16xf32>) -> tensor<1x1x8x16xf32>
  %xc = tessel.mul %x, %cos : (tensor<2x4x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<2x4x8x16xf32>
  %x1 = tessel.slice %x, %c0, %c8, %c3, %c1 : (tensor<2x4x8x16xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x4x8x8xf32>
  %x2 = tessel.slice %x, %c8, %cmax, %c3, %c1 : (tensor<2x4x8x16xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x4x8x8xf32>
  %n = tessel.neg %x2 : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %r = tessel.concat %n, %x1 {axis = -1 : i64} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x16xf32>
  %rs = tessel.mul %r, %sin : (tensor<2x4x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<2x4x8x16xf32>
  %y = tessel.add %xc, %rs : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %y, %r : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>
}

// -----

// Concat(x1, -x2) (the sign on the other half) is not rotate-half: no
// rotary skeleton, so no reason is recorded either.
// CHECK-LABEL: func.func @no_rotary_other_sign
// CHECK-NOT:     tessel.rotary_embedding
// CHECK-NOT:     tessel.unfused
func.func @no_rotary_other_sign(%x: tensor<2x4x8x16xf32>, %f: tensor<1x8x8xf32>) -> tensor<2x4x8x16xf32> {
  %c0 = tessel.constant dense<0> : tensor<1xi64>
  %c8 = tessel.constant dense<8> : tensor<1xi64>
  %cmax = tessel.constant dense<9223372036854775807> : tensor<1xi64>
  %c3 = tessel.constant dense<3> : tensor<1xi64>
  %c1 = tessel.constant dense<1> : tensor<1xi64>
  %ff = tessel.concat %f, %f {axis = -1 : i64} : (tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<1x8x16xf32>
  %cos3 = tessel.cos %ff : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %sin3 = tessel.sin %ff : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %cos = tessel.unsqueeze %cos3 {axes = array<i64: 1>} : (tensor<1x8x16xf32>) -> tensor<1x1x8x16xf32>
  %sin = tessel.unsqueeze %sin3 {axes = array<i64: 1>} : (tensor<1x8x16xf32>) -> tensor<1x1x8x16xf32>
  %xc = tessel.mul %x, %cos : (tensor<2x4x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<2x4x8x16xf32>
  %x1 = tessel.slice %x, %c0, %c8, %c3, %c1 : (tensor<2x4x8x16xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x4x8x8xf32>
  %x2 = tessel.slice %x, %c8, %cmax, %c3, %c1 : (tensor<2x4x8x16xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x4x8x8xf32>
  %n = tessel.neg %x2 : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %r = tessel.concat %x1, %n {axis = -1 : i64} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x16xf32>
  %rs = tessel.mul %r, %sin : (tensor<2x4x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<2x4x8x16xf32>
  %y = tessel.add %xc, %rs : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}
