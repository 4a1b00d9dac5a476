// RMSNorm of each row of `size` elements: out = weight * (x / sqrt(mean(x^2) + eps)).
// Per-head norms are the same kernel over rows * heads rows of head_dim elements.
#include <math.h>

#include "kernel_abi.h"

namespace {
template <class W>
void rms_norm(const float* x, const W* weight, int64_t rows, int64_t size, float eps, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * size;
    double sum = 0;  // double: the mean of squares of large rows loses bits in f32
    for (int64_t i = 0; i < size; ++i) sum += static_cast<double>(in[i]) * in[i];
    const float inv = 1.0f / sqrtf(static_cast<float>(sum / size) + eps);
    for (int64_t i = 0; i < size; ++i) out[r * size + i] = q3k::load(weight, i) * (in[i] * inv);
  }
}

// sum = a + b (the residual stream), normalized = rms_norm(sum).
template <class W>
void add_rms_norm(const float* a, const float* b, const W* weight, int64_t rows, int64_t size, float eps,
                  float* sum, float* normalized) {
  for (int64_t i = 0; i < rows * size; ++i) sum[i] = a[i] + b[i];
  rms_norm(sum, weight, rows, size, eps, normalized);
}
}  // namespace

Q3_KERNEL void q3k_rms_norm_bf16(const float* x, const void* weight, int64_t rows, int64_t size,
                                 float eps, float* out) {
  rms_norm(x, static_cast<const uint16_t*>(weight), rows, size, eps, out);
}

Q3_KERNEL void q3k_rms_norm_f32(const float* x, const void* weight, int64_t rows, int64_t size,
                                float eps, float* out) {
  rms_norm(x, static_cast<const float*>(weight), rows, size, eps, out);
}

Q3_KERNEL void q3k_add_rms_norm_bf16(const float* a, const float* b, const void* weight, int64_t rows,
                                     int64_t size, float eps, float* sum, float* normalized) {
  add_rms_norm(a, b, static_cast<const uint16_t*>(weight), rows, size, eps, sum, normalized);
}

Q3_KERNEL void q3k_add_rms_norm_f32(const float* a, const float* b, const void* weight, int64_t rows,
                                    int64_t size, float eps, float* sum, float* normalized) {
  add_rms_norm(a, b, static_cast<const float*>(weight), rows, size, eps, sum, normalized);
}
