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

// Floats of scratch the rope kernels use: the frequencies, one token's angles, one head for
// the fused prologue's normalised key or query, and one for its rotated key.
constexpr int64_t rope_scratch_floats(int64_t head_dim) { return head_dim / 2 + head_dim + 2 * head_dim; }

}  // namespace q3k
