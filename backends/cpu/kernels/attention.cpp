// Attention over the KV cache: appending keys and values, causal grouped-query attention,
// and the fused prologue (per-head norms + RoPE + append). Threads split (token, head)
// pairs. Row t of a step is at positions[t] of sequence slots[t]; each layer's cache is
// one array per (sequence, KV head), k_cache[slot * kv_heads + h]: the keys in transposed
// blocks of 16 positions, v_cache[...]: the values (key_store and value_store, kv_cache.h),
// in the session's KV type. A head's keys and values are each contiguous, so decoding
// streams them from memory in order.
#include <math.h>

#include "flash_attention.h"
#include "kernel_abi.h"
#include "kernel_entry_points.h"
#include "kv_cache.h"
#include "rope.h"

namespace {

using q3k::KvType;

// Any head size: one (token, head) at a time, the whole score row in `scores`
// (max_context floats).
template <KvType T>
void attend_plain(const float* q, const int64_t* positions, const int64_t* slots, int64_t tokens,
                  const uint8_t* const* k_cache, const uint8_t* const* v_cache, int64_t heads, int64_t kv_heads,
                  int64_t head_dim, float scale, float* scores, float* out, int64_t thread, int64_t threads) {
  const int64_t group = heads / kv_heads;
  const q3k::Range r = q3k::share(tokens * heads, thread, threads);
  for (int64_t u = r.begin; u < r.end; ++u) {
    const int64_t t = u / heads, h = u % heads;
    const int64_t visible = positions[t] + 1;
    const int64_t head = slots[t] * kv_heads + h / group;
    const uint8_t* keys = k_cache[head];
    const uint8_t* values = v_cache[head];
    const float* query = q + u * head_dim;
    float max_score = -INFINITY;
    for (int64_t j = 0; j < visible; ++j) {
      float s = 0;
      for (int64_t d = 0; d < head_dim; ++d) s += query[d] * q3k::key_load1<T>(keys, head_dim, j, d);
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
    for (int64_t d = 0; d < head_dim; ++d) o[d] = 0;
    for (int64_t j = 0; j < visible; ++j) {
      const float p = scores[j] * inv_sum;
      for (int64_t d = 0; d < head_dim; ++d) o[d] += p * q3k::value_load1<T>(values, head_dim, j, d);
    }
  }
}

// Row t, head h: softmax(q . k_j * scale) over j <= positions[t] of its sequence, weighted
// sum of v_j: the tiled kernel (flash_attention.cpp) for every Qwen3 head size.
// integer_products: see q3.attention (the plain loop, for heads the tiles do not fit, ignores it).
void attend(const float* q, const int64_t* positions, const int64_t* slots, int64_t tokens,
            const uint8_t* const* k_cache, const uint8_t* const* v_cache, int64_t kv_type, int64_t heads,
            int64_t kv_heads, int64_t head_dim, float scale, int64_t integer_products, float* scores, float* out,
            int64_t thread, int64_t threads) {
  if (q3k::flash_attention_applies(heads, kv_heads, head_dim)) {
    q3k::flash_attention(q, positions, slots, tokens, k_cache, v_cache, kv_type, heads, kv_heads, head_dim, scale,
                         integer_products != 0, scores, out, thread, threads);
    return;
  }
  q3k::with_kv_type(kv_type, [&]<KvType T>() {
    attend_plain<T>(q, positions, slots, tokens, k_cache, v_cache, heads, kv_heads, head_dim, scale, scores, out,
                    thread, threads);
  });
}

}  // namespace

// The unfused form: appends, waits for every thread's share of the append, then attends.
Q3_KERNEL void q3k_attention(const float* q, const float* k, const float* v, const int64_t* positions,
                             const int64_t* slots, int64_t tokens, uint8_t* const* k_cache, uint8_t* const* v_cache,
                             int64_t kv_type, int64_t heads, int64_t kv_heads, int64_t head_dim, float scale,
                             int64_t integer_products, float* scores, float* out, q3k::BarrierFn barrier,
                             void* barrier_context,
                             int64_t thread, int64_t threads) {
  const KvType type = static_cast<KvType>(kv_type);
  const q3k::Range r = q3k::share(tokens * kv_heads, thread, threads);
  for (int64_t u = r.begin; u < r.end; ++u) {
    const int64_t t = u / kv_heads, h = u % kv_heads;
    q3k::key_store(type, k + u * head_dim, head_dim, k_cache[slots[t] * kv_heads + h], positions[t]);
    q3k::value_store(type, v + u * head_dim, head_dim, v_cache[slots[t] * kv_heads + h], positions[t]);
  }
  barrier(barrier_context);
  attend(q, positions, slots, tokens, k_cache, v_cache, kv_type, heads, kv_heads, head_dim, scale, integer_products,
         scores, out, thread, threads);
}

Q3_KERNEL void q3k_cached_attention(const float* q, const int64_t* positions, const int64_t* slots, int64_t tokens,
                                    const uint8_t* const* k_cache, const uint8_t* const* v_cache, int64_t kv_type,
                                    int64_t heads, int64_t kv_heads, int64_t head_dim, float scale,
                                    int64_t integer_products, float* scores, float* out, int64_t thread,
                                    int64_t threads) {
  attend(q, positions, slots, tokens, k_cache, v_cache, kv_type, heads, kv_heads, head_dim, scale, integer_products,
         scores, out, thread, threads);
}

// Normalises and rotates q (into out) and k (into its cache row), stores v in the cache.
// `scratch`: rope_scratch_floats(head_dim) (rope.h).
Q3_KERNEL void q3k_qk_norm_rope_append(const float* q, const float* k, const float* v, const void* q_norm,
                                       const void* k_norm, int64_t norms_are_bf16, const int64_t* positions,
                                       const int64_t* slots, int64_t tokens, uint8_t* const* k_cache,
                                       uint8_t* const* v_cache, int64_t kv_type, int64_t heads, int64_t kv_heads,
                                       int64_t head_dim, float eps, float theta, float yarn_factor, float ramp_low,
                                       float ramp_span, float attention_factor, float* scratch, float* out,
                                       int64_t thread, int64_t threads) {
  // A token's heads share their angles: each cos and sin once a token and thread, not once
  // a head (the same values, so the same results). A thread's share walks each token's query
  // heads, then its key heads, so that a token's angles serve both (separate shares of the
  // query and the key heads computed them twice).
  q3k::TokenAngles angles(scratch, head_dim, theta, yarn_factor, ramp_low, ramp_span, attention_factor);
  float* normalised = angles.rest();
  float* key = normalised + head_dim;
  const KvType type = static_cast<KvType>(kv_type);
  const int64_t heads_a_token = heads + kv_heads;
  const q3k::Range r = q3k::share(tokens * heads_a_token, thread, threads);
  for (int64_t u = r.begin; u < r.end; ++u) {
    const int64_t t = u / heads_a_token, j = u % heads_a_token;
    const float* cos_sin = angles.of(t, static_cast<float>(positions[t]));
    if (j < heads) {
      const int64_t row = t * heads + j;
      q3k::rms_normalize(q + row * head_dim, q_norm, norms_are_bf16, head_dim, eps, normalised);
      q3k::rope_rotate(normalised, head_dim, cos_sin, out + row * head_dim);
      continue;
    }
    const int64_t h = j - heads, row = t * kv_heads + h;
    q3k::rms_normalize(k + row * head_dim, k_norm, norms_are_bf16, head_dim, eps, normalised);
    q3k::rope_rotate(normalised, head_dim, cos_sin, key);
    q3k::key_store(type, key, head_dim, k_cache[slots[t] * kv_heads + h], positions[t]);
    q3k::value_store(type, v + row * head_dim, head_dim, v_cache[slots[t] * kv_heads + h], positions[t]);
  }
}
