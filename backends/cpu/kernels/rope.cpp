// Rotary position embedding, rotate-half form, computed in f32 exactly as Hugging Face
// does: inv_freq = 1 / theta^(2i/d), angle = position * inv_freq.
#include <math.h>

#include "kernel_abi.h"

namespace q3k {

void rope_inv_freq(int64_t head_dim, float theta, float* inv_freq) {
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    inv_freq[i] = 1.0f / powf(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
  }
}

// Rotates one head (in and out may alias).
void rope_head(const float* x, float position, int64_t head_dim, const float* inv_freq, float* out) {
  const int64_t half = head_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float angle = position * inv_freq[i];
    const float c = cosf(angle), s = sinf(angle);
    const float x1 = x[i], x2 = x[i + half];
    out[i] = x1 * c - x2 * s;
    out[i + half] = x2 * c + x1 * s;
  }
}

}  // namespace q3k

// Threads split the (token, head) pairs. `scratch`: head_dim / 2 floats.
Q3_KERNEL void q3k_rope(const float* x, const int64_t* positions, int64_t tokens, int64_t heads,
                        int64_t head_dim, float theta, float* scratch, float* out, int64_t thread,
                        int64_t threads) {
  q3k::rope_inv_freq(head_dim, theta, scratch);
  const q3k::Range r = q3k::share(tokens * heads, thread, threads);
  for (int64_t u = r.begin; u < r.end; ++u) {
    q3k::rope_head(x + u * head_dim, static_cast<float>(positions[u / heads]), head_dim, scratch, out + u * head_dim);
  }
}
