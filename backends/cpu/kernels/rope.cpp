// Rotary position embedding, rotate-half form, computed in f32 exactly as Hugging Face
// does (runtime/core/rope_frequencies.h): angle = position * inv_freq, cos and sin scaled
// by YaRN's attention factor (1 without it).
#include <math.h>

#include "kernel_abi.h"
#include "runtime/core/rope_frequencies.h"

namespace q3k {

// A kernel's rope arguments: theta, then YaRN's factor (0: none), ramp and attention factor.
void rope_inv_freq(int64_t head_dim, float theta, float yarn_factor, float ramp_low, float ramp_span,
                   float* inv_freq) {
  const qwen3c::RopeScaling s{yarn_factor, ramp_low, ramp_span, 1.0f};
  for (int64_t i = 0; i < head_dim / 2; ++i) inv_freq[i] = qwen3c::rope_inv_freq(head_dim, theta, s, i);
}

// Rotates `count` consecutive heads of one token (x into out; they may alias), each angle's
// cos and sin once for all of them.
void rope_heads(const float* x, int64_t count, float position, int64_t head_dim, const float* inv_freq,
                float attention_factor, float* out) {
  const int64_t half = head_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float angle = position * inv_freq[i];
    const float c = cosf(angle) * attention_factor, s = sinf(angle) * attention_factor;
    for (int64_t h = 0; h < count; ++h) {
      const float x1 = x[h * head_dim + i], x2 = x[h * head_dim + i + half];
      out[h * head_dim + i] = x1 * c - x2 * s;
      out[h * head_dim + i + half] = x2 * c + x1 * s;
    }
  }
}

// Rotates one head (in and out may alias).
void rope_head(const float* x, float position, int64_t head_dim, const float* inv_freq, float attention_factor,
               float* out) {
  rope_heads(x, 1, position, head_dim, inv_freq, attention_factor, out);
}

}  // namespace q3k

// Threads split the (token, head) pairs. `scratch`: head_dim / 2 floats.
Q3_KERNEL void q3k_rope(const float* x, const int64_t* positions, int64_t tokens, int64_t heads,
                        int64_t head_dim, float theta, float yarn_factor, float ramp_low, float ramp_span,
                        float attention_factor, float* scratch, float* out, int64_t thread, int64_t threads) {
  q3k::rope_inv_freq(head_dim, theta, yarn_factor, ramp_low, ramp_span, scratch);
  const q3k::Range r = q3k::share(tokens * heads, thread, threads);
  for (int64_t u = r.begin; u < r.end; ++u) {
    q3k::rope_head(x + u * head_dim, static_cast<float>(positions[u / heads]), head_dim, scratch, attention_factor,
                   out + u * head_dim);
  }
}
