// Elementwise ops over rows * width floats.
#include <math.h>

#include "kernel_abi.h"

Q3_KERNEL void q3k_add(const float* a, const float* b, int64_t rows, int64_t width, float* out) {
  for (int64_t i = 0; i < rows * width; ++i) out[i] = a[i] + b[i];
}

Q3_KERNEL void q3k_mul(const float* a, const float* b, int64_t rows, int64_t width, float* out) {
  for (int64_t i = 0; i < rows * width; ++i) out[i] = a[i] * b[i];
}

// silu(x) = x * sigmoid(x), as torch computes it.
Q3_KERNEL void q3k_silu(const float* x, int64_t rows, int64_t width, float* out) {
  for (int64_t i = 0; i < rows * width; ++i) out[i] = x[i] * (1.0f / (1.0f + expf(-x[i])));
}
