// Matrix products with weights stored [out, in]: plain, with SwiGLU, with the RMSNorm of
// the input folded in. Threads split the output features; token rows go four at a time
// so that each weight row is read once per four tokens.
#include <math.h>

#include "kernel_abi.h"

namespace {

// out[t, n] = x[t] . w[n] for n in this thread's share.
template <class W>
void linear(const float* x, const W* w, int64_t tokens, int64_t in, int64_t out_features, float* out,
            q3k::Range rows) {
  int64_t t = 0;
  for (; t + 4 <= tokens; t += 4) {
    int64_t n = rows.begin;
    if (in % 16 == 0) {
      for (; n + 4 <= rows.end; n += 4) {
        float d[16];
        q3k::dot_4x4(x + t * in, in, w, n, in, d);
        for (int r = 0; r < 4; ++r) {
          for (int c = 0; c < 4; ++c) out[(t + r) * out_features + n + c] = d[r * 4 + c];
        }
      }
    }
    for (; n < rows.end; ++n) {
      float d[4];
      q3k::dot_row4(x + t * in, in, w, n, in, d);
      for (int r = 0; r < 4; ++r) out[(t + r) * out_features + n] = d[r];
    }
  }
  for (; t < tokens; ++t) {
    for (int64_t n = rows.begin; n < rows.end; ++n) out[t * out_features + n] = q3k::dot_row(x + t * in, w, n, in);
  }
}

inline float silu(float x) { return x * (1.0f / (1.0f + q3k::exp_approx(-x))); }

// w holds gate rows [0, inter) then up rows [inter, 2 inter).
template <class W>
void swiglu(const float* x, const W* w, int64_t tokens, int64_t in, int64_t inter, float* out, q3k::Range rows) {
  int64_t t = 0;
  for (; t + 4 <= tokens; t += 4) {
    int64_t n = rows.begin;
    if (in % 16 == 0) {
      for (; n + 4 <= rows.end; n += 4) {
        float gate[16], up[16];
        q3k::dot_4x4(x + t * in, in, w, n, in, gate);
        q3k::dot_4x4(x + t * in, in, w, inter + n, in, up);
        for (int r = 0; r < 4; ++r) {
          for (int c = 0; c < 4; ++c) out[(t + r) * inter + n + c] = silu(gate[r * 4 + c]) * up[r * 4 + c];
        }
      }
    }
    for (; n < rows.end; ++n) {
      float gate[4], up[4];
      q3k::dot_row4(x + t * in, in, w, n, in, gate);
      q3k::dot_row4(x + t * in, in, w, inter + n, in, up);
      for (int r = 0; r < 4; ++r) out[(t + r) * inter + n] = silu(gate[r]) * up[r];
    }
  }
  for (; t < tokens; ++t) {
    for (int64_t n = rows.begin; n < rows.end; ++n) {
      out[t * inter + n] = silu(q3k::dot_row(x + t * in, w, n, in)) * q3k::dot_row(x + t * in, w, inter + n, in);
    }
  }
}

// The normalised rows of x, in this thread's scratch (tokens x in floats).
const float* normalise_any(const float* x, const void* g, int64_t g_is_bf16, int64_t tokens, int64_t in,
                           float eps, float* scratch) {
  for (int64_t t = 0; t < tokens; ++t) q3k::rms_normalize(x + t * in, g, g_is_bf16, in, eps, scratch + t * in);
  return scratch;
}

}  // namespace

#define Q3_MATMULS(name, W)                                                                                 \
  Q3_KERNEL void q3k_linear_##name(const float* x, const void* w, int64_t tokens, int64_t in,               \
                                   int64_t out_features, float* out, int64_t thread, int64_t threads) {     \
    linear(x, static_cast<const W*>(w), tokens, in, out_features, out, q3k::share_blocks(out_features, 4, thread, threads)); \
  }                                                                                                         \
  Q3_KERNEL void q3k_swiglu_##name(const float* x, const void* w, int64_t tokens, int64_t in, int64_t inter, \
                                   float* out, int64_t thread, int64_t threads) {                           \
    swiglu(x, static_cast<const W*>(w), tokens, in, inter, out, q3k::share_blocks(inter, 4, thread, threads));        \
  }                                                                                                         \
  Q3_KERNEL void q3k_rms_norm_linear_##name(const float* x, const void* g, int64_t g_is_bf16, const void* w, \
                                            int64_t tokens, int64_t in, int64_t out_features, float eps,    \
                                            float* scratch, float* out, int64_t thread, int64_t threads) {  \
    const float* normed = normalise_any(x, g, g_is_bf16, tokens, in, eps, scratch);                         \
    linear(normed, static_cast<const W*>(w), tokens, in, out_features, out,                                 \
           q3k::share_blocks(out_features, 4, thread, threads));                                                      \
  }                                                                                                         \
  Q3_KERNEL void q3k_rms_norm_swiglu_##name(const float* x, const void* g, int64_t g_is_bf16, const void* w, \
                                            int64_t tokens, int64_t in, int64_t inter, float eps,           \
                                            float* scratch, float* out, int64_t thread, int64_t threads) {  \
    const float* normed = normalise_any(x, g, g_is_bf16, tokens, in, eps, scratch);                         \
    swiglu(normed, static_cast<const W*>(w), tokens, in, inter, out, q3k::share_blocks(inter, 4, thread, threads));   \
  }
Q3_FOR_EACH_WEIGHT_FORMAT(Q3_MATMULS)
