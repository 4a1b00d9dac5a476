// Reading rows of weight matrices in every storage format: dot products with an f32 vector
// and dequantisation. Sixteen partial sums give the vectoriser independent lanes without
// reassociating floating point behind our back.
#include "kernel_abi.h"

namespace q3k {

namespace {
constexpr int64_t kLanes = 16;

template <class W>
float dot_plain(const float* x, const W* w, int64_t size) {
  float lanes[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= size; k += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += x[k + l] * load(w, k + l);
  }
  float sum = 0;
  for (; k < size; ++k) sum += x[k] * load(w, k);
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  return sum;
}
}  // namespace

float dot_row(const float* x, const float* w, int64_t row, int64_t size) { return dot_plain(x, w + row * size, size); }
float dot_row(const float* x, const uint16_t* w, int64_t row, int64_t size) { return dot_plain(x, w + row * size, size); }

float dot_row(const float* x, const BlockQ8_0* w, int64_t row, int64_t size) {
  const BlockQ8_0* blocks = w + row * (size / 32);
  float sum = 0;
  for (int64_t b = 0; b < size / 32; ++b) {
    float block = 0;
    for (int i = 0; i < 32; ++i) block += x[b * 32 + i] * static_cast<float>(blocks[b].q[i]);
    sum += half_to_float(blocks[b].scale) * block;
  }
  return sum;
}

float dot_row(const float* x, const BlockQ4_0* w, int64_t row, int64_t size) {
  const BlockQ4_0* blocks = w + row * (size / 32);
  float sum = 0;
  for (int64_t b = 0; b < size / 32; ++b) {
    float block = 0;
    for (int j = 0; j < 16; ++j) {
      block += x[b * 32 + j] * static_cast<float>((blocks[b].q[j] & 0x0f) - 8);
      block += x[b * 32 + j + 16] * static_cast<float>((blocks[b].q[j] >> 4) - 8);
    }
    sum += half_to_float(blocks[b].scale) * block;
  }
  return sum;
}

void load_row(const float* w, int64_t row, int64_t size, float* out) {
  for (int64_t i = 0; i < size; ++i) out[i] = w[row * size + i];
}
void load_row(const uint16_t* w, int64_t row, int64_t size, float* out) {
  for (int64_t i = 0; i < size; ++i) out[i] = load(w, row * size + i);
}
void load_row(const BlockQ8_0* w, int64_t row, int64_t size, float* out) {
  const BlockQ8_0* blocks = w + row * (size / 32);
  for (int64_t b = 0; b < size / 32; ++b) {
    const float d = half_to_float(blocks[b].scale);
    for (int i = 0; i < 32; ++i) out[b * 32 + i] = d * static_cast<float>(blocks[b].q[i]);
  }
}
void load_row(const BlockQ4_0* w, int64_t row, int64_t size, float* out) {
  const BlockQ4_0* blocks = w + row * (size / 32);
  for (int64_t b = 0; b < size / 32; ++b) {
    const float d = half_to_float(blocks[b].scale);
    for (int j = 0; j < 16; ++j) {
      out[b * 32 + j] = d * static_cast<float>((blocks[b].q[j] & 0x0f) - 8);
      out[b * 32 + j + 16] = d * static_cast<float>((blocks[b].q[j] >> 4) - 8);
    }
  }
}

}  // namespace q3k
