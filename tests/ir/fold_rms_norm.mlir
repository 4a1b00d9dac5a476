// q3-fold-rms-norm: a norm whose users are all linears (q, k, v) disappears into them; the
// post-attention norm, read by gate and up linears, folds too.
// RUN: qwen3c-opt %s --q3-fold-rms-norm | FileCheck %s
// RUN: qwen3c-opt %s --q3-fuse-swiglu --q3-fold-rms-norm | FileCheck %s --check-prefix=SWIGLU

// CHECK: %[[E:.*]] = q3.embedding
// CHECK: %[[G:.*]] = q3.get_weight @model.layers.0.input_layernorm.weight
// CHECK-COUNT-3: q3.rms_norm_linear %[[E]], %[[G]]
// CHECK-COUNT-2: q3.rms_norm_linear
// CHECK-NOT: q3.rms_norm %

// SWIGLU: q3.rms_norm_swiglu {{.*}} -> tensor<?x96xf32>

module attributes {q3.model = {bos_token_id = 151643 : i64, eos_token_id = 151645 : i64, head_dim = 16 : i64, hidden_size = 32 : i64, intermediate_size = 96 : i64, max_position_embeddings = 128 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, num_layers = 1 : i64, rms_norm_eps = 9.9999999999999995E-7 : f64, rope_theta = 1.000000e+06 : f64, tie_word_embeddings = true, vocab_size = 64 : i64}} {
  q3.weight @model.embed_tokens.weight : tensor<64x32xbf16>
  q3.weight @model.layers.0.input_layernorm.weight : tensor<32xbf16>
  q3.weight @model.layers.0.self_attn.q_proj.weight : tensor<64x32xbf16>
  q3.weight @model.layers.0.self_attn.k_proj.weight : tensor<32x32xbf16>
  q3.weight @model.layers.0.self_attn.v_proj.weight : tensor<32x32xbf16>
  q3.weight @model.layers.0.self_attn.q_norm.weight : tensor<16xbf16>
  q3.weight @model.layers.0.self_attn.k_norm.weight : tensor<16xbf16>
  q3.weight @model.layers.0.self_attn.o_proj.weight : tensor<32x64xbf16>
  q3.weight @model.layers.0.post_attention_layernorm.weight : tensor<32xbf16>
  q3.weight @model.layers.0.mlp.gate_proj.weight : tensor<96x32xbf16>
  q3.weight @model.layers.0.mlp.up_proj.weight : tensor<96x32xbf16>
  q3.weight @model.layers.0.mlp.down_proj.weight : tensor<32x96xbf16>
  q3.weight @model.norm.weight : tensor<32xbf16>
  func.func @forward(%arg0: tensor<?xi64>, %arg1: tensor<?xi64>, %slots: tensor<?xi64>, %arg2: !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>) -> tensor<?x64xf32> {
    %0 = q3.get_weight @model.embed_tokens.weight : tensor<64x32xbf16>
    %1 = q3.embedding %0[%arg0] : tensor<64x32xbf16>, tensor<?xi64> -> tensor<?x32xf32>
    %2 = q3.get_weight @model.layers.0.input_layernorm.weight : tensor<32xbf16>
    %3 = q3.rms_norm %1, %2 {epsilon = 9.9999999999999995E-7 : f64} : tensor<?x32xf32>, tensor<32xbf16>
    %4 = q3.get_weight @model.layers.0.self_attn.q_proj.weight : tensor<64x32xbf16>
    %5 = q3.linear %3, %4 : tensor<?x32xf32>, tensor<64x32xbf16> -> tensor<?x64xf32>
    %6 = q3.get_weight @model.layers.0.self_attn.q_norm.weight : tensor<16xbf16>
    %7 = q3.head_rms_norm %5, %6 {epsilon = 9.9999999999999995E-7 : f64} : tensor<?x64xf32>, tensor<16xbf16>
    %8 = q3.rope %7, %arg1 {head_dim = 16 : i64, theta = 1.000000e+06 : f64} : tensor<?x64xf32>, tensor<?xi64>
    %9 = q3.get_weight @model.layers.0.self_attn.k_proj.weight : tensor<32x32xbf16>
    %10 = q3.linear %3, %9 : tensor<?x32xf32>, tensor<32x32xbf16> -> tensor<?x32xf32>
    %11 = q3.get_weight @model.layers.0.self_attn.k_norm.weight : tensor<16xbf16>
    %12 = q3.head_rms_norm %10, %11 {epsilon = 9.9999999999999995E-7 : f64} : tensor<?x32xf32>, tensor<16xbf16>
    %13 = q3.rope %12, %arg1 {head_dim = 16 : i64, theta = 1.000000e+06 : f64} : tensor<?x32xf32>, tensor<?xi64>
    %14 = q3.get_weight @model.layers.0.self_attn.v_proj.weight : tensor<32x32xbf16>
    %15 = q3.linear %3, %14 : tensor<?x32xf32>, tensor<32x32xbf16> -> tensor<?x32xf32>
    %16 = q3.attention %8, %13, %15, %arg2 at %arg1 in %slots {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f64} : tensor<?x64xf32>, tensor<?x32xf32>, !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>
    %17 = q3.get_weight @model.layers.0.self_attn.o_proj.weight : tensor<32x64xbf16>
    %18 = q3.linear %16, %17 : tensor<?x64xf32>, tensor<32x64xbf16> -> tensor<?x32xf32>
    %19 = q3.add %1, %18 : tensor<?x32xf32>
    %20 = q3.get_weight @model.layers.0.post_attention_layernorm.weight : tensor<32xbf16>
    %21 = q3.rms_norm %19, %20 {epsilon = 9.9999999999999995E-7 : f64} : tensor<?x32xf32>, tensor<32xbf16>
    %22 = q3.get_weight @model.layers.0.mlp.gate_proj.weight : tensor<96x32xbf16>
    %23 = q3.linear %21, %22 : tensor<?x32xf32>, tensor<96x32xbf16> -> tensor<?x96xf32>
    %24 = q3.get_weight @model.layers.0.mlp.up_proj.weight : tensor<96x32xbf16>
    %25 = q3.linear %21, %24 : tensor<?x32xf32>, tensor<96x32xbf16> -> tensor<?x96xf32>
    %26 = q3.silu %23 : tensor<?x96xf32>
    %27 = q3.mul %26, %25 : tensor<?x96xf32>
    %28 = q3.get_weight @model.layers.0.mlp.down_proj.weight : tensor<32x96xbf16>
    %29 = q3.linear %27, %28 : tensor<?x96xf32>, tensor<32x96xbf16> -> tensor<?x32xf32>
    %30 = q3.add %19, %29 : tensor<?x32xf32>
    %31 = q3.get_weight @model.norm.weight : tensor<32xbf16>
    %32 = q3.rms_norm %30, %31 {epsilon = 9.9999999999999995E-7 : f64} : tensor<?x32xf32>, tensor<32xbf16>
    %33 = q3.get_weight @model.embed_tokens.weight : tensor<64x32xbf16>
    %34 = q3.linear %32, %33 : tensor<?x32xf32>, tensor<64x32xbf16> -> tensor<?x64xf32>
    return %34 : tensor<?x64xf32>
  }
}
