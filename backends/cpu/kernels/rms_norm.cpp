// RMSNorm of each row of `size` elements: out = weight * (x / sqrt(mean(x^2) + eps)).
// Per-head norms are the same kernel over rows * heads rows of head_dim elements.
#include <math.h>

#include "kernel_abi.h"

namespace {
template <class W>
void rms_norm(const float* x, const W* weight, int64_t rows, int64_t size, float eps, float* out) {
  for (int64_t r = 0; r < rows; ++r) q3k::rms_normalize(x + r * size, weight, size, eps, out + r * size);
}

// sum = a + b (the residual stream), normalized = rms_norm(sum).
template <class W>
void add_rms_norm(const float* a, const float* b, const W* weight, int64_t rows, int64_t size, float eps,
                  float* sum, float* normalized) {
  for (int64_t i = 0; i < rows * size; ++i) sum[i] = a[i] + b[i];
  rms_norm(sum, weight, rows, size, eps, normalized);
}
}  // namespace

// Threads split the rows (a single decode row stays on one thread: it is tiny).
#define Q3_NORMS(name, W)                                                                                \
  Q3_KERNEL void q3k_rms_norm_##name(const float* x, const void* weight, int64_t rows, int64_t size,     \
                                     float eps, float* out, int64_t thread, int64_t threads) {           \
    const q3k::Range r = q3k::share(rows, thread, threads);                                              \
    rms_norm(x + r.begin * size, static_cast<const W*>(weight), r.end - r.begin, size, eps,              \
             out + r.begin * size);                                                                      \
  }                                                                                                      \
  Q3_KERNEL void q3k_add_rms_norm_##name(const float* a, const float* b, const void* weight, int64_t rows, \
                                         int64_t size, float eps, float* sum, float* normalized,         \
                                         int64_t thread, int64_t threads) {                              \
    const q3k::Range r = q3k::share(rows, thread, threads);                                              \
    const int64_t o = r.begin * size;                                                                    \
    add_rms_norm(a + o, b + o, static_cast<const W*>(weight), r.end - r.begin, size, eps, sum + o,       \
                 normalized + o);                                                                        \
  }
Q3_NORMS(bf16, uint16_t)
Q3_NORMS(f32, float)
