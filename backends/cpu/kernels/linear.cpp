// Matrix products with weights stored [out, in]: plain, with SwiGLU, with the RMSNorm of
// the input folded in.
#include <math.h>

#include "kernel_abi.h"

namespace {

// inv_rms of a row; the row itself is then scaled by inv_rms * norm weight.
template <class G>
void normalise_row(const float* x, const G* g, int64_t size, float eps, float* out) {
  double sum = 0;
  for (int64_t i = 0; i < size; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float inv = 1.0f / sqrtf(static_cast<float>(sum / size) + eps);
  for (int64_t i = 0; i < size; ++i) out[i] = q3k::load(g, i) * (x[i] * inv);
}

template <class W>
void linear_rows(const float* x, const W* w, int64_t in, int64_t out_features, float* out) {
  for (int64_t n = 0; n < out_features; ++n) out[n] = q3k::dot_row(x, w, n, in);
}

// w holds gate rows [0, inter) then up rows [inter, 2 inter).
template <class W>
void swiglu_rows(const float* x, const W* w, int64_t in, int64_t inter, float* out) {
  for (int64_t n = 0; n < inter; ++n) {
    const float gate = q3k::dot_row(x, w, n, in);
    const float up = q3k::dot_row(x, w, inter + n, in);
    out[n] = gate * (1.0f / (1.0f + expf(-gate))) * up;
  }
}

}  // namespace

#define Q3_MATMULS(name, W)                                                                            \
  Q3_KERNEL void q3k_linear_##name(const float* x, const void* w, int64_t tokens, int64_t in,          \
                                   int64_t out_features, float* out) {                                 \
    for (int64_t t = 0; t < tokens; ++t)                                                               \
      linear_rows(x + t * in, static_cast<const W*>(w), in, out_features, out + t * out_features);     \
  }                                                                                                    \
  Q3_KERNEL void q3k_swiglu_##name(const float* x, const void* w, int64_t tokens, int64_t in,          \
                                   int64_t inter, float* out) {                                        \
    for (int64_t t = 0; t < tokens; ++t)                                                               \
      swiglu_rows(x + t * in, static_cast<const W*>(w), in, inter, out + t * inter);                   \
  }                                                                                                    \
  Q3_KERNEL void q3k_rms_norm_linear_##name(const float* x, const void* g, int64_t g_is_bf16,          \
                                            const void* w, int64_t tokens, int64_t in,                 \
                                            int64_t out_features, float eps, float* scratch,           \
                                            float* out) {                                              \
    for (int64_t t = 0; t < tokens; ++t) {                                                             \
      if (g_is_bf16) normalise_row(x + t * in, static_cast<const uint16_t*>(g), in, eps, scratch);     \
      else normalise_row(x + t * in, static_cast<const float*>(g), in, eps, scratch);                  \
      linear_rows(scratch, static_cast<const W*>(w), in, out_features, out + t * out_features);        \
    }                                                                                                  \
  }                                                                                                    \
  Q3_KERNEL void q3k_rms_norm_swiglu_##name(const float* x, const void* g, int64_t g_is_bf16,          \
                                            const void* w, int64_t tokens, int64_t in,                 \
                                            int64_t inter, float eps, float* scratch, float* out) {    \
    for (int64_t t = 0; t < tokens; ++t) {                                                             \
      if (g_is_bf16) normalise_row(x + t * in, static_cast<const uint16_t*>(g), in, eps, scratch);     \
      else normalise_row(x + t * in, static_cast<const float*>(g), in, eps, scratch);                  \
      swiglu_rows(scratch, static_cast<const W*>(w), in, inter, out + t * inter);                      \
    }                                                                                                  \
  }
Q3_FOR_EACH_WEIGHT_FORMAT(Q3_MATMULS)
