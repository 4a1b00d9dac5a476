// q3-fuse-qk-norm-rope leaves an attention alone unless both its query and key are
// head_rms_norm then rope (used only there, alike in positions, theta and epsilon).
// RUN: qwen3c-opt %s -split-input-file -verify-diagnostics --q3-fuse-qk-norm-rope=verbose=true | FileCheck %s

q3.weight @n : tensor<16xbf16>
// CHECK-LABEL: func.func @query_not_rotated
// CHECK: q3.attention
// CHECK-NOT: q3.qk_norm_rope_append
func.func @query_not_rotated(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi64>,
                             %slots: tensor<?xi64>, %c: !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>) -> tensor<?x64xf32> {
  %n = q3.get_weight @n : tensor<16xbf16>
  %kn = q3.head_rms_norm %k, %n {epsilon = 1.0e-06 : f64} : tensor<?x32xf32>, tensor<16xbf16>
  %kr = q3.rope %kn, %pos {head_dim = 16 : i64, theta = 1.0e+06 : f64} : tensor<?x32xf32>, tensor<?xi64>
  // expected-remark @+1 {{not fused into q3.qk_norm_rope_append: query is not produced by q3.rope}}
  %a = q3.attention %q, %kr, %v, %c at %pos in %slots {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : tensor<?x64xf32>, tensor<?x32xf32>, !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>
  return %a : tensor<?x64xf32>
}

// -----

q3.weight @n : tensor<16xbf16>
// CHECK-LABEL: func.func @key_not_normalized
// CHECK-NOT: q3.qk_norm_rope_append
func.func @key_not_normalized(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi64>,
                              %slots: tensor<?xi64>, %c: !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>) -> tensor<?x64xf32> {
  %n = q3.get_weight @n : tensor<16xbf16>
  %qn = q3.head_rms_norm %q, %n {epsilon = 1.0e-06 : f64} : tensor<?x64xf32>, tensor<16xbf16>
  %qr = q3.rope %qn, %pos {head_dim = 16 : i64, theta = 1.0e+06 : f64} : tensor<?x64xf32>, tensor<?xi64>
  %kr = q3.rope %k, %pos {head_dim = 16 : i64, theta = 1.0e+06 : f64} : tensor<?x32xf32>, tensor<?xi64>
  // expected-remark @+1 {{not fused into q3.qk_norm_rope_append: key rope does not read a q3.head_rms_norm}}
  %a = q3.attention %qr, %kr, %v, %c at %pos in %slots {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : tensor<?x64xf32>, tensor<?x32xf32>, !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>
  return %a : tensor<?x64xf32>
}

// -----

q3.weight @n : tensor<16xbf16>
// CHECK-LABEL: func.func @different_thetas
// CHECK-NOT: q3.qk_norm_rope_append
func.func @different_thetas(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi64>,
                            %slots: tensor<?xi64>, %c: !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>) -> tensor<?x64xf32> {
  %n = q3.get_weight @n : tensor<16xbf16>
  %qn = q3.head_rms_norm %q, %n {epsilon = 1.0e-06 : f64} : tensor<?x64xf32>, tensor<16xbf16>
  %qr = q3.rope %qn, %pos {head_dim = 16 : i64, theta = 1.0e+06 : f64} : tensor<?x64xf32>, tensor<?xi64>
  %kn = q3.head_rms_norm %k, %n {epsilon = 1.0e-06 : f64} : tensor<?x32xf32>, tensor<16xbf16>
  %kr = q3.rope %kn, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x32xf32>, tensor<?xi64>
  // expected-remark @+1 {{not fused into q3.qk_norm_rope_append: query and key ropes differ in theta, head_dim or scaling}}
  %a = q3.attention %qr, %kr, %v, %c at %pos in %slots {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : tensor<?x64xf32>, tensor<?x32xf32>, !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>
  return %a : tensor<?x64xf32>
}

// -----

q3.weight @n : tensor<16xbf16>
// CHECK-LABEL: func.func @different_positions
// CHECK-NOT: q3.qk_norm_rope_append
func.func @different_positions(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi64>,
                               %other: tensor<?xi64>,
                               %slots: tensor<?xi64>, %c: !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>) -> tensor<?x64xf32> {
  %n = q3.get_weight @n : tensor<16xbf16>
  %qn = q3.head_rms_norm %q, %n {epsilon = 1.0e-06 : f64} : tensor<?x64xf32>, tensor<16xbf16>
  %qr = q3.rope %qn, %pos {head_dim = 16 : i64, theta = 1.0e+06 : f64} : tensor<?x64xf32>, tensor<?xi64>
  %kn = q3.head_rms_norm %k, %n {epsilon = 1.0e-06 : f64} : tensor<?x32xf32>, tensor<16xbf16>
  %kr = q3.rope %kn, %other {head_dim = 16 : i64, theta = 1.0e+06 : f64} : tensor<?x32xf32>, tensor<?xi64>
  // expected-remark @+1 {{not fused into q3.qk_norm_rope_append: query and key rotate at different positions}}
  %a = q3.attention %qr, %kr, %v, %c at %pos in %slots {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : tensor<?x64xf32>, tensor<?x32xf32>, !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>
  return %a : tensor<?x64xf32>
}

// -----

q3.weight @n : tensor<16xbf16>
// CHECK-LABEL: func.func @rotated_query_used_twice
// CHECK-NOT: q3.qk_norm_rope_append
func.func @rotated_query_used_twice(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi64>,
                                    %slots: tensor<?xi64>, %c: !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %n = q3.get_weight @n : tensor<16xbf16>
  %qn = q3.head_rms_norm %q, %n {epsilon = 1.0e-06 : f64} : tensor<?x64xf32>, tensor<16xbf16>
  %qr = q3.rope %qn, %pos {head_dim = 16 : i64, theta = 1.0e+06 : f64} : tensor<?x64xf32>, tensor<?xi64>
  %kn = q3.head_rms_norm %k, %n {epsilon = 1.0e-06 : f64} : tensor<?x32xf32>, tensor<16xbf16>
  %kr = q3.rope %kn, %pos {head_dim = 16 : i64, theta = 1.0e+06 : f64} : tensor<?x32xf32>, tensor<?xi64>
  // expected-remark @+1 {{not fused into q3.qk_norm_rope_append: query norm or rope has another user}}
  %a = q3.attention %qr, %kr, %v, %c at %pos in %slots {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : tensor<?x64xf32>, tensor<?x32xf32>, !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>
  return %a, %qr : tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

q3.weight @n : tensor<16xbf16>
// CHECK-LABEL: func.func @different_epsilons
// CHECK-NOT: q3.qk_norm_rope_append
func.func @different_epsilons(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi64>,
                              %slots: tensor<?xi64>, %c: !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>) -> tensor<?x64xf32> {
  %n = q3.get_weight @n : tensor<16xbf16>
  %qn = q3.head_rms_norm %q, %n {epsilon = 1.0e-06 : f64} : tensor<?x64xf32>, tensor<16xbf16>
  %qr = q3.rope %qn, %pos {head_dim = 16 : i64, theta = 1.0e+06 : f64} : tensor<?x64xf32>, tensor<?xi64>
  %kn = q3.head_rms_norm %k, %n {epsilon = 1.0e-05 : f64} : tensor<?x32xf32>, tensor<16xbf16>
  %kr = q3.rope %kn, %pos {head_dim = 16 : i64, theta = 1.0e+06 : f64} : tensor<?x32xf32>, tensor<?xi64>
  // expected-remark @+1 {{not fused into q3.qk_norm_rope_append: query and key norms differ in epsilon}}
  %a = q3.attention %qr, %kr, %v, %c at %pos in %slots {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : tensor<?x64xf32>, tensor<?x32xf32>, !q3.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, element_type = f32>
  return %a : tensor<?x64xf32>
}
