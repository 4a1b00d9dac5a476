// Elementwise ops over rows * width floats; threads split the elements.
#include <math.h>

#include "kernel_abi.h"

Q3_KERNEL void q3k_add(const float* a, const float* b, int64_t rows, int64_t width, float* out, int64_t thread,
                       int64_t threads) {
  const q3k::Range r = q3k::share(rows * width, thread, threads);
  for (int64_t i = r.begin; i < r.end; ++i) out[i] = a[i] + b[i];
}

Q3_KERNEL void q3k_mul(const float* a, const float* b, int64_t rows, int64_t width, float* out, int64_t thread,
                       int64_t threads) {
  const q3k::Range r = q3k::share(rows * width, thread, threads);
  for (int64_t i = r.begin; i < r.end; ++i) out[i] = a[i] * b[i];
}

// silu(x) = x * sigmoid(x), as torch computes it.
Q3_KERNEL void q3k_silu(const float* x, int64_t rows, int64_t width, float* out, int64_t thread, int64_t threads) {
  const q3k::Range r = q3k::share(rows * width, thread, threads);
  for (int64_t i = r.begin; i < r.end; ++i) out[i] = x[i] * (1.0f / (1.0f + q3k::exp_approx(-x[i])));
}
