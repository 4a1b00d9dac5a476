// The activations of a packed matrix product in the form its tiles multiply
// (packed_tiles.h): as they are, rounded to bf16 values, as bf16 pairs, or as int8 blocks
// of 32 with a scale (the reference's rounding, weight_format::quantize_activations_q8).
//
// Part of packed_matmul.cpp's translation unit (internal linkage, one copy a kernel tier).
#pragma once

#include "packed_tiles.h"

namespace {

// weight_format::quantize_activations_q8 (the reference's rounding) in vectors: the same
// maximum, the same 127 / amax product and round-to-even, so the same bytes, at about a
// fifth of the scalar loop's cost (1.1 ns an input, paid on every input of every product:
// by count about 8% of a batched step of 8 tokens; BENCHMARKS.md).
inline void quantize_block(const float* x, ActivationBlock* out) {
#if !defined(__AVX2__)
  qwen3c::weight_format::quantize_activations_q8(x, out);  // no vector rounding: the reference loop
#else
  static_assert(kBlock == 32);
  typedef int8_t i8x16 __attribute__((vector_size(16)));
  const f32x16 x0 = load_vector<f32x16>(x), x1 = load_vector<f32x16>(x + 16);
  // |x| as bits orders as |x| does (the integer maximum: a float one would keep NaN's rules,
  // which the compiler spells in 40 scalar instructions).
  const u32x16 bits = __builtin_elementwise_max(load_vector<u32x16>(x) & 0x7fffffffu, load_vector<u32x16>(x + 16) & 0x7fffffffu);
  const uint32_t amax_bits = __builtin_reduce_max(bits);
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

// The activations in the form `kind` multiplies, in this thread's scratch (each thread
// makes its own copy: it needs every token's, and the cost is tokens x in, not x out).
Activations prepare(Kind kind, const float* x, int64_t tokens, int64_t in, float* scratch) {
  Activations a;
  a.in = in;
  a.f32 = x;
  if (kind == Kind::Bf16Dot) {
    uint32_t* pairs = reinterpret_cast<uint32_t*>(scratch);
    for (int64_t i = 0; i < tokens * in / 2; ++i) pairs[i] = bf16_bits(x[2 * i]) | (bf16_bits(x[2 * i + 1]) << 16);
    a.pairs = pairs;
  } else if (kind == Kind::Q8Int8 || kind == Kind::Q4Int8) {
    // 40 bytes a block, then 4: 1.4 bytes an input, within the `in` floats a token the
    // schedule gives the prepared activations.
    const int64_t count = tokens * in / kBlock;
    ActivationBlock* blocks = reinterpret_cast<ActivationBlock*>(scratch);
    int32_t* starts = reinterpret_cast<int32_t*>(blocks + count);
    const int32_t zero = kind == Kind::Q4Int8 ? int8_zero_point<true>() : int8_zero_point<false>();
    for (int64_t i = 0; i < count; ++i) {
      quantize_block(x + i * kBlock, blocks + i);
      starts[i] = -zero * blocks[i].sum;
    }
    a.blocks = blocks;
    a.sum_starts = starts;
  }
  return a;
}

// bf16 products under --precision fast where the tier has no bf16 dot: the activations
// rounded to bf16 values, multiplied in f32 (the same products, exactly).
const float* round_to_bf16(const float* x, int64_t count, float* scratch) {
  for (int64_t i = 0; i < count; ++i) {
    const uint32_t bits = bf16_bits(x[i]) << 16;
    __builtin_memcpy(scratch + i, &bits, 4);
  }
  return scratch;
}

}  // namespace
