// Rotary position embedding, rotate-half form, computed in f32 exactly as Hugging Face
// does (runtime/core/rope_frequencies.h): angle = position * inv_freq, cos and sin scaled
// by YaRN's attention factor (1 without it).
#include <math.h>

#include "kernel_abi.h"
#include "rope.h"
#include "runtime/core/rope_frequencies.h"

namespace q3k {

void rope_inv_freq(int64_t head_dim, float theta, float yarn_factor, float ramp_low, float ramp_span,
                   float* inv_freq) {
  const qwen3c::RopeScaling s{yarn_factor, ramp_low, ramp_span, 1.0f};
  for (int64_t i = 0; i < head_dim / 2; ++i) inv_freq[i] = qwen3c::rope_inv_freq(head_dim, theta, s, i);
}

void rope_angles(float position, int64_t head_dim, const float* inv_freq, float attention_factor, float* cos_sin) {
  const int64_t half = head_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float angle = position * inv_freq[i];
    cos_sin[i] = cosf(angle) * attention_factor;
    cos_sin[half + i] = sinf(angle) * attention_factor;
  }
}

void rope_rotate(const float* __restrict x, int64_t head_dim, const float* __restrict cos_sin,
                 float* __restrict out) {
  const int64_t half = head_dim / 2;
  const float* c = cos_sin;
  const float* s = cos_sin + half;
  for (int64_t i = 0; i < half; ++i) {
    const float x1 = x[i], x2 = x[i + half];
    out[i] = x1 * c[i] - x2 * s[i];
    out[i + half] = x2 * c[i] + x1 * s[i];
  }
}

}  // namespace q3k

// Threads split the (token, head) pairs. `scratch`: rope_scratch_floats(head_dim).
Q3_KERNEL void q3k_rope(const float* x, const int64_t* positions, int64_t tokens, int64_t heads,
                        int64_t head_dim, float theta, float yarn_factor, float ramp_low, float ramp_span,
                        float attention_factor, float* scratch, float* out, int64_t thread, int64_t threads) {
  q3k::TokenAngles angles(scratch, head_dim, theta, yarn_factor, ramp_low, ramp_span, attention_factor);
  float* head = angles.rest();  // x and out may be the same buffer: each head is rotated from a copy
  const q3k::Range r = q3k::share(tokens * heads, thread, threads);
  for (int64_t u = r.begin; u < r.end; ++u) {
    const int64_t t = u / heads;
    const float* cos_sin = angles.of(t, static_cast<float>(positions[t]));
    __builtin_memcpy(head, x + u * head_dim, head_dim * sizeof(float));
    q3k::rope_rotate(head, head_dim, cos_sin, out + u * head_dim);
  }
}
