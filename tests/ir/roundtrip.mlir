// Textual q3 IR parses, verifies and prints back to itself (twice through the driver).
// RUN: qwen3c-opt %s | qwen3c-opt | FileCheck %s

// CHECK-LABEL: module
// CHECK: q3.weight @model.embed_tokens.weight : tensor<16x8xbf16>
// CHECK: q3.weight @model.layers.0.self_attn.k_proj.weight : tensor<4x8xf16>
// CHECK: func.func @forward(%[[IDS:.*]]: tensor<?xi64>, %[[POS:.*]]: tensor<?xi64>, %[[SLOTS:.*]]: tensor<?xi64>, %[[CACHE:.*]]: !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>)
// CHECK: %[[EMB:.*]] = q3.get_weight @model.embed_tokens.weight
// CHECK: %[[X:.*]] = q3.embedding %[[EMB]][%[[IDS]]] : tensor<16x8xbf16>, tensor<?xi64> -> tensor<?x8xf32>
// CHECK: q3.rms_norm %[[X]], %{{.*}} {epsilon = 9.9999999999999995E-7 : f64} : tensor<?x8xf32>, tensor<8xf32>
// CHECK: q3.head_rms_norm
// CHECK: q3.rope %{{.*}}, %[[POS]] {head_dim = 4 : i64, theta = 1.000000e+06 : f64}
// CHECK: q3.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[CACHE]] at %[[POS]] in %[[SLOTS]] {head_dim = 4 : i64, layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 5.000000e-01 : f64}
// CHECK: q3.silu
// CHECK: q3.mul
// CHECK: q3.add
// CHECK: return %{{.*}} : tensor<?x16xf32>

module {
  q3.weight @model.embed_tokens.weight : tensor<16x8xbf16>
  q3.weight @model.layers.0.input_layernorm.weight : tensor<8xf32>
  q3.weight @model.layers.0.self_attn.k_proj.weight : tensor<4x8xf16>
  q3.weight @model.layers.0.self_attn.k_norm.weight : tensor<4xf32>
  func.func @forward(%ids: tensor<?xi64>, %pos: tensor<?xi64>,
                     %slots: tensor<?xi64>, %cache: !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>)
      -> tensor<?x16xf32> {
    %emb = q3.get_weight @model.embed_tokens.weight : tensor<16x8xbf16>
    %x = q3.embedding %emb[%ids] : tensor<16x8xbf16>, tensor<?xi64> -> tensor<?x8xf32>
    %n = q3.get_weight @model.layers.0.input_layernorm.weight : tensor<8xf32>
    %h = q3.rms_norm %x, %n {epsilon = 1.0e-6 : f64} : tensor<?x8xf32>, tensor<8xf32>
    %wk = q3.get_weight @model.layers.0.self_attn.k_proj.weight : tensor<4x8xf16>
    %k = q3.linear %h, %wk : tensor<?x8xf32>, tensor<4x8xf16> -> tensor<?x4xf32>
    %kn = q3.get_weight @model.layers.0.self_attn.k_norm.weight : tensor<4xf32>
    %k2 = q3.head_rms_norm %k, %kn {epsilon = 1.0e-6 : f64} : tensor<?x4xf32>, tensor<4xf32>
    %q = q3.rope %h, %pos {head_dim = 4 : i64, theta = 1.0e6 : f64} : tensor<?x8xf32>, tensor<?xi64>
    %a = q3.attention %q, %k2, %k2, %cache at %pos in %slots {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x8xf32>, tensor<?x4xf32>, !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>
    %s = q3.silu %a : tensor<?x8xf32>
    %m = q3.mul %s, %h : tensor<?x8xf32>
    %y = q3.add %m, %x : tensor<?x8xf32>
    %emb2 = q3.get_weight @model.embed_tokens.weight : tensor<16x8xbf16>
    %logits = q3.linear %y, %emb2 : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
    return %logits : tensor<?x16xf32>
  }
}
