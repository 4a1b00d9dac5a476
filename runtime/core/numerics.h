#ifndef QWEN3C_RUNTIME_CORE_NUMERICS_H
#define QWEN3C_RUNTIME_CORE_NUMERICS_H
// Arithmetic whose last bit matters because what follows rounds it: the RMSNorm in front of
// a matrix product under --precision fast (its output is rounded to bf16 or int8, so a one-ulp
// difference can move a value across a rounding boundary). The CPU kernels (C++ compiled to
// bitcode) and the reference evaluator both compute it with this one function.

#include <stdint.h>

namespace qwen3c::numerics {

inline float weight_value(const float* g, int64_t i) { return g[i]; }
inline float weight_value(const uint16_t* g, int64_t i) {  // bf16
  const uint32_t bits = static_cast<uint32_t>(g[i]) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

// out = g * (x / sqrt(mean(x^2) + eps)) over `size` values. The mean of squares is summed in
// double (long rows lose bits in f32), in 32 interleaved partial sums added in a fixed
// order: one running sum is a chain of dependent adds (about 3 us a 2,560-value row; the
// partial sums are vector lanes: add_rms_norm in an 8-sequence Qwen3-4B step 2.44 ->
// 1.19 ms). The rest is f32.
template <class G>
inline void rms_normalize(const float* x, const G* g, int64_t size, float eps, float* out) {
  constexpr int kLanes = 32;
  double partial[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= size; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) partial[l] += static_cast<double>(x[i + l]) * x[i + l];
  }
  double sum = 0;
  for (; i < size; ++i) sum += static_cast<double>(x[i]) * x[i];
  for (int l = 0; l < kLanes; ++l) sum += partial[l];
  const float inv = 1.0f / __builtin_sqrtf(static_cast<float>(sum / size) + eps);
  for (int64_t i = 0; i < size; ++i) out[i] = weight_value(g, i) * (x[i] * inv);
}

}  // namespace qwen3c::numerics

#endif  // QWEN3C_RUNTIME_CORE_NUMERICS_H
