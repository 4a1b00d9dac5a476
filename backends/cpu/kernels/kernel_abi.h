#pragma once
// Shared by the CPU kernels. The kernels are compiled to LLVM bitcode when qwen3c is built
// and linked into every artifact's generated code, where the compiler calls them with the
// model's dimensions as constants so that LLVM specialises each call site.
//
// Conventions: activations are row-major float rows; weights are row-major [out, in] in
// BF16 (uint16_t) or F32; every size is int64_t; kernels never allocate.

#include <stdint.h>

#include "runtime/core/numerics.h"
#include "runtime/core/weight_format.h"

#define Q3_KERNEL extern "C"

namespace q3k {

inline float load(const float* p, int64_t i) { return p[i]; }

inline float load(const uint16_t* p, int64_t i) {
  uint32_t bits = static_cast<uint32_t>(p[i]) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

// The bfloat16 bits of f, rounded to nearest even as runtime/core/half.h (NaN stays NaN).
inline uint32_t bf16_bits(float f) {
  uint32_t bits;
  __builtin_memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return (bits >> 16) | 0x40;
  return (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
}

// Explicit 16-float vectors (LLVM maps them to one AVX-512 or two AVX registers): for
// reductions the vectoriser may not reassociate by itself.
typedef float f32x16 __attribute__((vector_size(64)));
inline f32x16 load16(const float* p) {
  f32x16 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
// The sum of the lanes as a tree of vector sums (16 dependent scalar additions were on the
// path from every dot product, and every softmax row, to its result).
inline float sum_lanes(f32x16 x) {
  typedef float f32x8 __attribute__((vector_size(32)));
  typedef float f32x4 __attribute__((vector_size(16)));
  const f32x8 s8 = __builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7) +
                   __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15);
  const f32x4 s4 = __builtin_shufflevector(s8, s8, 0, 1, 2, 3) + __builtin_shufflevector(s8, s8, 4, 5, 6, 7);
  const f32x4 s2 = s4 + (f32x4)__builtin_shufflevector(s4, s4, 2, 3, 0, 1);
  return s2[0] + s2[1];
}

typedef int32_t i32x16 __attribute__((vector_size(64)));
// 16 lanes of the storage formats (weights, KV cache rows), widened with
// __builtin_convertvector.
typedef uint32_t u32x16 __attribute__((vector_size(64)));
typedef uint16_t u16x16 __attribute__((vector_size(32)));
typedef _Float16 f16x16 __attribute__((vector_size(32)));
typedef uint8_t u8x16 __attribute__((vector_size(16)));
typedef int8_t i8x16 __attribute__((vector_size(16)));
inline int32_t to_int(float x) { return static_cast<int32_t>(x); }
inline i32x16 to_int(f32x16 x) { return __builtin_convertvector(x, i32x16); }

// e^x for softmax and SiLU, in a form the vectoriser can use (libm's expf is a call per
// element): Cody-Waite range reduction and Cephes' degree-6 polynomial, relative error
// about 1e-7. Inputs are clamped to [-87.3, 88.7] (results stay normal floats). One
// definition for a float (F = float, I = int32_t) and for 16 lanes (f32x16, i32x16).
template <typename F, typename I>
inline F exp_lanes(F x) {
  x = __builtin_elementwise_max(__builtin_elementwise_min(x, F{} + 88.7f), F{} - 87.3f);
  const F n = __builtin_elementwise_floor(x * 1.44269504088896341f + 0.5f);
  const F r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  F p = F{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const I bits = (to_int(n) + 127) << 23;
  F scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}
inline float exp_approx(float x) { return exp_lanes<float, int32_t>(x); }
inline f32x16 exp16(f32x16 x) { return exp_lanes<f32x16, i32x16>(x); }

// IEEE half to float (block scales of quantised weights): one conversion instruction
// where the CPU has F16C.
inline float half_to_float(uint16_t h) {
  _Float16 f;
  __builtin_memcpy(&f, &h, 2);
  return static_cast<float>(f);
}

// RMSNorm of one row of `size` values scaled by a norm weight (bf16 or f32): every norm
// kernel's core, the reference evaluator's too (runtime/core/numerics.h).
using qwen3c::numerics::rms_normalize;

// The same, the norm weight's format chosen at run time (a constant once specialised).
inline void rms_normalize(const float* x, const void* g, int64_t g_is_bf16, int64_t size, float eps, float* out) {
  if (g_is_bf16) rms_normalize(x, static_cast<const uint16_t*>(g), size, eps, out);
  else rms_normalize(x, static_cast<const float*>(g), size, eps, out);
}

// Quantised rows: K / 32 blocks of the formats runtime/core/weight_format.h defines.
using qwen3c::weight_format::BlockQ4_0;
using qwen3c::weight_format::BlockQ8_0;

// The share of `count` work items thread `thread` of `threads` takes: [begin, end).
struct Range {
  int64_t begin, end;
};
inline Range share(int64_t count, int64_t thread, int64_t threads) {
  return {count * thread / threads, count * (thread + 1) / threads};
}

// The same in whole blocks of `block` items (the last may be short), so that how rows group
// into register blocks, and so every result bit, does not depend on the thread count.
inline Range share_blocks(int64_t count, int64_t block, int64_t thread, int64_t threads) {
  const Range units = share((count + block - 1) / block, thread, threads);
  const int64_t end = units.end * block;
  return {units.begin * block, end < count ? end : count};
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
// Four activation rows by four weight rows (row .. row + 3) of a matrix whose rows are a
// multiple of 16 long (quantised ones always are: whole blocks of 32): out[r * 4 + c] = x_r . w_{row + c}. Written with explicit
// 16-float vectors so that the sixteen accumulators stay in registers.
void dot_4x4(const float* x, int64_t stride, const float* w, int64_t row, int64_t size, float out[16]);
void dot_4x4(const float* x, int64_t stride, const uint16_t* w, int64_t row, int64_t size, float out[16]);
void dot_4x4(const float* x, int64_t stride, const BlockQ8_0* w, int64_t row, int64_t size, float out[16]);
void dot_4x4(const float* x, int64_t stride, const BlockQ4_0* w, int64_t row, int64_t size, float out[16]);
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
