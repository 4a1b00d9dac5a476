#include "backends/portable/runtime/kernels.h"

#include <cmath>
#include <cstring>

#include "runtime/core/half.h"
#include "runtime/core/weight_format.h"

namespace qwen3c::portable {

using weight_format::BlockQ4_0;
using weight_format::BlockQ8_0;

void WeightView::row(std::int64_t r, float* out) const {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  switch (dtype) {
    case DType::F32:
      std::memcpy(out, bytes + r * columns * 4, columns * 4);
      return;
    case DType::BF16:
      for (std::int64_t i = 0; i < columns; ++i) {
        std::uint16_t h;
        std::memcpy(&h, bytes + (r * columns + i) * 2, 2);
        out[i] = bf16_to_f32(h);
      }
      return;
    case DType::Q8_0:
    case DType::Q4_0: {
      const std::int64_t blocks = columns / Q3_QBLOCK;
      const std::size_t block_bytes = quant_block_bytes(dtype);
      for (std::int64_t b = 0; b < blocks; ++b) {
        const std::uint8_t* at = bytes + (r * blocks + b) * block_bytes;
        float* values = out + b * Q3_QBLOCK;
        if (dtype == DType::Q8_0) {
          BlockQ8_0 block;
          std::memcpy(&block, at, sizeof block);
          const float d = f16_to_f32(block.scale);
          for (int i = 0; i < Q3_QBLOCK; ++i) values[i] = d * static_cast<float>(block.q[i]);
        } else {
          BlockQ4_0 block;
          std::memcpy(&block, at, sizeof block);
          const float d = f16_to_f32(block.scale);
          for (int i = 0; i < Q3_QBLOCK; ++i) values[i] = d * static_cast<float>(weight_format::q4_0_value(block, i));
        }
      }
      return;
    }
    default:
      return;  // refused when the program was checked
  }
}

void rms_norm(const float* x, std::int64_t size, std::int64_t group, const WeightView& g, double eps, float* out) {
  std::vector<float> weight(group);
  g.row(0, weight.data());
  for (std::int64_t start = 0; start < size; start += group) {
    double squares = 0;
    for (std::int64_t i = 0; i < group; ++i) squares += static_cast<double>(x[start + i]) * x[start + i];
    const double inv = 1.0 / std::sqrt(squares / group + eps);
    for (std::int64_t i = 0; i < group; ++i) out[start + i] = static_cast<float>(weight[i] * (x[start + i] * inv));
  }
}

void matvec(const float* x, const WeightView& w, float* out, std::vector<float>& row_buffer) {
  row_buffer.resize(w.columns);
  for (std::int64_t n = 0; n < w.rows; ++n) {
    w.row(n, row_buffer.data());
    double sum = 0;
    for (std::int64_t k = 0; k < w.columns; ++k) sum += static_cast<double>(x[k]) * row_buffer[k];
    out[n] = static_cast<float>(sum);
  }
}

void rope(float* row, std::int64_t heads, std::int64_t head_dim, double theta, const RopeScaling& scaling,
          std::int64_t position) {
  const std::int64_t half = head_dim / 2;
  for (std::int64_t i = 0; i < half; ++i) {
    const float inv_freq = rope_inv_freq(head_dim, static_cast<float>(theta), scaling, i);
    const float angle = static_cast<float>(position) * inv_freq;
    const double c = std::cos(angle) * scaling.attention_factor, s = std::sin(angle) * scaling.attention_factor;
    for (std::int64_t h = 0; h < heads; ++h) {
      float* head = row + h * head_dim;
      const float a = head[i], b = head[i + half];
      head[i] = static_cast<float>(a * c - b * s);
      head[i + half] = static_cast<float>(b * c + a * s);
    }
  }
}

void attend(const float* query, const float* keys, const float* values, std::int64_t position, std::int64_t heads,
            std::int64_t kv_heads, std::int64_t head_dim, double scale, float* out, std::vector<double>& scores) {
  const std::int64_t kv_row = kv_heads * head_dim, group = heads / kv_heads;
  scores.resize(position + 1);
  for (std::int64_t h = 0; h < heads; ++h) {
    const float* q = query + h * head_dim;
    const std::int64_t kv = (h / group) * head_dim;
    double max = -INFINITY;
    for (std::int64_t j = 0; j <= position; ++j) {
      double s = 0;
      for (std::int64_t d = 0; d < head_dim; ++d) s += static_cast<double>(q[d]) * keys[j * kv_row + kv + d];
      scores[j] = s * scale;
      max = std::max(max, scores[j]);
    }
    double sum = 0;
    for (std::int64_t j = 0; j <= position; ++j) sum += (scores[j] = std::exp(scores[j] - max));
    for (std::int64_t d = 0; d < head_dim; ++d) {
      double acc = 0;
      for (std::int64_t j = 0; j <= position; ++j) acc += scores[j] * values[j * kv_row + kv + d];
      out[h * head_dim + d] = static_cast<float>(acc / sum);
    }
  }
}

}  // namespace qwen3c::portable
