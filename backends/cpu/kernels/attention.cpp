// Attention over the KV cache: appending keys and values, causal grouped-query attention,
// and the fused prologue (per-head norms + RoPE + append). Threads split (token, head)
// pairs. Row t of a step is at positions[t] of sequence slots[t]; each layer's cache is
// one array per sequence ([max_context, kv_heads * head_dim] f32), k_cache[slot].
#include <math.h>

#include "flash_attention.h"
#include "kernel_abi.h"

namespace q3k {
void rope_inv_freq(int64_t head_dim, float theta, float* inv_freq);
void rope_head(const float* x, float position, int64_t head_dim, const float* inv_freq, float* out);
}

namespace {

// Row t, head h: softmax(q . k_j * scale) over j <= positions[t] of its sequence, weighted
// sum of v_j. `scores`: max_context floats.
void attend(const float* q, const int64_t* positions, const int64_t* slots, int64_t tokens,
            const float* const* k_cache, const float* const* v_cache, int64_t heads, int64_t kv_heads,
            int64_t head_dim, float scale, float* scores, float* out, int64_t thread, int64_t threads) {
  if (q3k::flash_attention_applies(heads, kv_heads, head_dim)) {
    q3k::flash_attention(q, positions, slots, tokens, k_cache, v_cache, heads, kv_heads, head_dim, scale, scores,
                         out, thread, threads);
    return;
  }
  // Any other head size: one (token, head) at a time, the whole score row in the scratch.
  const int64_t kv_row = kv_heads * head_dim;
  const int64_t group = heads / kv_heads;
  const q3k::Range r = q3k::share(tokens * heads, thread, threads);
  for (int64_t u = r.begin; u < r.end; ++u) {
    const int64_t t = u / heads, h = u % heads;
    const int64_t visible = positions[t] + 1;
    const float* keys = k_cache[slots[t]];
    const float* values = v_cache[slots[t]];
    const float* query = q + u * head_dim;
    const int64_t kv_offset = (h / group) * head_dim;
    float max_score = -INFINITY;
    for (int64_t j = 0; j < visible; ++j) {
      const float* key = keys + j * kv_row + kv_offset;
      float s = 0;
      if (head_dim % 16 == 0) {  // every Qwen3: head_dim 128
        q3k::f32x16 acc = {};
        for (int64_t d = 0; d < head_dim; d += 16) acc += q3k::load16(query + d) * q3k::load16(key + d);
        s = q3k::reduce(acc);
      } else {
        for (int64_t d = 0; d < head_dim; ++d) s += query[d] * key[d];
      }
      s *= scale;
      scores[j] = s;
      max_score = s > max_score ? s : max_score;
    }
    float sum = 0;
    for (int64_t j = 0; j < visible; ++j) {
      scores[j] = q3k::exp_approx(scores[j] - max_score);
      sum += scores[j];
    }
    const float inv_sum = 1.0f / sum;
    float* o = out + u * head_dim;
    if (head_dim % 16 == 0 && head_dim <= 256) {  // the output head stays in registers
      q3k::f32x16 acc[16] = {};
      for (int64_t j = 0; j < visible; ++j) {
        const float p = scores[j] * inv_sum;
        const float* value = values + j * kv_row + kv_offset;
        for (int64_t c = 0; c < head_dim / 16; ++c) acc[c] += p * q3k::load16(value + c * 16);
      }
      for (int64_t c = 0; c < head_dim / 16; ++c) __builtin_memcpy(o + c * 16, &acc[c], sizeof acc[c]);
    } else {
      for (int64_t d = 0; d < head_dim; ++d) o[d] = 0;
      for (int64_t j = 0; j < visible; ++j) {
        const float p = scores[j] * inv_sum;
        const float* value = values + j * kv_row + kv_offset;
        for (int64_t d = 0; d < head_dim; ++d) o[d] += p * value[d];
      }
    }
  }
}


}  // namespace

// The unfused form: appends, waits for every thread's share of the append, then attends.
Q3_KERNEL void q3k_attention(const float* q, const float* k, const float* v, const int64_t* positions,
                             const int64_t* slots, int64_t tokens, float* const* k_cache, float* const* v_cache,
                             int64_t heads, int64_t kv_heads, int64_t head_dim, float scale, float* scores,
                             float* out, q3k::BarrierFn barrier, void* barrier_context, int64_t thread,
                             int64_t threads) {
  const int64_t kv_row = kv_heads * head_dim;
  const q3k::Range r = q3k::share(tokens, thread, threads);
  for (int64_t t = r.begin; t < r.end; ++t) {
    float* kc = k_cache[slots[t]] + positions[t] * kv_row;
    float* vc = v_cache[slots[t]] + positions[t] * kv_row;
    for (int64_t i = 0; i < kv_row; ++i) {
      kc[i] = k[t * kv_row + i];
      vc[i] = v[t * kv_row + i];
    }
  }
  barrier(barrier_context);
  attend(q, positions, slots, tokens, k_cache, v_cache, heads, kv_heads, head_dim, scale, scores, out, thread,
         threads);
}

Q3_KERNEL void q3k_cached_attention(const float* q, const int64_t* positions, const int64_t* slots, int64_t tokens,
                                    const float* const* k_cache, const float* const* v_cache, int64_t heads,
                                    int64_t kv_heads, int64_t head_dim, float scale, float* scores, float* out,
                                    int64_t thread, int64_t threads) {
  attend(q, positions, slots, tokens, k_cache, v_cache, heads, kv_heads, head_dim, scale, scores, out, thread,
         threads);
}

// Normalises and rotates q (into out) and k (into its cache row), copies v into the cache.
Q3_KERNEL void q3k_qk_norm_rope_append(const float* q, const float* k, const float* v, const void* q_norm,
                                       const void* k_norm, int64_t norms_are_bf16, const int64_t* positions,
                                       const int64_t* slots, int64_t tokens, float* const* k_cache,
                                       float* const* v_cache, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                       float eps, float theta, float* scratch, float* out, int64_t thread,
                                       int64_t threads) {
  float* inv_freq = scratch;
  q3k::rope_inv_freq(head_dim, theta, inv_freq);
  const q3k::Range qr = q3k::share(tokens * heads, thread, threads);
  for (int64_t u = qr.begin; u < qr.end; ++u) {
    float* o = out + u * head_dim;
    q3k::rms_normalize(q + u * head_dim, q_norm, norms_are_bf16, head_dim, eps, o);
    q3k::rope_head(o, static_cast<float>(positions[u / heads]), head_dim, inv_freq, o);
  }
  const q3k::Range kr = q3k::share(tokens * kv_heads, thread, threads);
  for (int64_t u = kr.begin; u < kr.end; ++u) {
    const int64_t t = u / kv_heads, row = positions[t] * kv_heads * head_dim + (u % kv_heads) * head_dim;
    float* kc = k_cache[slots[t]] + row;
    q3k::rms_normalize(k + u * head_dim, k_norm, norms_are_bf16, head_dim, eps, kc);
    q3k::rope_head(kc, static_cast<float>(positions[t]), head_dim, inv_freq, kc);
    float* vc = v_cache[slots[t]] + row;
    for (int64_t d = 0; d < head_dim; ++d) vc[d] = v[u * head_dim + d];
  }
}
