// RUN: tessel-opt %s -tessel-fuse-attention -split-input-file | FileCheck %s

//===----------------------------------------------------------------------===//
// Spellings that fuse
//===----------------------------------------------------------------------===//

// Eager: scores divided by sqrt(head_dim), float mask added.
// CHECK-LABEL: func.func @fuse_eager_div
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x4x16x64xf32>, %[[K:[^:]+]]: tensor<1x4x16x64xf32>, %[[V:[^:]+]]: tensor<1x4x16x64xf32>, %[[M:[^:]+]]: tensor<1x1x16x16xf32>)
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 1.250000e-01 : f32} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x1x16x16xf32>) -> tensor<1x4x16x64xf32>
// CHECK-NEXT:    return %[[O]]
func.func @fuse_eager_div(%q: tensor<1x4x16x64xf32>, %k: tensor<1x4x16x64xf32>, %v: tensor<1x4x16x64xf32>, %mask: tensor<1x1x16x16xf32>) -> tensor<1x4x16x64xf32> {
  %c8 = tessel.constant dense<8.0> : tensor<f32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x16x64xf32>) -> tensor<1x4x64x16xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x4x16x64xf32>, tensor<1x4x64x16xf32>) -> tensor<1x4x16x16xf32>
  %ss = tessel.div %s, %c8 : (tensor<1x4x16x16xf32>, tensor<f32>) -> tensor<1x4x16x16xf32>
  %m = tessel.add %ss, %mask : (tensor<1x4x16x16xf32>, tensor<1x1x16x16xf32>) -> tensor<1x4x16x16xf32>
  %p = tessel.softmax %m {axis = -1 : i64} : (tensor<1x4x16x16xf32>) -> tensor<1x4x16x16xf32>
  %o = tessel.matmul %p, %v : (tensor<1x4x16x16xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return %o : tensor<1x4x16x64xf32>
}

// -----

// No mask, the scale as a mul of the scores (constant on the left), and
// identity casts of the probabilities (TorchScript exports).
// CHECK-LABEL: func.func @fuse_no_mask
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<2x4x8x16xf32>, %[[K:[^:]+]]: tensor<2x4x8x16xf32>, %[[V:[^:]+]]: tensor<2x4x8x16xf32>)
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %[[Q]], %[[K]], %[[V]] {scale = 2.500000e-01 : f32} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
// CHECK-NEXT:    return %[[O]]
func.func @fuse_no_mask(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  %c = tessel.constant dense<0.25> : tensor<f32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x8x16xf32>) -> tensor<2x4x16x8xf32>
  %s = tessel.matmul %q, %kt : (tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x8x8xf32>
  %ss = tessel.mul %c, %s : (tensor<f32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %p = tessel.softmax %ss {axis = 3 : i64} : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %p1 = tessel.cast %p {to = f32} : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %p2 = tessel.cast %p1 {to = f32} : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %o = tessel.matmul %p2, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// SDPA: sqrt(scale) on both q and k^T multiplies into one scale; k^T is a
// transpose of the [b, s, h, d] projection, so k is that with perm 0,2,1,3.
// CHECK-LABEL: func.func @fuse_scale_on_q_and_k
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x4x8x16xf32>, %[[KBSHD:[^:]+]]: tensor<1x8x4x16xf32>, %[[V:[^:]+]]: tensor<1x4x8x16xf32>)
// CHECK-NEXT:    %[[K:.+]] = tessel.transpose %[[KBSHD]] {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x4x16xf32>) -> tensor<1x4x8x16xf32>
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %[[Q]], %[[K]], %[[V]] {scale = 2.500000e-01 : f32}
// CHECK-NEXT:    return %[[O]]
func.func @fuse_scale_on_q_and_k(%q: tensor<1x4x8x16xf32>, %k: tensor<1x8x4x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %c = tessel.constant dense<0.5> : tensor<1xf32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x8x4x16xf32>) -> tensor<1x4x16x8xf32>
  %qs = tessel.mul %q, %c : (tensor<1x4x8x16xf32>, tensor<1xf32>) -> tensor<1x4x8x16xf32>
  %kts = tessel.mul %kt, %c : (tensor<1x4x16x8xf32>, tensor<1xf32>) -> tensor<1x4x16x8xf32>
  %s = tessel.matmul %qs, %kts : (tensor<1x4x8x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x8x8xf32>
  %p = tessel.softmax %s {axis = -1 : i64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %o = tessel.matmul %p, %v : (tensor<1x4x8x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

// Dynamo SDPA: k^T = reshape(transpose(reshape(k, [b*h, s, d]), [0, 2, 1]),
// [b, h, d, s]) with the shapes read from k at run time; the pass proves
// that this swaps k's last two dims although b and s are dynamic. The
// inputs' batch dims are one size by their dim_params (as imported).
// CHECK-LABEL: func.func @fuse_reshape_transpose_k
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x4x?x8xf32>, %[[K:[^:]+]]: tensor<?x4x?x8xf32>, %[[V:[^:]+]]: tensor<?x4x?x8xf32>)
// CHECK-NOT:     tessel.softmax
// CHECK:         %[[O:.+]] = tessel.attention %[[Q]], %[[K]], %[[V]] {scale = 0.124999993 : f32} : (tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>) -> tensor<?x4x?x8xf32>
// CHECK-NEXT:    return %[[O]]
func.func @fuse_reshape_transpose_k(%q: tensor<?x4x?x8xf32>, %k: tensor<?x4x?x8xf32>, %v: tensor<?x4x?x8xf32>) -> tensor<?x4x?x8xf32>
    attributes {tessel.dim_params = [["batch", "", "seq", ""], ["batch", "", "seq", ""], ["batch", "", "seq", ""]]} {
  %c = tessel.constant dense<0.353553385> : tensor<f32>
  %minus1 = tessel.constant dense<-1> : tensor<1xi64>
  %minus2 = tessel.constant dense<-2> : tensor<1xi64>
  %zero = tessel.constant dense<0> : tensor<1xi64>
  %one = tessel.constant dense<1> : tensor<1xi64>
  %two = tessel.constant dense<2> : tensor<1xi64>
  %eight = tessel.constant dense<8> : tensor<1xi64>
  %shape = tessel.shape %k : (tensor<?x4x?x8xf32>) -> tensor<4xi64>
  %seq = tessel.slice %shape, %minus2, %minus1, %zero, %one : (tensor<4xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %bh = tessel.slice %shape, %zero, %two, %zero, %one : (tensor<4xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %merged = tessel.concat %minus1, %seq, %eight {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %k3 = tessel.reshape %k, %merged : (tensor<?x4x?x8xf32>, tensor<3xi64>) -> tensor<?x?x8xf32>
  %k3t = tessel.transpose %k3 {perm = array<i64: 0, 2, 1>} : (tensor<?x?x8xf32>) -> tensor<?x8x?xf32>
  %split = tessel.concat %bh, %eight, %seq {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %kt = tessel.reshape %k3t, %split : (tensor<?x8x?xf32>, tensor<4xi64>) -> tensor<?x4x8x?xf32>
  %qs = tessel.mul %q, %c : (tensor<?x4x?x8xf32>, tensor<f32>) -> tensor<?x4x?x8xf32>
  %kts = tessel.mul %kt, %c : (tensor<?x4x8x?xf32>, tensor<f32>) -> tensor<?x4x8x?xf32>
  %s = tessel.matmul %qs, %kts : (tensor<?x4x?x8xf32>, tensor<?x4x8x?xf32>) -> tensor<?x4x?x?xf32>
  %p = tessel.softmax %s {axis = -1 : i64} : (tensor<?x4x?x?xf32>) -> tensor<?x4x?x?xf32>
  %o = tessel.matmul %p, %v : (tensor<?x4x?x?xf32>, tensor<?x4x?x8xf32>) -> tensor<?x4x?x8xf32>
  return %o : tensor<?x4x?x8xf32>
}

// -----

// A bool mask through where(mask, s, -inf) is the op's bool mask.
// CHECK-LABEL: func.func @fuse_bool_mask
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x2x8x16xf32>, %[[K:[^:]+]]: tensor<1x2x8x16xf32>, %[[V:[^:]+]]: tensor<1x2x8x16xf32>, %[[M:[^:]+]]: tensor<1x1x8x8xi1>)
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 2.500000e-01 : f32} : ({{.*}}, tensor<1x1x8x8xi1>) -> tensor<1x2x8x16xf32>
// CHECK-NEXT:    return %[[O]]
func.func @fuse_bool_mask(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %mask: tensor<1x1x8x8xi1>) -> tensor<1x2x8x16xf32> {
  %c = tessel.constant dense<0.25> : tensor<f32>
  %inf = tessel.constant dense<0xFF800000> : tensor<f32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x16x8xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %ss = tessel.mul %s, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %m = tessel.where %mask, %ss, %inf : (tensor<1x1x8x8xi1>, tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = tessel.softmax %m {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

// where(mask, -inf, s) masks the true positions: the op gets not(mask).
// CHECK-LABEL: func.func @fuse_inverted_bool_mask
// CHECK-SAME:    %[[M:[^:]+]]: tensor<1x1x8x8xi1>)
// CHECK-NEXT:    %[[KEEP:.+]] = tessel.not %[[M]] : (tensor<1x1x8x8xi1>) -> tensor<1x1x8x8xi1>
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %{{.+}}, %{{.+}}, %{{.+}}, %[[KEEP]] {scale = 1.000000e+00 : f32}
// CHECK-NEXT:    return %[[O]]
func.func @fuse_inverted_bool_mask(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %mask: tensor<1x1x8x8xi1>) -> tensor<1x2x8x16xf32> {
  %inf = tessel.constant dense<0xFF800000> : tensor<1xf32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x16x8xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %m = tessel.where %mask, %inf, %s : (tensor<1x1x8x8xi1>, tensor<1xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %p = tessel.softmax %m {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

// where(is_nan(p), 0, p): fully masked query rows give zeros, not NaN.
// CHECK-LABEL: func.func @fuse_isnan_guard
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x2x8x16xf32>, %[[K:[^:]+]]: tensor<1x2x8x16xf32>, %[[V:[^:]+]]: tensor<1x2x8x16xf32>, %[[M:[^:]+]]: tensor<1x1x8x8xf32>)
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %[[Q]], %[[K]], %[[V]], %[[M]] {fully_masked_rows = "zero", scale = 2.500000e-01 : f32}
// CHECK-NEXT:    return %[[O]]
func.func @fuse_isnan_guard(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %mask: tensor<1x1x8x8xf32>) -> tensor<1x2x8x16xf32> {
  %c = tessel.constant dense<0.5> : tensor<f32>
  %zero = tessel.constant dense<0.0> : tensor<1xf32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x16x8xf32>
  %qs = tessel.mul %q, %c : (tensor<1x2x8x16xf32>, tensor<f32>) -> tensor<1x2x8x16xf32>
  %kts = tessel.mul %kt, %c : (tensor<1x2x16x8xf32>, tensor<f32>) -> tensor<1x2x16x8xf32>
  %s = tessel.matmul %qs, %kts : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %m = tessel.add %s, %mask : (tensor<1x2x8x8xf32>, tensor<1x1x8x8xf32>) -> tensor<1x2x8x8xf32>
  %p = tessel.softmax %m {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %nan = tessel.is_nan %p : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xi1>
  %g = tessel.where %nan, %zero, %p : (tensor<1x2x8x8xi1>, tensor<1xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = tessel.matmul %g, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

// GQA: repeat_kv (unsqueeze, expand by the shape read from k, reshape) of
// both k and v is dropped; the op reads the 2 kv heads.
// CHECK-LABEL: func.func @fuse_gqa_repeat_kv
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x4x?x8xf32>, %[[K:[^:]+]]: tensor<?x2x?x8xf32>, %[[V:[^:]+]]: tensor<?x2x?x8xf32>)
// CHECK-NOT:     tessel.expand
// CHECK:         %[[O:.+]] = tessel.attention %[[Q]], %[[K]], %[[V]] {scale = 0.353553385 : f32} : (tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x4x?x8xf32>
// CHECK-NEXT:    return %[[O]]
func.func @fuse_gqa_repeat_kv(%q: tensor<?x4x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x8xf32>) -> tensor<?x4x?x8xf32>
    attributes {tessel.dim_params = [["batch", "", "seq", ""], ["batch", "", "seq", ""], ["batch", "", "seq", ""]]} {
  %c = tessel.constant dense<0.353553385> : tensor<f32>
  %two = tessel.constant dense<2> : tensor<1xi64>
  %four = tessel.constant dense<4> : tensor<1xi64>
  %kb = tessel.shape %k {end = 1 : i64} : (tensor<?x2x?x8xf32>) -> tensor<1xi64>
  %kh = tessel.shape %k {start = 1 : i64, end = 2 : i64} : (tensor<?x2x?x8xf32>) -> tensor<1xi64>
  %ksd = tessel.shape %k {start = 2 : i64} : (tensor<?x2x?x8xf32>) -> tensor<2xi64>
  %expand = tessel.concat %kb, %kh, %two, %ksd {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<5xi64>
  %merge = tessel.concat %kb, %four, %ksd {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  %k5 = tessel.unsqueeze %k {axes = array<i64: 2>} : (tensor<?x2x?x8xf32>) -> tensor<?x2x1x?x8xf32>
  %ke = tessel.expand %k5, %expand : (tensor<?x2x1x?x8xf32>, tensor<5xi64>) -> tensor<?x2x2x?x8xf32>
  %kr = tessel.reshape %ke, %merge : (tensor<?x2x2x?x8xf32>, tensor<4xi64>) -> tensor<?x4x?x8xf32>
  %v5 = tessel.unsqueeze %v {axes = array<i64: 2>} : (tensor<?x2x?x8xf32>) -> tensor<?x2x1x?x8xf32>
  %ve = tessel.expand %v5, %expand : (tensor<?x2x1x?x8xf32>, tensor<5xi64>) -> tensor<?x2x2x?x8xf32>
  %vr = tessel.reshape %ve, %merge : (tensor<?x2x2x?x8xf32>, tensor<4xi64>) -> tensor<?x4x?x8xf32>
  %kt = tessel.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : (tensor<?x4x?x8xf32>) -> tensor<?x4x8x?xf32>
  %s = tessel.matmul %q, %kt : (tensor<?x4x?x8xf32>, tensor<?x4x8x?xf32>) -> tensor<?x4x?x?xf32>
  %ss = tessel.mul %s, %c : (tensor<?x4x?x?xf32>, tensor<f32>) -> tensor<?x4x?x?xf32>
  %p = tessel.softmax %ss {axis = -1 : i64} : (tensor<?x4x?x?xf32>) -> tensor<?x4x?x?xf32>
  %o = tessel.matmul %p, %vr : (tensor<?x4x?x?xf32>, tensor<?x4x?x8xf32>) -> tensor<?x4x?x8xf32>
  return %o : tensor<?x4x?x8xf32>
}

// -----

// Heads split by Reshape to [b, s, -1, 16] (b and s read at run time) are
// ? in the types; the pass proves 64 / 16 = 4 heads and casts q, k and v to
// that, so that the op's head counts are static.
// CHECK-LABEL: func.func @fuse_proves_head_count
// CHECK:         %[[Q:.+]] = tensor.cast %{{.+}} : tensor<?x?x?x16xf32> to tensor<?x4x?x16xf32>
// CHECK:         %[[K:.+]] = tensor.cast %{{.+}} : tensor<?x?x?x16xf32> to tensor<?x4x?x16xf32>
// CHECK:         %[[V:.+]] = tensor.cast %{{.+}} : tensor<?x?x?x16xf32> to tensor<?x4x?x16xf32>
// CHECK:         %[[O:.+]] = tessel.attention %[[Q]], %[[K]], %[[V]] {scale = 2.500000e-01 : f32} : (tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>) -> tensor<?x?x?x16xf32>
// CHECK-NEXT:    return %[[O]]
func.func @fuse_proves_head_count(%x: tensor<?x?x64xf32>, %wq: tensor<64x64xf32>, %wk: tensor<64x64xf32>, %wv: tensor<64x64xf32>) -> tensor<?x?x?x16xf32> {
  %c = tessel.constant dense<0.25> : tensor<f32>
  %minus1 = tessel.constant dense<-1> : tensor<1xi64>
  %sixteen = tessel.constant dense<16> : tensor<1xi64>
  %bs = tessel.shape %x {end = 2 : i64} : (tensor<?x?x64xf32>) -> tensor<2xi64>
  %heads = tessel.concat %bs, %minus1, %sixteen {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %xq = tessel.matmul %x, %wq : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %xk = tessel.matmul %x, %wk : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %xv = tessel.matmul %x, %wv : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %q4 = tessel.reshape %xq, %heads : (tensor<?x?x64xf32>, tensor<4xi64>) -> tensor<?x?x?x16xf32>
  %k4 = tessel.reshape %xk, %heads : (tensor<?x?x64xf32>, tensor<4xi64>) -> tensor<?x?x?x16xf32>
  %v4 = tessel.reshape %xv, %heads : (tensor<?x?x64xf32>, tensor<4xi64>) -> tensor<?x?x?x16xf32>
  %q = tessel.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x?x?x16xf32>) -> tensor<?x?x?x16xf32>
  %v = tessel.transpose %v4 {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x?x?x16xf32>) -> tensor<?x?x?x16xf32>
  %kt = tessel.transpose %k4 {perm = array<i64: 0, 2, 3, 1>} : (tensor<?x?x?x16xf32>) -> tensor<?x?x16x?xf32>
  %s = tessel.matmul %q, %kt : (tensor<?x?x?x16xf32>, tensor<?x?x16x?xf32>) -> tensor<?x?x?x?xf32>
  %ss = tessel.mul %s, %c : (tensor<?x?x?x?xf32>, tensor<f32>) -> tensor<?x?x?x?xf32>
  %p = tessel.softmax %ss {axis = -1 : i64} : (tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
  %o = tessel.matmul %p, %v : (tensor<?x?x?x?xf32>, tensor<?x?x?x16xf32>) -> tensor<?x?x?x16xf32>
  return %o : tensor<?x?x?x16xf32>
}

// -----

// A constant mask that is exactly the causal one (queries aligned to the
// end of the keys) becomes is_causal = 1 and is dropped: bool via where ...
// CHECK-LABEL: func.func @fuse_constant_causal_bool
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x2x3x8xf32>, %[[K:[^:]+]]: tensor<1x2x4x8xf32>, %[[V:[^:]+]]: tensor<1x2x4x8xf32>)
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %[[Q]], %[[K]], %[[V]] {is_causal = 1 : i64, scale = 1.000000e+00 : f32} : (tensor<1x2x3x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x3x8xf32>
// CHECK-NEXT:    return %[[O]]
func.func @fuse_constant_causal_bool(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x3x8xf32> {
  %causal = tessel.constant dense<[[[[true, true, false, false], [true, true, true, false], [true, true, true, true]]]]> : tensor<1x1x3x4xi1>
  %inf = tessel.constant dense<0xFF800000> : tensor<f32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x3x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x3x4xf32>
  %m = tessel.where %causal, %s, %inf : (tensor<1x1x3x4xi1>, tensor<1x2x3x4xf32>, tensor<f32>) -> tensor<1x2x3x4xf32>
  %p = tessel.softmax %m {axis = -1 : i64} : (tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x3x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x3x8xf32>
  return %o : tensor<1x2x3x8xf32>
}

// -----

// ... or a float 0 / -inf mask added to the scores.
// CHECK-LABEL: func.func @fuse_constant_causal_float
// CHECK:         tessel.attention %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}} {is_causal = 1 : i64, scale = 1.000000e+00 : f32} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) ->
func.func @fuse_constant_causal_float(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32> {
  %causal = tessel.constant dense<[[0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x8xf32>) -> tensor<1x2x8x3xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x3x8xf32>, tensor<1x2x8x3xf32>) -> tensor<1x2x3x3xf32>
  %m = tessel.add %s, %causal : (tensor<1x2x3x3xf32>, tensor<3x3xf32>) -> tensor<1x2x3x3xf32>
  %p = tessel.softmax %m {axis = -1 : i64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32>
  return %o : tensor<1x2x3x8xf32>
}

// -----

// finfo.min instead of -inf: not provably is_causal (a row could differ if
// it masked everything), so the mask stays the op's mask as the graph adds
// it.
// CHECK-LABEL: func.func @fuse_constant_almost_causal
// CHECK-SAME:    (%{{[^:]+}}: tensor<1x2x3x8xf32>, %{{[^:]+}}: tensor<1x2x3x8xf32>, %{{[^:]+}}: tensor<1x2x3x8xf32>)
// CHECK:         %[[M:.+]] = tessel.constant
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %[[M]] {scale = 1.000000e+00 : f32}
func.func @fuse_constant_almost_causal(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32> {
  %causal = tessel.constant dense<[[0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x8xf32>) -> tensor<1x2x8x3xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x3x8xf32>, tensor<1x2x8x3xf32>) -> tensor<1x2x3x3xf32>
  %m = tessel.add %s, %causal : (tensor<1x2x3x3xf32>, tensor<3x3xf32>) -> tensor<1x2x3x3xf32>
  %p = tessel.softmax %m {axis = -1 : i64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32>
  return %o : tensor<1x2x3x8xf32>
}

//===----------------------------------------------------------------------===//
// Blocks that do not fuse: the softmax says why
//===----------------------------------------------------------------------===//

// -----

// The probabilities are also returned: the score matrix must exist anyway.
// CHECK-LABEL: func.func @no_fuse_probabilities_returned
// CHECK-NOT:     tessel.attention
// CHECK:         tessel.softmax %{{.+}} {tessel.unfused = "the probabilities are also used outside p x v"}
func.func @no_fuse_probabilities_returned(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>) {
  %c = tessel.constant dense<0.25> : tensor<f32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x16x8xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %ss = tessel.mul %s, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = tessel.softmax %ss {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o, %p : tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>
}

// -----

// The scores are also returned.
// CHECK-LABEL: func.func @no_fuse_scores_returned
// CHECK-NOT:     tessel.attention
// CHECK:         tessel.softmax %{{.+}} {tessel.unfused = "the scores are also used outside the softmax"}
func.func @no_fuse_scores_returned(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>) {
  %c = tessel.constant dense<0.25> : tensor<f32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x16x8xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %ss = tessel.mul %s, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = tessel.softmax %ss {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o, %s : tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>
}

// -----

// The scale is a run-time value.
// CHECK-LABEL: func.func @no_fuse_non_constant_scale
// CHECK-NOT:     tessel.attention
// CHECK:         tessel.softmax %{{.+}} {tessel.unfused = "the scale is not a constant"}
func.func @no_fuse_non_constant_scale(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %scale: tensor<f32>) -> tensor<1x2x8x16xf32> {
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x16x8xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %ss = tessel.div %s, %scale : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = tessel.softmax %ss {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

// The softmax normalises over the queries, not the keys.
// CHECK-LABEL: func.func @no_fuse_softmax_axis
// CHECK-NOT:     tessel.attention
// CHECK:         tessel.softmax %{{.+}} {axis = 2 : i64, tessel.unfused = "the softmax is not over the last axis (the keys)"}
func.func @no_fuse_softmax_axis(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %c = tessel.constant dense<0.25> : tensor<f32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x16x8xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %ss = tessel.mul %s, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = tessel.softmax %ss {axis = 2 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

// A finite fill (finfo.min) is not -inf: fully masked rows would differ.
// CHECK-LABEL: func.func @no_fuse_finite_fill
// CHECK-NOT:     tessel.attention
// CHECK:         tessel.softmax %{{.+}} {tessel.unfused = "the masked fill value is not -inf"}
func.func @no_fuse_finite_fill(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %mask: tensor<1x1x8x8xi1>) -> tensor<1x2x8x16xf32> {
  %min = tessel.constant dense<-3.40282347E+38> : tensor<f32>
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x16x8xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %m = tessel.where %mask, %s, %min : (tensor<1x1x8x8xi1>, tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = tessel.softmax %m {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

// One query against a mask of 8 query rows: the mask widens the scores to
// 8 rows, which tessel.attention (one row per query) cannot express.
// CHECK-LABEL: func.func @no_fuse_mask_widens_scores
// CHECK-NOT:     tessel.attention
// CHECK:         tessel.softmax %{{.+}} {tessel.unfused = "cannot prove that the mask broadcasts to [batch, heads, seq_q, seq_kv] without widening the scores"}
func.func @no_fuse_mask_widens_scores(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %mask: tensor<1x1x8x8xf32>) -> tensor<1x2x8x16xf32> {
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x16x8xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x2x1x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x1x8xf32>
  %m = tessel.add %s, %mask : (tensor<1x2x1x8xf32>, tensor<1x1x8x8xf32>) -> tensor<1x2x8x8xf32>
  %p = tessel.softmax %m {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = tessel.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

// repeat_kv on k only (v has all heads): the op would need k and v with
// the same heads, so the repeated k is used as it is (plain MHA).
// CHECK-LABEL: func.func @fuse_repeat_on_k_only
// CHECK:         %[[KR:.+]] = tessel.reshape
// CHECK-NEXT:    %[[O:.+]] = tessel.attention %{{.+}}, %[[KR]], %{{.+}} {scale = 1.000000e+00 : f32} : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
func.func @fuse_repeat_on_k_only(%q: tensor<1x4x8x8xf32>, %k: tensor<1x2x8x8xf32>, %v: tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %expand = tessel.constant dense<[1, 2, 2, 8, 8]> : tensor<5xi64>
  %merge = tessel.constant dense<[1, 4, 8, 8]> : tensor<4xi64>
  %k5 = tessel.unsqueeze %k {axes = array<i64: 2>} : (tensor<1x2x8x8xf32>) -> tensor<1x2x1x8x8xf32>
  %ke = tessel.expand %k5, %expand : (tensor<1x2x1x8x8xf32>, tensor<5xi64>) -> tensor<1x2x2x8x8xf32>
  %kr = tessel.reshape %ke, %merge : (tensor<1x2x2x8x8xf32>, tensor<4xi64>) -> tensor<1x4x8x8xf32>
  %kt = tessel.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %s = tessel.matmul %q, %kt : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %p = tessel.softmax %s {axis = -1 : i64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %o = tessel.matmul %p, %v : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  return %o : tensor<1x4x8x8xf32>
}

// -----

// A softmax with no matmul around it is not attention: no reason attached.
// CHECK-LABEL: func.func @not_attention
// CHECK:         tessel.softmax %{{.+}} : (tensor<2x256xf32>)
// CHECK-NOT:     tessel.unfused
func.func @not_attention(%x: tensor<2x256xf32>) -> tensor<2x256xf32> {
  %p = tessel.softmax %x {axis = -1 : i64} : (tensor<2x256xf32>) -> tensor<2x256xf32>
  return %p : tensor<2x256xf32>
}

// -----

// Without the dim_params contract, independent dynamic batch dims of q and
// k may differ (one may broadcast): not fused.
// CHECK-LABEL: func.func @no_fuse_unrelated_batch
// CHECK-NOT:     tessel.attention
// CHECK:         tessel.softmax %{{.+}} {tessel.unfused = "cannot prove that q, k and v have the same batch size"}
func.func @no_fuse_unrelated_batch(%q: tensor<?x2x8x16xf32>, %k: tensor<?x2x8x16xf32>, %v: tensor<?x2x8x16xf32>) -> tensor<?x2x8x16xf32> {
  %kt = tessel.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<?x2x8x16xf32>) -> tensor<?x2x16x8xf32>
  %s = tessel.matmul %q, %kt : (tensor<?x2x8x16xf32>, tensor<?x2x16x8xf32>) -> tensor<?x2x8x8xf32>
  %p = tessel.softmax %s {axis = -1 : i64} : (tensor<?x2x8x8xf32>) -> tensor<?x2x8x8xf32>
  %o = tessel.matmul %p, %v : (tensor<?x2x8x8xf32>, tensor<?x2x8x16xf32>) -> tensor<?x2x8x16xf32>
  return %o : tensor<?x2x8x16xf32>
}
