#pragma once
// Shared by the CPU kernels. The kernels are compiled to LLVM bitcode when qwen3c is built
// and linked into every artifact's generated code, where the compiler calls them with the
// model's dimensions as constants so that LLVM specialises each call site.
//
// Conventions: activations are row-major float rows; weights are row-major [out, in] in
// BF16 (uint16_t) or F32; every size is int64_t; kernels never allocate.

#include <stdint.h>

#define Q3_KERNEL extern "C"

namespace q3k {

inline float load(const float* p, int64_t i) { return p[i]; }

inline float load(const uint16_t* p, int64_t i) {
  uint32_t bits = static_cast<uint32_t>(p[i]) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

// IEEE half to float (block scales of quantised weights).
inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    }
  } else if (exponent == 31) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

// Quantised rows: K / 32 blocks, each an f16 scale then the values.
// q8_0: 32 signed bytes (34 bytes a block). q4_0: 16 bytes, byte j holding element j in
// its low nibble and element j + 16 in its high nibble, each stored as q + 8 (18 bytes).
struct BlockQ8_0 {
  uint16_t scale;
  int8_t q[32];
};
struct BlockQ4_0 {
  uint16_t scale;
  uint8_t q[16];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18, "block layout");

// The share of `count` work items thread `thread` of `threads` takes: [begin, end).
struct Range {
  int64_t begin, end;
};
inline Range share(int64_t count, int64_t thread, int64_t threads) {
  return {count * thread / threads, count * (thread + 1) / threads};
}

using BarrierFn = void (*)(void*);

// Dot products of f32 x[0..size) with row `row` of a weight, for every weight format. The
// four-row forms share each weight load between four activation rows (x, x + stride, ...):
// prefill reads the weights a quarter as often.
float dot_row(const float* x, const float* w, int64_t row, int64_t size);
float dot_row(const float* x, const uint16_t* w, int64_t row, int64_t size);
float dot_row(const float* x, const BlockQ8_0* w, int64_t row, int64_t size);
float dot_row(const float* x, const BlockQ4_0* w, int64_t row, int64_t size);
void dot_row4(const float* x, int64_t stride, const float* w, int64_t row, int64_t size, float out[4]);
void dot_row4(const float* x, int64_t stride, const uint16_t* w, int64_t row, int64_t size, float out[4]);
void dot_row4(const float* x, int64_t stride, const BlockQ8_0* w, int64_t row, int64_t size, float out[4]);
void dot_row4(const float* x, int64_t stride, const BlockQ4_0* w, int64_t row, int64_t size, float out[4]);
// Four activation rows by four weight rows (row .. row + 3) of a bf16 or f32 matrix whose
// rows are a multiple of 16 long: out[r * 4 + c] = x_r . w_{row + c}. Written with explicit
// 16-float vectors so that the sixteen accumulators stay in registers.
void dot_4x4(const float* x, int64_t stride, const float* w, int64_t row, int64_t size, float out[16]);
void dot_4x4(const float* x, int64_t stride, const uint16_t* w, int64_t row, int64_t size, float out[16]);
template <class W>
inline constexpr bool kHas4x4 = false;
template <>
inline constexpr bool kHas4x4<float> = true;
template <>
inline constexpr bool kHas4x4<uint16_t> = true;
// Row `row` of a weight as f32 (embedding lookups).
void load_row(const float* w, int64_t row, int64_t size, float* out);
void load_row(const uint16_t* w, int64_t row, int64_t size, float* out);
void load_row(const BlockQ8_0* w, int64_t row, int64_t size, float* out);
void load_row(const BlockQ4_0* w, int64_t row, int64_t size, float* out);

// The kernel entry points for each weight format: NAME_bf16, NAME_f32, NAME_q8_0, NAME_q4_0.
#define Q3_FOR_EACH_WEIGHT_FORMAT(X) \
  X(bf16, uint16_t)                  \
  X(f32, float)                      \
  X(q8_0, q3k::BlockQ8_0)            \
  X(q4_0, q3k::BlockQ4_0)

}  // namespace q3k
