// Causal grouped-query attention over the KV cache. First appends this step's keys and
// values at positions past..past+tokens-1, then for every query token t (position
// past + t) and head h: softmax(q . k_j * scale) over j <= past + t, weighted sum of v_j.
#include <math.h>

#include "kernel_abi.h"

Q3_KERNEL void q3k_attention(const float* q, const float* k, const float* v, int64_t tokens,
                             int64_t past, float* k_cache, float* v_cache, int64_t heads,
                             int64_t kv_heads, int64_t head_dim, float scale, float* scores,
                             float* out) {
  const int64_t kv_row = kv_heads * head_dim;
  for (int64_t i = 0; i < tokens * kv_row; ++i) {
    k_cache[past * kv_row + i] = k[i];
    v_cache[past * kv_row + i] = v[i];
  }
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
