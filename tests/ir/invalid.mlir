// Verifier diagnostics, checked where they are reported.
// RUN: qwen3c-opt %s -split-input-file -verify-diagnostics

q3.weight @w : tensor<4x8xbf16>
func.func @linear_shape(%x: tensor<?x8xf32>) -> tensor<?x6xf32> {
  %w = q3.get_weight @w : tensor<4x8xbf16>
  // expected-error @+1 {{produces 4 features, result has 6}}
  %y = q3.linear %x, %w : tensor<?x8xf32>, tensor<4x8xbf16> -> tensor<?x6xf32>
  return %y : tensor<?x6xf32>
}

// -----

func.func @rows_mismatch(%q: tensor<3x8xf32>, %kv: tensor<2x4xf32>,
                         %pos: tensor<?xi64>, %slots: tensor<?xi64>, %c: !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>) {
  // expected-error @+1 {{query has 3 rows but key has 2}}
  %a = q3.attention %q, %kv, %kv, %c at %pos in %slots {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<3x8xf32>, tensor<2x4xf32>, !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>
  return
}

// -----

func.func @cache_heads(%q: tensor<?x8xf32>, %kv: tensor<?x4xf32>,
                       %pos: tensor<?xi64>, %slots: tensor<?xi64>, %c: !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 2, element_type = f32>) {
  // expected-error @+1 {{does not hold 1 KV heads of 4}}
  %a = q3.attention %q, %kv, %kv, %c at %pos in %slots {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x8xf32>, tensor<?x4xf32>, !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 2, element_type = f32>
  return
}

// -----

func.func @rope_positions(%x: tensor<3x8xf32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{has 2 positions but 3 rows}}
  %y = q3.rope %x, %p {head_dim = 4 : i64, theta = 1.0e6 : f64} : tensor<3x8xf32>, tensor<2xi64>
  return
}
