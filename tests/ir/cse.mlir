// Passes run by name through the driver. CSE merges repeated reads of one weight (pure),
// but never two attention steps: each appends to the KV cache.
// RUN: qwen3c-opt %s --cse | FileCheck %s

// CHECK-LABEL: func.func @tied
// CHECK: %[[W:.*]] = q3.get_weight @emb
// CHECK-NOT: q3.get_weight
// CHECK: q3.embedding %[[W]][
// CHECK: q3.linear %{{.*}}, %[[W]] :
// CHECK-NOT: q3.get_weight
// CHECK: return

// CHECK-LABEL: func.func @two_steps
// CHECK-COUNT-2: q3.attention

module {
  q3.weight @emb : tensor<16x8xbf16>
  func.func @tied(%ids: tensor<?xi64>) -> tensor<?x16xf32> {
    %e1 = q3.get_weight @emb : tensor<16x8xbf16>
    %x = q3.embedding %e1[%ids] : tensor<16x8xbf16>, tensor<?xi64> -> tensor<?x8xf32>
    %e2 = q3.get_weight @emb : tensor<16x8xbf16>
    %y = q3.linear %x, %e2 : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
    return %y : tensor<?x16xf32>
  }
  func.func @two_steps(%q: tensor<?x8xf32>, %kv: tensor<?x4xf32>,
                       %pos: tensor<?xi64>, %slots: tensor<?xi64>, %cache: !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>)
      -> tensor<?x8xf32> {
    %a = q3.attention %q, %kv, %kv, %cache at %pos in %slots {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x8xf32>, tensor<?x4xf32>, !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>
    %b = q3.attention %q, %kv, %kv, %cache at %pos in %slots {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x8xf32>, tensor<?x4xf32>, !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>
    %s = q3.add %a, %b : tensor<?x8xf32>
    return %s : tensor<?x8xf32>
  }
}
