// RUN: tessel-opt %s -tessel-fuse-attention -canonicalize -split-input-file | FileCheck %s
//
// Masks the graph builds at run time (see passes/MaskStructure.h): their
// causal / window bounds become attributes and their padding lookups one
// [batch, 1, 1, seq_kv] boolean mask; the [seq_q, seq_kv] mask is dead. What
// cannot be proved stays as it is, with the reason in tessel.mask_note (for
// tesselc --report).

// TorchScript style: causal from Range comparisons, padding from a row-major
// lookup gather(flatten(attention_mask), b * seq + j), float32 lowest fill.
// CHECK-LABEL: func.func @ts_causal_padding
// CHECK-SAME:    (%[[Q:[^:]+]]: {{[^,]+}}, %[[K:[^:]+]]: {{[^,]+}}, %[[V:[^:]+]]: {{[^,]+}}, %[[AM:[^:]+]]: tensor<2x16xi64>)
// CHECK-NEXT:    %[[B:.+]] = tessel.cast %[[AM]] {to = i1} : (tensor<2x16xi64>) -> tensor<2x16xi1>
// CHECK-NEXT:    %[[PAD:.+]] = tessel.unsqueeze %[[B]] {axes = array<i64: 1, 2>} : (tensor<2x16xi1>) -> tensor<2x1x1x16xi1>
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %[[Q]], %[[K]], %[[V]], %[[PAD]] {fully_masked_rows = "uniform", is_causal = 1 : i64, scale = 1.000000e+00 : f32} : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x1x1x16xi1>) -> tensor<2x4x16x8xf32>
// CHECK-NEXT:    return %[[O]]
func.func @ts_causal_padding(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %am: tensor<2x16xi64>) -> tensor<2x4x16x8xf32> {
  %c0 = tessel.constant dense<0> : tensor<i64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %c2 = tessel.constant dense<2> : tensor<i64>
  %c16 = tessel.constant dense<16> : tensor<i64>
  %c16v = tessel.constant dense<16> : tensor<1xi64>
  %true = tessel.constant dense<true> : tensor<i1>
  %zero = tessel.constant dense<0.0> : tensor<f32>
  %lowest = tessel.constant dense<-3.40282347E+38> : tensor<f32>
  %rq = tessel.range %c0, %c16, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<16xi64>
  %rk = tessel.range %c0, %c16, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<16xi64>
  %rb = tessel.range %c0, %c2, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<2xi64>
  %i = tessel.unsqueeze %rq {axes = array<i64: 0, 1, 3>} : (tensor<16xi64>) -> tensor<1x1x16x1xi64>
  %j = tessel.unsqueeze %rk {axes = array<i64: 0, 1, 2>} : (tensor<16xi64>) -> tensor<1x1x1x16xi64>
  %b = tessel.unsqueeze %rb {axes = array<i64: 1, 2, 3>} : (tensor<2xi64>) -> tensor<2x1x1x1xi64>
  %le = tessel.less_or_equal %j, %i : (tensor<1x1x1x16xi64>, tensor<1x1x16x1xi64>) -> tensor<1x1x16x16xi1>
  %causal = tessel.and %true, %le : (tensor<i1>, tensor<1x1x16x16xi1>) -> tensor<1x1x16x16xi1>
  %amb = tessel.cast %am {to = i1} : (tensor<2x16xi64>) -> tensor<2x16xi1>
  %flat = tessel.flatten %amb {axis = 2 : i64} : (tensor<2x16xi1>) -> tensor<32x1xi1>
  %row = tessel.mul %b, %c16v : (tensor<2x1x1x1xi64>, tensor<1xi64>) -> tensor<2x1x1x1xi64>
  %idx = tessel.add %j, %row : (tensor<1x1x1x16xi64>, tensor<2x1x1x1xi64>) -> tensor<2x1x1x16xi64>
  %g = tessel.gather %flat, %idx : (tensor<32x1xi1>, tensor<2x1x1x16xi64>) -> tensor<2x1x1x16x1xi1>
  %minus1 = tessel.constant dense<-1> : tensor<1xi64>
  %g1 = tessel.reshape %g, %minus1 : (tensor<2x1x1x16x1xi1>, tensor<1xi64>) -> tensor<32xi1>
  %shape = tessel.constant dense<[2, 1, 1, 16]> : tensor<4xi64>
  %pad = tessel.reshape %g1, %shape : (tensor<32xi1>, tensor<4xi64>) -> tensor<2x1x1x16xi1>
  %keep = tessel.and %causal, %pad : (tensor<1x1x16x16xi1>, tensor<2x1x1x16xi1>) -> tensor<2x1x16x16xi1>
  %mask = tessel.where %keep, %zero, %lowest : (tensor<2x1x16x16xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x16x16xf32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x16x8xf32>) -> tensor<2x4x8x16xf32>
  %s = tessel.matmul %q, %kt : (tensor<2x4x16x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x16x16xf32>
  %sm = tessel.add %s, %mask : (tensor<2x4x16x16xf32>, tensor<2x1x16x16xf32>) -> tensor<2x4x16x16xf32>
  %p = tessel.softmax %sm {axis = -1 : i64} : (tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32>
  %o = tessel.matmul %p, %v : (tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  return %o : tensor<2x4x16x8xf32>
}

// -----

// Dynamo style, dynamic batch and sequence: bidirectional (i >= 0 always
// holds), padding looked up with gather_nd(attention_mask, [b, j]).
// CHECK-LABEL: func.func @dynamo_padding_dynamic
// CHECK-SAME:    (%[[Q:[^:]+]]: {{[^,]+}}, %[[K:[^:]+]]: {{[^,]+}}, %[[V:[^:]+]]: {{[^,]+}}, %[[AM:[^:]+]]: tensor<?x?xi64>)
// CHECK-NEXT:    %[[B:.+]] = tessel.cast %[[AM]] {to = i1}
// CHECK-NEXT:    %[[PAD:.+]] = tessel.unsqueeze %[[B]] {axes = array<i64: 1, 2>} : (tensor<?x?xi1>) -> tensor<?x1x1x?xi1>
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %[[Q]], %[[K]], %[[V]], %[[PAD]] {fully_masked_rows = "uniform", scale = 1.000000e+00 : f32} : (tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x1x1x?xi1>) -> tensor<?x4x?x8xf32>
// CHECK-NEXT:    return %[[O]]
func.func @dynamo_padding_dynamic(%q: tensor<?x4x?x8xf32>, %k: tensor<?x4x?x8xf32>, %v: tensor<?x4x?x8xf32>, %am: tensor<?x?xi64>) -> tensor<?x4x?x8xf32> attributes {tessel.dim_params = [["batch", "", "seq", ""], ["batch", "", "seq", ""], ["batch", "", "seq", ""], ["batch", "seq"]]} {
  %c0 = tessel.constant dense<0> : tensor<i64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %true = tessel.constant dense<true> : tensor<i1>
  %zero = tessel.constant dense<0.0> : tensor<f32>
  %lowest = tessel.constant dense<-3.40282347E+38> : tensor<f32>
  %shb = tessel.shape %am {end = 1 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
  %nb = tessel.squeeze %shb : (tensor<1xi64>) -> tensor<i64>
  %shs = tessel.shape %q {start = 2 : i64, end = 3 : i64} : (tensor<?x4x?x8xf32>) -> tensor<1xi64>
  %ns = tessel.squeeze %shs : (tensor<1xi64>) -> tensor<i64>
  %rs = tessel.range %c0, %ns, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %rb = tessel.range %c0, %nb, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %i = tessel.unsqueeze %rs {axes = array<i64: 0, 1, 3>} : (tensor<?xi64>) -> tensor<1x1x?x1xi64>
  %j = tessel.unsqueeze %rs {axes = array<i64: 0, 1, 2>} : (tensor<?xi64>) -> tensor<1x1x1x?xi64>
  %b = tessel.unsqueeze %rb {axes = array<i64: 1, 2, 3>} : (tensor<?xi64>) -> tensor<?x1x1x1xi64>
  %ge = tessel.greater_or_equal %i, %c0 : (tensor<1x1x?x1xi64>, tensor<i64>) -> tensor<1x1x?x1xi1>
  %all = tessel.and %true, %ge : (tensor<i1>, tensor<1x1x?x1xi1>) -> tensor<1x1x?x1xi1>
  %amb = tessel.cast %am {to = i1} : (tensor<?x?xi64>) -> tensor<?x?xi1>
  %mx = tessel.max %b, %j : (tensor<?x1x1x1xi64>, tensor<1x1x1x?xi64>) -> tensor<?x1x1x?xi64>
  %bshape = tessel.shape %mx : (tensor<?x1x1x?xi64>) -> tensor<4xi64>
  %be = tessel.expand %b, %bshape : (tensor<?x1x1x1xi64>, tensor<4xi64>) -> tensor<?x1x1x?xi64>
  %bu = tessel.unsqueeze %be {axes = array<i64: -1>} : (tensor<?x1x1x?xi64>) -> tensor<?x1x1x?x1xi64>
  %je = tessel.expand %j, %bshape : (tensor<1x1x1x?xi64>, tensor<4xi64>) -> tensor<?x1x1x?xi64>
  %ju = tessel.unsqueeze %je {axes = array<i64: -1>} : (tensor<?x1x1x?xi64>) -> tensor<?x1x1x?x1xi64>
  %idx = tessel.concat %bu, %ju {axis = -1 : i64} : (tensor<?x1x1x?x1xi64>, tensor<?x1x1x?x1xi64>) -> tensor<?x1x1x?x2xi64>
  %pad = tessel.gather_nd %amb, %idx : (tensor<?x?xi1>, tensor<?x1x1x?x2xi64>) -> tensor<?x1x1x?xi1>
  %keep = tessel.and %all, %pad : (tensor<1x1x?x1xi1>, tensor<?x1x1x?xi1>) -> tensor<?x1x?x?xi1>
  %mask = tessel.where %keep, %zero, %lowest : (tensor<?x1x?x?xi1>, tensor<f32>, tensor<f32>) -> tensor<?x1x?x?xf32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<?x4x?x8xf32>) -> tensor<?x4x8x?xf32>
  %s = tessel.matmul %q, %kt : (tensor<?x4x?x8xf32>, tensor<?x4x8x?xf32>) -> tensor<?x4x?x?xf32>
  %sm = tessel.add %s, %mask : (tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32>) -> tensor<?x4x?x?xf32>
  %p = tessel.softmax %sm {axis = -1 : i64} : (tensor<?x4x?x?xf32>) -> tensor<?x4x?x?xf32>
  %o = tessel.matmul %p, %v : (tensor<?x4x?x?xf32>, tensor<?x4x?x8xf32>) -> tensor<?x4x?x8xf32>
  return %o : tensor<?x4x?x8xf32>
}

// -----

// Sliding window from Range comparisons: j <= i and j > i - 4, -inf fill
// in a where() on the scores.
// CHECK-LABEL: func.func @sliding_window
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %{{[^,]+}}, %{{[^,]+}}, %{{[^ ]+}} {is_causal = 1 : i64, scale = 1.000000e+00 : f32, window_left = 3 : i64} : (tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) -> tensor<1x2x32x8xf32>
// CHECK-NEXT:    return %[[O]]
func.func @sliding_window(%q: tensor<1x2x32x8xf32>, %k: tensor<1x2x32x8xf32>, %v: tensor<1x2x32x8xf32>) -> tensor<1x2x32x8xf32> {
  %c0 = tessel.constant dense<0> : tensor<i64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %c4 = tessel.constant dense<4> : tensor<i64>
  %c32 = tessel.constant dense<32> : tensor<i64>
  %ninf = tessel.constant dense<0xFF800000> : tensor<f32>
  %r = tessel.range %c0, %c32, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<32xi64>
  %i = tessel.unsqueeze %r {axes = array<i64: 1>} : (tensor<32xi64>) -> tensor<32x1xi64>
  %le = tessel.less_or_equal %r, %i : (tensor<32xi64>, tensor<32x1xi64>) -> tensor<32x32xi1>
  %lo = tessel.sub %i, %c4 : (tensor<32x1xi64>, tensor<i64>) -> tensor<32x1xi64>
  %gt = tessel.greater %r, %lo : (tensor<32xi64>, tensor<32x1xi64>) -> tensor<32x32xi1>
  %keep = tessel.and %le, %gt : (tensor<32x32xi1>, tensor<32x32xi1>) -> tensor<32x32xi1>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x32x8xf32>) -> tensor<1x2x8x32xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x32x8xf32>, tensor<1x2x8x32xf32>) -> tensor<1x2x32x32xf32>
  %sm = tessel.where %keep, %s, %ninf : (tensor<32x32xi1>, tensor<1x2x32x32xf32>, tensor<f32>) -> tensor<1x2x32x32xf32>
  %p = tessel.softmax %sm {axis = -1 : i64} : (tensor<1x2x32x32xf32>) -> tensor<1x2x32x32xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x32x32xf32>, tensor<1x2x32x8xf32>) -> tensor<1x2x32x8xf32>
  return %o : tensor<1x2x32x8xf32>
}

// -----

// torch.tril(torch.ones(s, s)) == 0 as masked_fill's condition, s dynamic.
// CHECK-LABEL: func.func @trilu_causal
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %{{[^,]+}}, %{{[^,]+}}, %{{[^ ]+}} {is_causal = 1 : i64, scale = 1.000000e+00 : f32} : (tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
// CHECK-NEXT:    return %[[O]]
func.func @trilu_causal(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> attributes {tessel.dim_params = [["", "", "seq", ""], ["", "", "seq", ""], ["", "", "seq", ""]]} {
  %zero = tessel.constant dense<0.0> : tensor<f32>
  %ninf = tessel.constant dense<0xFF800000> : tensor<f32>
  %sh = tessel.shape %q {start = 2 : i64, end = 3 : i64} : (tensor<1x2x?x8xf32>) -> tensor<1xi64>
  %ss = tessel.concat %sh, %sh {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %ones = tessel.constant_of_shape %ss {value = dense<1.0> : tensor<1xf32>} : (tensor<2xi64>) -> tensor<?x?xf32>
  %tril = tessel.trilu %ones {upper = 0 : i64} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %hidden = tessel.equal %tril, %zero : (tensor<?x?xf32>, tensor<f32>) -> tensor<?x?xi1>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x?x8xf32>) -> tensor<1x2x8x?xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %sm = tessel.where %hidden, %ninf, %s : (tensor<?x?xi1>, tensor<f32>, tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32>
  %p = tessel.softmax %sm {axis = -1 : i64} : (tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// Older transformers: (1 - attention_mask[:, None, None, :]) * lowest.
// CHECK-LABEL: func.func @inverted_float_padding
// CHECK-SAME:    %[[AM:[^:]+]]: tensor<2x16xi1>)
// CHECK-NEXT:    %[[PAD:.+]] = tessel.unsqueeze %[[AM]] {axes = array<i64: 1, 2>}
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %[[PAD]] {fully_masked_rows = "uniform", scale = 1.000000e+00 : f32}
// CHECK-NEXT:    return %[[O]]
func.func @inverted_float_padding(%q: tensor<2x2x16x8xf32>, %k: tensor<2x2x16x8xf32>, %v: tensor<2x2x16x8xf32>, %am: tensor<2x16xi1>) -> tensor<2x2x16x8xf32> {
  %one = tessel.constant dense<1.0> : tensor<f32>
  %lowest = tessel.constant dense<-3.40282347E+38> : tensor<f32>
  %u = tessel.unsqueeze %am {axes = array<i64: 1, 2>} : (tensor<2x16xi1>) -> tensor<2x1x1x16xi1>
  %f = tessel.cast %u {to = f32} : (tensor<2x1x1x16xi1>) -> tensor<2x1x1x16xf32>
  %inv = tessel.sub %one, %f : (tensor<f32>, tensor<2x1x1x16xf32>) -> tensor<2x1x1x16xf32>
  %mask = tessel.mul %inv, %lowest : (tensor<2x1x1x16xf32>, tensor<f32>) -> tensor<2x1x1x16xf32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x2x16x8xf32>) -> tensor<2x2x8x16xf32>
  %s = tessel.matmul %q, %kt : (tensor<2x2x16x8xf32>, tensor<2x2x8x16xf32>) -> tensor<2x2x16x16xf32>
  %sm = tessel.add %s, %mask : (tensor<2x2x16x16xf32>, tensor<2x1x1x16xf32>) -> tensor<2x2x16x16xf32>
  %p = tessel.softmax %sm {axis = -1 : i64} : (tensor<2x2x16x16xf32>) -> tensor<2x2x16x16xf32>
  %o = tessel.matmul %p, %v : (tensor<2x2x16x16xf32>, tensor<2x2x16x8xf32>) -> tensor<2x2x16x8xf32>
  return %o : tensor<2x2x16x8xf32>
}

// -----

// A fill of -10000 is not -inf-like: a fully padded row would be a softmax
// of the scores, not uniform. The mask stays as it is, with the reason.
// CHECK-LABEL: func.func @finite_fill_kept
// CHECK:         %[[M:.+]] = tessel.where
// CHECK-NEXT:    tessel.attention %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %[[M]] {scale = 1.000000e+00 : f32, tessel.mask_note = "mask structure: the fill value -10000.000000 is not -inf or a huge negative number"}
// CHECK-NOT:     tessel.softmax
func.func @finite_fill_kept(%q: tensor<2x2x16x8xf32>, %k: tensor<2x2x16x8xf32>, %v: tensor<2x2x16x8xf32>, %am: tensor<2x16xi1>) -> tensor<2x2x16x8xf32> {
  %zero = tessel.constant dense<0.0> : tensor<f32>
  %fill = tessel.constant dense<-10000.0> : tensor<f32>
  %u = tessel.unsqueeze %am {axes = array<i64: 1, 2>} : (tensor<2x16xi1>) -> tensor<2x1x1x16xi1>
  %mask = tessel.where %u, %zero, %fill : (tensor<2x1x1x16xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x1x16xf32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x2x16x8xf32>) -> tensor<2x2x8x16xf32>
  %s = tessel.matmul %q, %kt : (tensor<2x2x16x8xf32>, tensor<2x2x8x16xf32>) -> tensor<2x2x16x16xf32>
  %sm = tessel.add %s, %mask : (tensor<2x2x16x16xf32>, tensor<2x1x1x16xf32>) -> tensor<2x2x16x16xf32>
  %p = tessel.softmax %sm {axis = -1 : i64} : (tensor<2x2x16x16xf32>) -> tensor<2x2x16x16xf32>
  %o = tessel.matmul %p, %v : (tensor<2x2x16x16xf32>, tensor<2x2x16x8xf32>) -> tensor<2x2x16x8xf32>
  return %o : tensor<2x2x16x8xf32>
}

// -----

// A causal bound and a boolean input that varies with the query: kept.
// CHECK-LABEL: func.func @query_dependent_kept
// CHECK:         %[[M:.+]] = tessel.and
// CHECK-NEXT:    tessel.attention %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %[[M]] {scale = 1.000000e+00 : f32, tessel.mask_note = "mask structure: the mask depends on the query position in a way that is not a bound on j - i"}
func.func @query_dependent_kept(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>, %data: tensor<16x16xi1>) -> tensor<1x2x16x8xf32> {
  %ninf = tessel.constant dense<0xFF800000> : tensor<f32>
  %c0 = tessel.constant dense<0> : tensor<i64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %c16 = tessel.constant dense<16> : tensor<i64>
  %r = tessel.range %c0, %c16, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<16xi64>
  %i = tessel.unsqueeze %r {axes = array<i64: 1>} : (tensor<16xi64>) -> tensor<16x1xi64>
  %le = tessel.less_or_equal %r, %i : (tensor<16xi64>, tensor<16x1xi64>) -> tensor<16x16xi1>
  %m = tessel.and %le, %data : (tensor<16x16xi1>, tensor<16x16xi1>) -> tensor<16x16xi1>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x16x8xf32>) -> tensor<1x2x8x16xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x16x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x16x16xf32>
  %sm = tessel.where %m, %s, %ninf : (tensor<16x16xi1>, tensor<1x2x16x16xf32>, tensor<f32>) -> tensor<1x2x16x16xf32>
  %p = tessel.softmax %sm {axis = -1 : i64} : (tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x16x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %o : tensor<1x2x16x8xf32>
}

// -----

// j <= i with 4 queries over 16 keys: the graph aligns the bound to the
// start, tessel's is_causal to the end. Kept.
// CHECK-LABEL: func.func @causal_unequal_lengths_kept
// CHECK:         %[[M:.+]] = tessel.less_or_equal
// CHECK-NEXT:    tessel.attention %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %[[M]] {scale = 1.000000e+00 : f32, tessel.mask_note = "mask structure: cannot prove that seq_q = seq_kv for the position bounds"}
func.func @causal_unequal_lengths_kept(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x4x8xf32> {
  %c0 = tessel.constant dense<0> : tensor<i64>
  %c1 = tessel.constant dense<1> : tensor<i64>
  %c4 = tessel.constant dense<4> : tensor<i64>
  %c16 = tessel.constant dense<16> : tensor<i64>
  %ninf = tessel.constant dense<0xFF800000> : tensor<f32>
  %rq = tessel.range %c0, %c4, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<4xi64>
  %rk = tessel.range %c0, %c16, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<16xi64>
  %i = tessel.unsqueeze %rq {axes = array<i64: 1>} : (tensor<4xi64>) -> tensor<4x1xi64>
  %keep = tessel.less_or_equal %rk, %i : (tensor<16xi64>, tensor<4x1xi64>) -> tensor<4x16xi1>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x16x8xf32>) -> tensor<1x2x8x16xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x4x16xf32>
  %sm = tessel.where %keep, %s, %ninf : (tensor<4x16xi1>, tensor<1x2x4x16xf32>, tensor<f32>) -> tensor<1x2x4x16xf32>
  %p = tessel.softmax %sm {axis = -1 : i64} : (tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x4x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
