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
// double (long rows lose bits in f32); the rest is f32.
template <class G>
inline void rms_normalize(const float* x, const G* g, int64_t size, float eps, float* out) {
  double sum = 0;
  for (int64_t i = 0; i < size; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float inv = 1.0f / __builtin_sqrtf(static_cast<float>(sum / size) + eps);
  for (int64_t i = 0; i < size; ++i) out[i] = weight_value(g, i) * (x[i] * inv);
}

}  // namespace qwen3c::numerics

#endif  // QWEN3C_RUNTIME_CORE_NUMERICS_H
