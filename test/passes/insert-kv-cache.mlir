// RUN: tessel-opt %s -tessel-insert-kv-cache -split-input-file -verify-diagnostics | FileCheck %s
//
// A stateless decoder becomes @prefill/@decode over the paged KV cache:
// attention -> tessel.kv_attention (layer index, no padding mask), the
// position range rebased on past_lens, the last position's logits returned,
// attention_mask removed; @main stays as it was.

// CHECK:       module attributes {tessel.kv_cache = {dtype = f32, head_dim = 16 : i64, num_kv_heads = 1 : i64, num_layers = 2 : i64, window_left = -1 : i64}}
// CHECK-LABEL: func.func @main(
// CHECK-SAME:    {tessel.name = "attention_mask"}
// CHECK:         tessel.attention
// CHECK:         tessel.attention
// CHECK-NOT:     kv_attention
// CHECK-LABEL: func.func @prefill(
// CHECK-SAME:    %[[IDS:[^:]+]]: tensor<?x?xi64> {tessel.name = "input_ids"}, %[[PAST:[^:]+]]: tensor<?xi64> {tessel.name = "past_lens"})
// CHECK-SAME:    -> (tensor<?x8xf32> {tessel.name = "logits"})
// CHECK-SAME:    tessel.dim_params = {{\[}}["batch", "seq"], ["batch"]]
// CHECK-SAME:    tessel.entry = "prefill"
// CHECK:         %[[R:.+]] = tessel.range
// CHECK:         %[[PCOL:.+]] = tessel.unsqueeze %[[PAST]] {axes = array<i64: 1>} : (tensor<?xi64>) -> tensor<?x1xi64>
// CHECK:         %[[PROW:.+]] = tessel.unsqueeze %[[R]] {axes = array<i64: 0>} : (tensor<?xi64>) -> tensor<1x?xi64>
// CHECK:         %[[POS:.+]] = tessel.add %[[PCOL]], %[[PROW]] : (tensor<?x1xi64>, tensor<1x?xi64>) -> tensor<?x?xi64>
// CHECK:         tessel.gather %{{.+}}, %[[POS]] : (tensor<32x16xf32>, tensor<?x?xi64>) -> tensor<?x?x16xf32>
// CHECK:         tessel.kv_attention %{{.+}}, %{{.+}}, %{{.+}}, %[[PAST]] {layer = 0 : i64, scale = 2.500000e-01 : f32}
// CHECK:         tessel.kv_attention %{{.+}}, %{{.+}}, %{{.+}}, %[[PAST]] {layer = 1 : i64, scale = 2.500000e-01 : f32}
// CHECK-NOT:     tessel.attention
// CHECK:         %[[LAST:.+]] = tessel.sub
// CHECK:         %[[OUT:.+]] = tessel.gather %{{.+}}, %[[LAST]] {axis = 1 : i64} : (tensor<?x?x8xf32>, tensor<i64>) -> tensor<?x8xf32>
// CHECK:         return %[[OUT]]
// CHECK-LABEL: func.func @decode(
// CHECK-SAME:    tessel.entry = "decode"
// CHECK:         tessel.kv_attention {{.+}} {layer = 0 : i64, mode = "decode", scale = 2.500000e-01 : f32}
// CHECK:         tessel.kv_attention {{.+}} {layer = 1 : i64, mode = "decode", scale = 2.500000e-01 : f32}
module {
  func.func @main(%ids: tensor<?x?xi64> {tessel.name = "input_ids"}, %am: tensor<?x?xi64> {tessel.name = "attention_mask"}) -> (tensor<?x?x8xf32> {tessel.name = "logits"}) attributes {tessel.dim_params = [["batch", "seq"], ["batch", "seq"]]} {
    %emb = tessel.constant dense<1.0> : tensor<8x16xf32>
    %pos = tessel.constant dense<0.5> : tensor<32x16xf32>
    %head = tessel.constant dense<0.25> : tensor<16x8xf32>
    %c0 = tessel.constant dense<0> : tensor<i64>
    %c1 = tessel.constant dense<1> : tensor<i64>
    %x = tessel.gather %emb, %ids : (tensor<8x16xf32>, tensor<?x?xi64>) -> tensor<?x?x16xf32>
    %shape = tessel.shape %am : (tensor<?x?xi64>) -> tensor<2xi64>
    %s = tessel.gather %shape, %c1 : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
    %r = tessel.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
    %p = tessel.unsqueeze %r {axes = array<i64: 0>} : (tensor<?xi64>) -> tensor<1x?xi64>
    %pe = tessel.gather %pos, %p : (tensor<32x16xf32>, tensor<1x?xi64>) -> tensor<1x?x16xf32>
    %h = tessel.add %x, %pe : (tensor<?x?x16xf32>, tensor<1x?x16xf32>) -> tensor<?x?x16xf32>
    %m = tessel.cast %am {to = i1} : (tensor<?x?xi64>) -> tensor<?x?xi1>
    %mask = tessel.unsqueeze %m {axes = array<i64: 1, 2>} : (tensor<?x?xi1>) -> tensor<?x1x1x?xi1>
    %q = tessel.unsqueeze %h {axes = array<i64: 1>} : (tensor<?x?x16xf32>) -> tensor<?x1x?x16xf32>
    %a = tessel.attention %q, %q, %q, %mask {fully_masked_rows = "uniform", is_causal = 1 : i64, scale = 2.500000e-01 : f32} : (tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x1x?xi1>) -> tensor<?x1x?x16xf32>
    %a2 = tessel.attention %a, %a, %a, %mask {fully_masked_rows = "uniform", is_causal = 1 : i64, scale = 2.500000e-01 : f32} : (tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x1x?xi1>) -> tensor<?x1x?x16xf32>
    %o = tessel.squeeze %a2 {axes = array<i64: 1>} : (tensor<?x1x?x16xf32>) -> tensor<?x?x16xf32>
    %logits = tessel.matmul %o, %head : (tensor<?x?x16xf32>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
    return %logits : tensor<?x?x8xf32>
  }
}

// -----

// Not causal (an encoder): no cache.
module {
  func.func @main(%ids: tensor<?x?xi64> {tessel.name = "input_ids"}, %q: tensor<?x1x?x16xf32>) -> (tensor<?x?x16xf32>) {
    // expected-error @+1 {{'tessel.attention' op cannot use a KV cache: it is not causal}}
    %a = tessel.attention %q, %q, %q {scale = 2.500000e-01 : f32} : (tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>) -> tensor<?x1x?x16xf32>
    %o = tessel.squeeze %a {axes = array<i64: 1>} : (tensor<?x1x?x16xf32>) -> tensor<?x?x16xf32>
    return %o : tensor<?x?x16xf32>
  }
}

// -----

// A mask computed from something besides attention_mask.
module {
  func.func @main(%ids: tensor<?x?xi64> {tessel.name = "input_ids"}, %q: tensor<?x1x?x16xf32>, %bias: tensor<?x1x?x?xf32>) -> (tensor<?x?x16xf32>) {
    // expected-error @+1 {{cannot use a KV cache: its mask depends on more than attention_mask}}
    %a = tessel.attention %q, %q, %q, %bias {is_causal = 1 : i64, scale = 2.500000e-01 : f32} : (tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x?x?xf32>) -> tensor<?x1x?x16xf32>
    %o = tessel.squeeze %a {axes = array<i64: 1>} : (tensor<?x1x?x16xf32>) -> tensor<?x?x16xf32>
    return %o : tensor<?x?x16xf32>
  }
}

// -----

// No input_ids argument.
// expected-error @+2 {{tessel-insert-kv-cache: @main has no 'input_ids' argument}}
module {
  func.func @main(%x: tensor<?x?xi64>) -> (tensor<?x?xi64>) {
    return %x : tensor<?x?xi64>
  }
}

// -----

// No attention at all.
module {
  // expected-error @+1 {{@main has no tessel.attention}}
  func.func @main(%ids: tensor<?x?xi64> {tessel.name = "input_ids"}) -> (tensor<?x?x1xf32>) {
    %f = tessel.cast %ids {to = f32} : (tensor<?x?xi64>) -> tensor<?x?xf32>
    %u = tessel.unsqueeze %f {axes = array<i64: 2>} : (tensor<?x?xf32>) -> tensor<?x?x1xf32>
    return %u : tensor<?x?x1xf32>
  }
}

// -----

// Positions from a cumulative sum of attention_mask would not follow the
// cache: refused.
module {
  func.func @main(%ids: tensor<?x?xi64> {tessel.name = "input_ids"}, %am: tensor<?x?xi64> {tessel.name = "attention_mask"}) -> (tensor<?x?x16xf32> {tessel.name = "logits"}) {
    %pos = tessel.constant dense<0.5> : tensor<32x16xf32>
    %c1 = tessel.constant dense<1> : tensor<i64>
    // expected-error @+1 {{'tessel.cum_sum' op cannot use a KV cache: it reads attention_mask for something other than an attention mask}}
    %cs = tessel.cum_sum %am, %c1 : (tensor<?x?xi64>, tensor<i64>) -> tensor<?x?xi64>
    %pe = tessel.gather %pos, %cs : (tensor<32x16xf32>, tensor<?x?xi64>) -> tensor<?x?x16xf32>
    %q = tessel.unsqueeze %pe {axes = array<i64: 1>} : (tensor<?x?x16xf32>) -> tensor<?x1x?x16xf32>
    %a = tessel.attention %q, %q, %q {is_causal = 1 : i64, scale = 2.500000e-01 : f32} : (tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>) -> tensor<?x1x?x16xf32>
    %o = tessel.squeeze %a {axes = array<i64: 1>} : (tensor<?x1x?x16xf32>) -> tensor<?x?x16xf32>
    return %o : tensor<?x?x16xf32>
  }
}

// -----

// A sliding window and a softcap carry over to the cache's attention and
// to the module's cache description (the runtime recycles blocks that fall
// out of the window).
// CHECK:       module attributes {tessel.kv_cache = {dtype = f32, head_dim = 16 : i64, num_kv_heads = 1 : i64, num_layers = 1 : i64, window_left = 4 : i64}}
// CHECK-LABEL: func.func @prefill(
// CHECK:         tessel.kv_attention {{.+}} {layer = 0 : i64, scale = 2.500000e-01 : f32, softcap = 3.000000e+01 : f32, window_left = 4 : i64}
module {
  func.func @main(%ids: tensor<?x?xi64> {tessel.name = "input_ids"}) -> (tensor<?x?x16xf32> {tessel.name = "logits"}) {
    %emb = tessel.constant dense<1.0> : tensor<8x16xf32>
    %x = tessel.gather %emb, %ids : (tensor<8x16xf32>, tensor<?x?xi64>) -> tensor<?x?x16xf32>
    %q = tessel.unsqueeze %x {axes = array<i64: 1>} : (tensor<?x?x16xf32>) -> tensor<?x1x?x16xf32>
    %a = tessel.attention %q, %q, %q {is_causal = 1 : i64, scale = 2.500000e-01 : f32, softcap = 30.0 : f32, window_left = 4 : i64} : (tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>) -> tensor<?x1x?x16xf32>
    %o = tessel.squeeze %a {axes = array<i64: 1>} : (tensor<?x1x?x16xf32>) -> tensor<?x?x16xf32>
    return %o : tensor<?x?x16xf32>
  }
}
