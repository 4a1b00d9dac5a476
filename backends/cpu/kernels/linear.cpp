// Matrix products with weights stored [out, in]: plain, with SwiGLU, with the RMSNorm of
// the input folded in. Threads split the output features; token rows go four at a time
// so that each weight row is read once per four tokens. Prefill (8 tokens or more)
// converts four weight rows at a time to f32 in the thread's scratch (a "panel") and runs
// every token of a 64-token block against it: the conversion (bf16 widening, q8_0 / q4_0
// dequantisation) is paid once per 64 tokens instead of once per 4, and the panel stays
// in L1 while the block's activations stay in L2.
#include <math.h>

#include "kernel_abi.h"
#include "kernel_entry_points.h"

namespace {

constexpr int64_t kPanelMinTokens = 8;
constexpr int64_t kTokenBlock = 64;

// out[(t - t0) * stride + c] = x[t] . panel[c] for t in [t0, t1), c < 4 (panel: 4 f32 rows
// of in).
void panel_product(const float* x, int64_t t0, int64_t t1, int64_t in, const float* panel, float* out,
                   int64_t stride) {
  int64_t t = t0;
  for (; t + 4 <= t1; t += 4) {
    float d[16];
    q3k::dot_4x4(x + t * in, in, panel, 0, in, d);
    for (int r = 0; r < 4; ++r) {
      for (int c = 0; c < 4; ++c) out[(t - t0 + r) * stride + c] = d[r * 4 + c];
    }
  }
  for (; t < t1; ++t) {
    for (int c = 0; c < 4; ++c) out[(t - t0) * stride + c] = q3k::dot_row(x + t * in, panel, c, in);
  }
}

template <class W>
void load_panel(const W* w, int64_t first_row, int64_t in, float* panel) {
  for (int r = 0; r < 4; ++r) q3k::load_row(w, first_row + r, in, panel + r * in);
}

template <class W>
void linear_panels(const float* x, const W* w, int64_t tokens, int64_t in, int64_t out_features, float* out,
                   q3k::Range rows, float* panel) {
  for (int64_t t0 = 0; t0 < tokens; t0 += kTokenBlock) {
    const int64_t t1 = tokens - t0 < kTokenBlock ? tokens : t0 + kTokenBlock;
    int64_t n = rows.begin;
    for (; n + 4 <= rows.end; n += 4) {
      load_panel(w, n, in, panel);
      panel_product(x, t0, t1, in, panel, out + t0 * out_features + n, out_features);
    }
    for (; n < rows.end; ++n) {
      q3k::load_row(w, n, in, panel);
      for (int64_t t = t0; t < t1; ++t) out[t * out_features + n] = q3k::dot_row(x + t * in, panel, 0, in);
    }
  }
}

// out[t, n] = x[t] . w[n] for n in this thread's share.
template <class W>
void linear(const float* x, const W* w, int64_t tokens, int64_t in, int64_t out_features, float* out,
            q3k::Range rows, float* panel) {
  if (tokens >= kPanelMinTokens && in % 16 == 0) return linear_panels(x, w, tokens, in, out_features, out, rows, panel);
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

template <class W>
void swiglu_panels(const float* x, const W* w, int64_t tokens, int64_t in, int64_t inter, float* out,
                   q3k::Range rows, float* panel) {
  float* up_panel = panel + 4 * in;
  for (int64_t t0 = 0; t0 < tokens; t0 += kTokenBlock) {
    const int64_t t1 = tokens - t0 < kTokenBlock ? tokens : t0 + kTokenBlock;
    int64_t n = rows.begin;
    for (; n + 4 <= rows.end; n += 4) {
      load_panel(w, n, in, panel);
      load_panel(w, inter + n, in, up_panel);
      for (int64_t t = t0; t < t1; t += 4) {
        const int64_t t_end = t1 - t < 4 ? t1 : t + 4;
        float gate[16], up[16];
        panel_product(x, t, t_end, in, panel, gate, 4);
        panel_product(x, t, t_end, in, up_panel, up, 4);
        for (int64_t r = 0; r < t_end - t; ++r) {
          for (int c = 0; c < 4; ++c) out[(t + r) * inter + n + c] = silu(gate[r * 4 + c]) * up[r * 4 + c];
        }
      }
    }
    for (; n < rows.end; ++n) {
      q3k::load_row(w, n, in, panel);
      q3k::load_row(w, inter + n, in, up_panel);
      for (int64_t t = t0; t < t1; ++t) {
        out[t * inter + n] = silu(q3k::dot_row(x + t * in, panel, 0, in)) * q3k::dot_row(x + t * in, up_panel, 0, in);
      }
    }
  }
}

// w holds gate rows [0, inter) then up rows [inter, 2 inter).
template <class W>
void swiglu(const float* x, const W* w, int64_t tokens, int64_t in, int64_t inter, float* out, q3k::Range rows,
            float* panel) {
  if (tokens >= kPanelMinTokens && in % 16 == 0) return swiglu_panels(x, w, tokens, in, inter, out, rows, panel);
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
                                   int64_t out_features, float* scratch, float* out, int64_t thread,        \
                                   int64_t threads) {                                                       \
    linear(x, static_cast<const W*>(w), tokens, in, out_features, out,                                      \
           q3k::share_blocks(out_features, 4, thread, threads), scratch);                                   \
  }                                                                                                         \
  Q3_KERNEL void q3k_swiglu_##name(const float* x, const void* w, int64_t tokens, int64_t in, int64_t inter, \
                                   float* scratch, float* out, int64_t thread, int64_t threads) {           \
    swiglu(x, static_cast<const W*>(w), tokens, in, inter, out, q3k::share_blocks(inter, 4, thread, threads), \
           scratch);                                                                                        \
  }                                                                                                         \
  Q3_KERNEL void q3k_rms_norm_linear_##name(const float* x, const void* g, int64_t g_is_bf16, const void* w, \
                                            int64_t tokens, int64_t in, int64_t out_features, float eps,    \
                                            float* scratch, float* out, int64_t thread, int64_t threads) {  \
    const float* normed = normalise_any(x, g, g_is_bf16, tokens, in, eps, scratch);                         \
    linear(normed, static_cast<const W*>(w), tokens, in, out_features, out,                                 \
           q3k::share_blocks(out_features, 4, thread, threads), scratch + tokens * in);                     \
  }                                                                                                         \
  Q3_KERNEL void q3k_rms_norm_swiglu_##name(const float* x, const void* g, int64_t g_is_bf16, const void* w, \
                                            int64_t tokens, int64_t in, int64_t inter, float eps,           \
                                            float* scratch, float* out, int64_t thread, int64_t threads) {  \
    const float* normed = normalise_any(x, g, g_is_bf16, tokens, in, eps, scratch);                         \
    swiglu(normed, static_cast<const W*>(w), tokens, in, inter, out, q3k::share_blocks(inter, 4, thread, threads), \
           scratch + tokens * in);                                                                          \
  }
Q3_FOR_EACH_WEIGHT_FORMAT(Q3_MATMULS)
