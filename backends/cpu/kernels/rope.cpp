// Rotary position embedding, rotate-half form, computed in f32 exactly as Hugging Face
// does: inv_freq = 1 / theta^(2i/d), angle = position * inv_freq.
#include <math.h>

#include "kernel_abi.h"

namespace q3k {

// Rotates `heads` heads of every row; in and out may alias. `inv_freq`: head_dim/2 floats.
void rope_rows(const float* x, const int64_t* positions, int64_t tokens, int64_t heads, int64_t head_dim,
               float theta, float* inv_freq, float* out) {
  const int64_t half = head_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    inv_freq[i] = 1.0f / powf(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
  }
  for (int64_t t = 0; t < tokens; ++t) {
    const float position = static_cast<float>(positions[t]);
    for (int64_t i = 0; i < half; ++i) {
      const float angle = position * inv_freq[i];
      const float c = cosf(angle), s = sinf(angle);
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t base = (t * heads + h) * head_dim;
        const float x1 = x[base + i], x2 = x[base + i + half];
        out[base + i] = x1 * c - x2 * s;
        out[base + i + half] = x2 * c + x1 * s;
      }
    }
  }
}

}  // namespace q3k

Q3_KERNEL void q3k_rope(const float* x, const int64_t* positions, int64_t tokens, int64_t heads,
                        int64_t head_dim, float theta, float* scratch, float* out) {
  q3k::rope_rows(x, positions, tokens, heads, head_dim, theta, scratch, out);
}
