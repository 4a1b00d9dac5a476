#pragma once
// The rotary embedding's frequencies, computed in f32 exactly as Hugging Face does, with or
// without YaRN (transformers' _compute_yarn_parameters, which Qwen3 uses to reach 131,072
// positions). Header-only and free of the standard library: the CPU kernels, the portable
// and Vulkan backends and the reference evaluator all compute them here.
//
// YaRN keeps the fast-rotating dimensions (more than beta_fast turns over the original
// context) as they are, divides the slow ones (fewer than beta_slow turns) by `factor`, and
// blends linearly between; cos and sin are then scaled by attention_factor
// (0.1 ln(factor) + 1 unless the config gives it).

#include <math.h>
#include <stdint.h>

namespace qwen3c {

// YaRN as the config states it (defaults resolved by the frontend).
struct YarnConfig {
  double factor = 1;
  int64_t original_context = 0;  // original_max_position_embeddings
  double beta_fast = 32, beta_slow = 1;
  double attention_factor = 1;
  bool truncate = true;
  bool operator==(const YarnConfig&) const = default;
};

// What a kernel needs: the blend's ramp over frequency indices and the cos/sin scale.
// factor 0: plain RoPE.
struct RopeScaling {
  float factor = 0;
  float ramp_low = 0, ramp_span = 1;  // ramp(i) = clamp((i - low) / span, 0, 1)
  float attention_factor = 1;
};

// The ramp's ends, in double as transformers computes them in Python.
inline RopeScaling yarn_scaling(int64_t head_dim, double theta, const YarnConfig& y) {
  const auto correction_dim = [&](double rotations) {
    return head_dim * log(static_cast<double>(y.original_context) / (rotations * 2 * M_PI)) / (2 * log(theta));
  };
  double low = correction_dim(y.beta_fast), high = correction_dim(y.beta_slow);
  if (y.truncate) {
    low = floor(low);
    high = ceil(high);
  }
  low = low > 0 ? low : 0;
  high = high < head_dim - 1 ? high : static_cast<double>(head_dim - 1);
  if (low == high) high += 0.001;  // transformers' guard against a zero-width ramp
  RopeScaling s;
  s.factor = static_cast<float>(y.factor);
  s.ramp_low = static_cast<float>(low);
  s.ramp_span = static_cast<float>(high - low);
  s.attention_factor = static_cast<float>(y.attention_factor);
  return s;
}

// Frequency i (of head_dim / 2).
inline float rope_inv_freq(int64_t head_dim, float theta, const RopeScaling& s, int64_t i) {
  const float pos_freq = powf(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
  const float extrapolation = 1.0f / pos_freq;
  if (s.factor == 0) return extrapolation;
  const float interpolation = 1.0f / (s.factor * pos_freq);
  float ramp = (static_cast<float>(i) - s.ramp_low) / s.ramp_span;
  ramp = ramp < 0 ? 0 : (ramp > 1 ? 1 : ramp);
  const float keep = 1.0f - ramp;  // the share of the original frequency
  return interpolation * (1.0f - keep) + extrapolation * keep;
}

}  // namespace qwen3c
