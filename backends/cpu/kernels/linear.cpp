// out[t, n] = sum_k x[t, k] * w[n, k]. Sixteen partial sums per dot product give the
// vectoriser independent lanes without reassociating floating point behind our back.
#include "kernel_abi.h"

namespace {
constexpr int64_t kLanes = 16;

template <class W>
float dot(const float* x, const W* w, int64_t size) {
  float lanes[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= size; k += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += x[k + l] * q3k::load(w, k + l);
  }
  float sum = 0;
  for (; k < size; ++k) sum += x[k] * q3k::load(w, k);
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  return sum;
}

template <class W>
void linear(const float* x, const W* w, int64_t tokens, int64_t in, int64_t out_features,
            float* out) {
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t n = 0; n < out_features; ++n) {
      out[t * out_features + n] = dot(x + t * in, w + n * in, in);
    }
  }
}
}  // namespace

Q3_KERNEL void q3k_linear_bf16(const float* x, const void* w, int64_t tokens, int64_t in,
                               int64_t out_features, float* out) {
  linear(x, static_cast<const uint16_t*>(w), tokens, in, out_features, out);
}

Q3_KERNEL void q3k_linear_f32(const float* x, const void* w, int64_t tokens, int64_t in,
                              int64_t out_features, float* out) {
  linear(x, static_cast<const float*>(w), tokens, in, out_features, out);
}
