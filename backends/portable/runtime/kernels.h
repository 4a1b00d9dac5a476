#pragma once
// The portable backend's kernels: each q3 op in plain, portable C++ (no intrinsics, no
// generated code), over rows of f32 activations. Weights are read in the formats the
// shared weight writer stores (runtime/core/weight_format.h), one row at a time.

#include <cmath>
#include <cstdint>

#include "runtime/core/rope_frequencies.h"
#include <span>
#include <vector>

#include "runtime/core/dtype.h"

namespace qwen3c::portable {

// A weight tensor as stored in the artifact.
struct WeightView {
  const void* data = nullptr;
  DType dtype = DType::F32;
  std::int64_t rows = 1, columns = 0;  // a vector is one row

  // Row `r` as f32 into out[0..columns).
  void row(std::int64_t r, float* out) const;
};

// RMSNorm of every `group` consecutive values of x[0..size), scaled by g[0..group).
void rms_norm(const float* x, std::int64_t size, std::int64_t group, const WeightView& g, double eps, float* out);

// out[n] = x . W_n for every row n of W (x has W.columns values).
void matvec(const float* x, const WeightView& w, float* out, std::vector<float>& row_buffer);

// Rotate-half RoPE of each head of `row` at `position`, as Hugging Face computes it in f32.
void rope(float* row, std::int64_t heads, std::int64_t head_dim, double theta, const RopeScaling& scaling,
          std::int64_t position);

// Causal grouped-query attention of one query row at `position` over keys/values
// [0, position] of one layer ([context, kv_heads * head_dim] each).
void attend(const float* query, const float* keys, const float* values, std::int64_t position, std::int64_t heads,
            std::int64_t kv_heads, std::int64_t head_dim, double scale, float* out, std::vector<double>& scores);

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace qwen3c::portable
