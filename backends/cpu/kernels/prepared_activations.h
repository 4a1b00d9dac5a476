// The activations of a packed matrix product in the form its tiles multiply
// (packed_tiles.h): as they are, rounded to bf16 values, as bf16 pairs, or as int8 blocks
// of 32 with a scale (the reference's rounding, weight_format::quantize_activations_q8).
//
// Part of packed_matmul.cpp's translation unit (internal linkage, one copy a kernel tier).
#pragma once

#include "packed_tiles.h"
#include "quantize_block.h"

namespace {

using q3k::quantize_block;

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
