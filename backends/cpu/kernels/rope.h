// Rotary position embedding's pieces, shared by the rope kernel and the fused attention
// prologue (attention.cpp). A token's angles are computed once for all its heads (32 query
// and 8 key heads a token in Qwen3-4B): each head's rotation is then plain multiplies over
// contiguous halves, which vectorise.
#pragma once

#include <stdint.h>

namespace q3k {

// inv_freq[i], i < head_dim / 2. The arguments as a kernel gets them: theta, then YaRN's
// factor (0: none) and ramp.
void rope_inv_freq(int64_t head_dim, float theta, float yarn_factor, float ramp_low, float ramp_span,
                   float* inv_freq);
// cos_sin: the cosines of a position's head_dim / 2 angles, then their sines, each scaled
// by the attention factor.
void rope_angles(float position, int64_t head_dim, const float* inv_freq, float attention_factor, float* cos_sin);
// One head rotated by a token's angles (rotate-half); x and out must not overlap.
void rope_rotate(const float* __restrict x, int64_t head_dim, const float* __restrict cos_sin,
                 float* __restrict out);

// A thread's frequencies and the angles of the token it last asked for, at the start of its
// scratch: a token's heads, which a thread's share visits one after the other, reuse them.
class TokenAngles {
 public:
  // The kernel's rope arguments (rope_inv_freq's, then the attention factor).
  TokenAngles(float* scratch, int64_t head_dim, float theta, float yarn_factor, float ramp_low, float ramp_span,
              float attention_factor)
      : inv_freq_(scratch), cos_sin_(scratch + head_dim / 2), head_dim_(head_dim),
        attention_factor_(attention_factor) {
    rope_inv_freq(head_dim, theta, yarn_factor, ramp_low, ramp_span, inv_freq_);
  }
  static constexpr int64_t floats(int64_t head_dim) { return head_dim / 2 + head_dim; }
  // rope_angles of step row t, at `position`.
  const float* of(int64_t t, float position) {
    if (t != angles_of_) rope_angles(position, head_dim_, inv_freq_, attention_factor_, cos_sin_);
    angles_of_ = t;
    return cos_sin_;
  }
  // The scratch after them.
  float* rest() const { return cos_sin_ + head_dim_; }

 private:
  float* inv_freq_;
  float* cos_sin_;
  int64_t head_dim_;
  float attention_factor_;
  int64_t angles_of_ = -1;  // the row whose angles cos_sin_ holds
};

// Floats of scratch the rope kernels use: the angles, then one head for a normalised (or
// copied) head and one for the fused prologue's rotated key.
constexpr int64_t rope_scratch_floats(int64_t head_dim) { return TokenAngles::floats(head_dim) + 2 * head_dim; }

}  // namespace q3k
