// Attention over the KV cache: appending keys and values, causal grouped-query attention,
// and the fused prologue (per-head norms + RoPE + append).
#include <math.h>

#include "kernel_abi.h"

namespace q3k {
void rope_rows(const float* x, const int64_t* positions, int64_t tokens, int64_t heads, int64_t head_dim,
               float theta, float* inv_freq, float* out);
}

namespace {

void append(const float* k, const float* v, int64_t tokens, int64_t past, int64_t kv_row, float* k_cache,
            float* v_cache) {
  for (int64_t i = 0; i < tokens * kv_row; ++i) {
    k_cache[past * kv_row + i] = k[i];
    v_cache[past * kv_row + i] = v[i];
  }
}

// Token t (position past + t) and head h: softmax(q . k_j * scale) over j <= past + t,
// weighted sum of v_j. `scores`: past + tokens floats.
void attend(const float* q, int64_t tokens, int64_t past, const float* k_cache, const float* v_cache,
            int64_t heads, int64_t kv_heads, int64_t head_dim, float scale, float* scores, float* out) {
  const int64_t kv_row = kv_heads * head_dim;
  const int64_t group = heads / kv_heads;
  for (int64_t t = 0; t < tokens; ++t) {
    const int64_t visible = past + t + 1;
    for (int64_t h = 0; h < heads; ++h) {
      const float* query = q + (t * heads + h) * head_dim;
      const int64_t kv_offset = (h / group) * head_dim;
      float max_score = -INFINITY;
      for (int64_t j = 0; j < visible; ++j) {
        const float* key = k_cache + j * kv_row + kv_offset;
        float s = 0;
        for (int64_t d = 0; d < head_dim; ++d) s += query[d] * key[d];
        s *= scale;
        scores[j] = s;
        max_score = s > max_score ? s : max_score;
      }
      float sum = 0;
      for (int64_t j = 0; j < visible; ++j) {
        scores[j] = expf(scores[j] - max_score);
        sum += scores[j];
      }
      const float inv_sum = 1.0f / sum;
      float* o = out + (t * heads + h) * head_dim;
      for (int64_t d = 0; d < head_dim; ++d) o[d] = 0;
      for (int64_t j = 0; j < visible; ++j) {
        const float p = scores[j] * inv_sum;
        const float* value = v_cache + j * kv_row + kv_offset;
        for (int64_t d = 0; d < head_dim; ++d) o[d] += p * value[d];
      }
    }
  }
}

template <class G>
void head_norm(float* x, const G* g, int64_t rows, int64_t head_dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    float* in = x + r * head_dim;
    double sum = 0;
    for (int64_t i = 0; i < head_dim; ++i) sum += static_cast<double>(in[i]) * in[i];
    const float inv = 1.0f / sqrtf(static_cast<float>(sum / head_dim) + eps);
    for (int64_t i = 0; i < head_dim; ++i) in[i] = q3k::load(g, i) * (in[i] * inv);
  }
}

}  // namespace

Q3_KERNEL void q3k_attention(const float* q, const float* k, const float* v, int64_t tokens,
                             int64_t past, float* k_cache, float* v_cache, int64_t heads,
                             int64_t kv_heads, int64_t head_dim, float scale, float* scores,
                             float* out) {
  append(k, v, tokens, past, kv_heads * head_dim, k_cache, v_cache);
  attend(q, tokens, past, k_cache, v_cache, heads, kv_heads, head_dim, scale, scores, out);
}

Q3_KERNEL void q3k_cached_attention(const float* q, int64_t tokens, int64_t past, const float* k_cache,
                                    const float* v_cache, int64_t heads, int64_t kv_heads,
                                    int64_t head_dim, float scale, float* scores, float* out) {
  attend(q, tokens, past, k_cache, v_cache, heads, kv_heads, head_dim, scale, scores, out);
}

// Normalises and rotates q (into out) and k (in its cache slot), copies v into the cache.
Q3_KERNEL void q3k_qk_norm_rope_append(const float* q, const float* k, const float* v, const void* q_norm,
                                       const void* k_norm, int64_t norms_are_bf16, const int64_t* positions,
                                       int64_t tokens, int64_t past, float* k_cache, float* v_cache,
                                       int64_t heads, int64_t kv_heads, int64_t head_dim, float eps,
                                       float theta, float* scratch, float* out) {
  const int64_t kv_row = kv_heads * head_dim;
  append(k, v, tokens, past, kv_row, k_cache, v_cache);
  float* k_new = k_cache + past * kv_row;
  for (int64_t i = 0; i < tokens * heads * head_dim; ++i) out[i] = q[i];
  if (norms_are_bf16) {
    head_norm(out, static_cast<const uint16_t*>(q_norm), tokens * heads, head_dim, eps);
    head_norm(k_new, static_cast<const uint16_t*>(k_norm), tokens * kv_heads, head_dim, eps);
  } else {
    head_norm(out, static_cast<const float*>(q_norm), tokens * heads, head_dim, eps);
    head_norm(k_new, static_cast<const float*>(k_norm), tokens * kv_heads, head_dim, eps);
  }
  q3k::rope_rows(out, positions, tokens, heads, head_dim, theta, scratch, out);
  q3k::rope_rows(k_new, positions, tokens, kv_heads, head_dim, theta, scratch, k_new);
}
