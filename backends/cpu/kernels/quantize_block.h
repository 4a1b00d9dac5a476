#pragma once
// weight_format::quantize_activations_q8 (the reference's rounding) in vectors: the same
// maximum, the same 127 / amax product and round-to-even, so the same bytes, at about a
// fifth of the scalar loop's cost (1.1 ns an input). Paid on every input of every product
// with int8 activations (by count about 8% of a batched step of 8 tokens; BENCHMARKS.md),
// and on every query row a q8_0 cache scores with int8 products (flash_attention.cpp).

#include "kernel_abi.h"

namespace q3k {

inline void quantize_block(const float* x, qwen3c::weight_format::ActivationBlock* out) {
#if !defined(__AVX2__)
  qwen3c::weight_format::quantize_activations_q8(x, out);  // no vector rounding: the reference loop
#else
  static_assert(Q3_QBLOCK == 32, "two vectors a block");
  f32x16 x0, x1;
  __builtin_memcpy(&x0, x, 64);
  __builtin_memcpy(&x1, x + 16, 64);
  u32x16 bits0, bits1;
  __builtin_memcpy(&bits0, x, 64);
  __builtin_memcpy(&bits1, x + 16, 64);
  // |x| as bits orders as |x| does (the integer maximum: a float one would keep NaN's rules,
  // which the compiler spells in 40 scalar instructions).
  const uint32_t amax_bits = __builtin_reduce_max(__builtin_elementwise_max(bits0 & 0x7fffffffu, bits1 & 0x7fffffffu));
  float amax;
  __builtin_memcpy(&amax, &amax_bits, 4);
  const float inv = amax > 0 ? 127.0f / amax : 0.0f;
  const i32x16 q0 = __builtin_convertvector(__builtin_elementwise_roundeven(x0 * inv), i32x16);
  const i32x16 q1 = __builtin_convertvector(__builtin_elementwise_roundeven(x1 * inv), i32x16);
  const i8x16 b0 = __builtin_convertvector(q0, i8x16), b1 = __builtin_convertvector(q1, i8x16);
  __builtin_memcpy(out->q, &b0, 16);
  __builtin_memcpy(out->q + 16, &b1, 16);
  out->scale = amax / 127.0f;
  out->sum = __builtin_reduce_add(q0 + q1);
#endif
}

}  // namespace q3k
