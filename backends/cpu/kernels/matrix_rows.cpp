// Reading rows of weight matrices in every storage format: dot products with f32 vectors
// and dequantisation. Partial sums in many independent lanes let the vectoriser keep
// several FMA chains in flight without reassociating floating point behind our back.
#include "kernel_abi.h"

namespace q3k {

namespace {

using q3k::load16;  // the f32 overload, next to the bf16 one below
inline f32x16 load16(const uint16_t* p) {
  u16x16 h;
  __builtin_memcpy(&h, p, sizeof h);
  const u32x16 bits = __builtin_convertvector(h, u32x16) << 16;
  f32x16 v;
  __builtin_memcpy(&v, &bits, sizeof v);
  return v;
}
// A quantised block as two 16-float vectors (elements 0-15 and 16-31).
inline void decode16(const BlockQ8_0& b, f32x16& lo, f32x16& hi) {
  const float d = half_to_float(b.scale);
  i8x16 a, c;
  __builtin_memcpy(&a, b.q, 16);
  __builtin_memcpy(&c, b.q + 16, 16);
  lo = __builtin_convertvector(a, f32x16) * d;
  hi = __builtin_convertvector(c, f32x16) * d;
}
inline void decode16(const BlockQ4_0& b, f32x16& lo, f32x16& hi) {
  const float d = half_to_float(b.scale);
  u8x16 q;
  __builtin_memcpy(&q, b.q, 16);
  lo = __builtin_convertvector(__builtin_convertvector(q & 15, i32x16) - 8, f32x16) * d;
  hi = __builtin_convertvector(__builtin_convertvector(q >> 4, i32x16) - 8, f32x16) * d;
}

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

// Quantised rows: decoded a block at a time into vectors; two blocks in flight.
template <class B>
float dot_quant(const float* x, const B* blocks, int64_t size) {
  f32x16 a0 = {}, a1 = {}, a2 = {}, a3 = {};
  const int64_t n = size / 32;
  int64_t b = 0;
  for (; b + 2 <= n; b += 2) {
    f32x16 lo, hi, lo2, hi2;
    decode16(blocks[b], lo, hi);
    decode16(blocks[b + 1], lo2, hi2);
    a0 += load16(x + b * 32) * lo;
    a1 += load16(x + b * 32 + 16) * hi;
    a2 += load16(x + b * 32 + 32) * lo2;
    a3 += load16(x + b * 32 + 48) * hi2;
  }
  for (; b < n; ++b) {
    f32x16 lo, hi;
    decode16(blocks[b], lo, hi);
    a0 += load16(x + b * 32) * lo;
    a1 += load16(x + b * 32 + 16) * hi;
  }
  return sum_lanes(a0 + a1 + a2 + a3);
}

template <class B>
void dot_quant4(const float* x, int64_t stride, const B* blocks, int64_t size, float out[4]) {
  f32x16 acc[4][2] = {};
  for (int64_t b = 0; b < size / 32; ++b) {
    f32x16 lo, hi;
    decode16(blocks[b], lo, hi);
    for (int r = 0; r < 4; ++r) {
      acc[r][0] += load16(x + r * stride + b * 32) * lo;
      acc[r][1] += load16(x + r * stride + b * 32 + 16) * hi;
    }
  }
  for (int r = 0; r < 4; ++r) out[r] = sum_lanes(acc[r][0] + acc[r][1]);
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
    for (int c = 0; c < 4; ++c) out[r * 4 + c] = sum_lanes(acc[r][c]);
  }
}

// Quantised: each 32-value block of the four weight rows is decoded to floats once and
// used for all four activation rows.
template <class B>
void dot_4x4_quant(const float* x, int64_t stride, const B* w, int64_t size, float out[16]) {
  const int64_t blocks = size / 32;
  f32x16 acc[4][4] = {};
  for (int64_t b = 0; b < blocks; ++b) {
    f32x16 lo[4], hi[4];
    for (int c = 0; c < 4; ++c) decode16(w[c * blocks + b], lo[c], hi[c]);
    for (int r = 0; r < 4; ++r) {
      const f32x16 x0 = load16(x + r * stride + b * 32), x1 = load16(x + r * stride + b * 32 + 16);
      for (int c = 0; c < 4; ++c) acc[r][c] += x0 * lo[c] + x1 * hi[c];
    }
  }
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) out[r * 4 + c] = sum_lanes(acc[r][c]);
  }
}
}  // namespace

void dot_4x4(const float* x, int64_t stride, const float* w, int64_t row, int64_t size, float out[16]) {
  dot_4x4_vec(x, stride, w + row * size, size, out);
}
void dot_4x4(const float* x, int64_t stride, const BlockQ8_0* w, int64_t row, int64_t size, float out[16]) {
  dot_4x4_quant(x, stride, w + row * (size / 32), size, out);
}
void dot_4x4(const float* x, int64_t stride, const BlockQ4_0* w, int64_t row, int64_t size, float out[16]) {
  dot_4x4_quant(x, stride, w + row * (size / 32), size, out);
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
template <class B>
void load_quant_row(const B* blocks, int64_t size, float* out) {
  for (int64_t b = 0; b < size / 32; ++b) {
    f32x16 lo, hi;
    decode16(blocks[b], lo, hi);
    __builtin_memcpy(out + b * 32, &lo, sizeof lo);
    __builtin_memcpy(out + b * 32 + 16, &hi, sizeof hi);
  }
}
void load_row(const BlockQ8_0* w, int64_t row, int64_t size, float* out) { load_quant_row(w + row * (size / 32), size, out); }
void load_row(const BlockQ4_0* w, int64_t row, int64_t size, float* out) { load_quant_row(w + row * (size / 32), size, out); }

}  // namespace q3k
