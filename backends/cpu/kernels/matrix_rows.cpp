// Reading rows of weight matrices in every storage format: dot products with f32 vectors
// and dequantisation. Partial sums in many independent lanes let the vectoriser keep
// several FMA chains in flight without reassociating floating point behind our back.
#include "kernel_abi.h"

namespace q3k {

namespace {
constexpr int64_t kLanes = 64;  // four 16-float vectors

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

template <class W>
void dot_plain4(const float* x, int64_t stride, const W* w, int64_t size, float out[4]) {
  constexpr int64_t kL = 16;
  float a0[kL] = {}, a1[kL] = {}, a2[kL] = {}, a3[kL] = {};
  int64_t k = 0;
  for (; k + kL <= size; k += kL) {
    for (int64_t l = 0; l < kL; ++l) {
      const float wv = load(w, k + l);
      a0[l] += x[k + l] * wv;
      a1[l] += x[stride + k + l] * wv;
      a2[l] += x[2 * stride + k + l] * wv;
      a3[l] += x[3 * stride + k + l] * wv;
    }
  }
  float s[4] = {0, 0, 0, 0};
  for (; k < size; ++k) {
    const float wv = load(w, k);
    for (int r = 0; r < 4; ++r) s[r] += x[r * stride + k] * wv;
  }
  for (int64_t l = 0; l < kL; ++l) {
    s[0] += a0[l];
    s[1] += a1[l];
    s[2] += a2[l];
    s[3] += a3[l];
  }
  for (int r = 0; r < 4; ++r) out[r] = s[r];
}

// Quantised rows: the block's scale is applied per lane, so lanes accumulate across blocks.
// Each block is decoded into 32 floats (vectorised: widen, convert, scale) and then used.
inline void decode(const BlockQ8_0& b, float w[32]) {
  const float d = half_to_float(b.scale);
  for (int i = 0; i < 32; ++i) w[i] = d * static_cast<float>(b.q[i]);
}
inline void decode(const BlockQ4_0& b, float w[32]) {
  const float d = half_to_float(b.scale);
  for (int j = 0; j < 16; ++j) {
    w[j] = d * static_cast<float>(static_cast<int>(b.q[j] & 0x0f) - 8);
    w[j + 16] = d * static_cast<float>(static_cast<int>(b.q[j] >> 4) - 8);
  }
}

// q8_0: scale and widen inside the FMA loop (two blocks in flight).
float dot_quant(const float* x, const BlockQ8_0* blocks, int64_t size) {
  float lanes[64] = {};
  const int64_t n = size / 32;
  int64_t b = 0;
  for (; b + 2 <= n; b += 2) {
    const float d0 = half_to_float(blocks[b].scale), d1 = half_to_float(blocks[b + 1].scale);
    for (int i = 0; i < 32; ++i) {
      lanes[i] += x[b * 32 + i] * (d0 * static_cast<float>(blocks[b].q[i]));
      lanes[32 + i] += x[b * 32 + 32 + i] * (d1 * static_cast<float>(blocks[b + 1].q[i]));
    }
  }
  for (; b < n; ++b) {
    const float d = half_to_float(blocks[b].scale);
    for (int i = 0; i < 32; ++i) lanes[i] += x[b * 32 + i] * (d * static_cast<float>(blocks[b].q[i]));
  }
  float sum = 0;
  for (int l = 0; l < 64; ++l) sum += lanes[l];
  return sum;
}

// q4_0: decode the block to floats first (the nibble shuffles vectorise apart from the FMAs).
float dot_quant(const float* x, const BlockQ4_0* blocks, int64_t size) {
  float lanes[32] = {};
  float w[32];
  for (int64_t b = 0; b < size / 32; ++b) {
    decode(blocks[b], w);
    for (int i = 0; i < 32; ++i) lanes[i] += x[b * 32 + i] * w[i];
  }
  float sum = 0;
  for (int l = 0; l < 32; ++l) sum += lanes[l];
  return sum;
}

template <class B>
void dot_quant4(const float* x, int64_t stride, const B* blocks, int64_t size, float out[4]) {
  float a0[32] = {}, a1[32] = {}, a2[32] = {}, a3[32] = {};
  float w[32];
  for (int64_t b = 0; b < size / 32; ++b) {
    decode(blocks[b], w);
    for (int i = 0; i < 32; ++i) {
      const int64_t k = b * 32 + i;
      a0[i] += x[k] * w[i];
      a1[i] += x[stride + k] * w[i];
      a2[i] += x[2 * stride + k] * w[i];
      a3[i] += x[3 * stride + k] * w[i];
    }
  }
  float s[4] = {0, 0, 0, 0};
  for (int i = 0; i < 32; ++i) {
    s[0] += a0[i];
    s[1] += a1[i];
    s[2] += a2[i];
    s[3] += a3[i];
  }
  for (int r = 0; r < 4; ++r) out[r] = s[r];
}
}  // namespace

float dot_row(const float* x, const float* w, int64_t row, int64_t size) { return dot_plain(x, w + row * size, size); }
float dot_row(const float* x, const uint16_t* w, int64_t row, int64_t size) { return dot_plain(x, w + row * size, size); }
float dot_row(const float* x, const BlockQ8_0* w, int64_t row, int64_t size) { return dot_quant(x, w + row * (size / 32), size); }
float dot_row(const float* x, const BlockQ4_0* w, int64_t row, int64_t size) { return dot_quant(x, w + row * (size / 32), size); }

void dot_row4(const float* x, int64_t stride, const float* w, int64_t row, int64_t size, float out[4]) {
  dot_plain4(x, stride, w + row * size, size, out);
}
void dot_row4(const float* x, int64_t stride, const uint16_t* w, int64_t row, int64_t size, float out[4]) {
  dot_plain4(x, stride, w + row * size, size, out);
}
void dot_row4(const float* x, int64_t stride, const BlockQ8_0* w, int64_t row, int64_t size, float out[4]) {
  dot_quant4(x, stride, w + row * (size / 32), size, out);
}
void dot_row4(const float* x, int64_t stride, const BlockQ4_0* w, int64_t row, int64_t size, float out[4]) {
  dot_quant4(x, stride, w + row * (size / 32), size, out);
}

namespace {
typedef float f32x16 __attribute__((vector_size(64)));
typedef uint16_t u16x16 __attribute__((vector_size(32)));
typedef uint32_t u32x16 __attribute__((vector_size(64)));

inline f32x16 load16(const float* p) {
  f32x16 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline f32x16 load16(const uint16_t* p) {
  u16x16 h;
  __builtin_memcpy(&h, p, sizeof h);
  const u32x16 bits = __builtin_convertvector(h, u32x16) << 16;
  f32x16 v;
  __builtin_memcpy(&v, &bits, sizeof v);
  return v;
}
inline float reduce(f32x16 v) {
  float s = 0;
  for (int i = 0; i < 16; ++i) s += v[i];
  return s;
}

template <class W>
void dot_4x4_vec(const float* x, int64_t stride, const W* w, int64_t size, float out[16]) {
  f32x16 acc[4][4] = {};
  for (int64_t k = 0; k < size; k += 16) {
    const f32x16 w0 = load16(w + k), w1 = load16(w + size + k), w2 = load16(w + 2 * size + k),
                 w3 = load16(w + 3 * size + k);
    for (int r = 0; r < 4; ++r) {
      const f32x16 xv = load16(x + r * stride + k);
      acc[r][0] += xv * w0;
      acc[r][1] += xv * w1;
      acc[r][2] += xv * w2;
      acc[r][3] += xv * w3;
    }
  }
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) out[r * 4 + c] = reduce(acc[r][c]);
  }
}
}  // namespace

void dot_4x4(const float* x, int64_t stride, const float* w, int64_t row, int64_t size, float out[16]) {
  dot_4x4_vec(x, stride, w + row * size, size, out);
}
void dot_4x4(const float* x, int64_t stride, const uint16_t* w, int64_t row, int64_t size, float out[16]) {
  dot_4x4_vec(x, stride, w + row * size, size, out);
}

void load_row(const float* w, int64_t row, int64_t size, float* out) {
  for (int64_t i = 0; i < size; ++i) out[i] = w[row * size + i];
}
void load_row(const uint16_t* w, int64_t row, int64_t size, float* out) {
  for (int64_t i = 0; i < size; ++i) out[i] = load(w, row * size + i);
}
void load_row(const BlockQ8_0* w, int64_t row, int64_t size, float* out) {
  for (int64_t b = 0; b < size / 32; ++b) decode(w[row * (size / 32) + b], out + b * 32);
}
void load_row(const BlockQ4_0* w, int64_t row, int64_t size, float* out) {
  for (int64_t b = 0; b < size / 32; ++b) decode(w[row * (size / 32) + b], out + b * 32);
}

}  // namespace q3k
