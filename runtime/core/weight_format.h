#ifndef QWEN3C_RUNTIME_CORE_WEIGHT_FORMAT_H
#define QWEN3C_RUNTIME_CORE_WEIGHT_FORMAT_H
// The one definition of qwen3c's block-quantised weight formats. Read by the quantiser
// (runtime/core/quantization.cpp), the artifact's tensor sizes (dtype.h), the CPU kernels
// (C++ compiled to bitcode) and the Vulkan shaders (GLSL, which sees only what is outside
// __cplusplus: preprocessor constants and comments).
//
// A quantised row of K values is K / Q3_QBLOCK consecutive blocks of Q3_QBLOCK values along
// the row; each block is an IEEE f16 scale d followed by its values q_i, and element i is
// d * q_i (symmetric: no offset).
//   q8_0: q_i a signed byte, d = max|x| / 127.
//   q4_0: q_i in [-8, 7] stored as q_i + 8 in a nibble; byte j holds element j in its low
//         nibble and element j + 16 in its high nibble; d = m / -8 with m the block's
//         value of largest magnitude (as llama.cpp's q4_0).

#define Q3_QBLOCK 32
#define Q3_QBLOCK_SCALE_BYTES 2
#define Q3_Q8_0_BLOCK_BYTES (Q3_QBLOCK_SCALE_BYTES + Q3_QBLOCK)
#define Q3_Q4_0_BLOCK_BYTES (Q3_QBLOCK_SCALE_BYTES + Q3_QBLOCK / 2)
#define Q3_Q4_0_ZERO 8

#ifdef __cplusplus
#include <stdint.h>

namespace qwen3c::weight_format {

struct BlockQ8_0 {
  uint16_t scale;  // f16 bits
  int8_t q[Q3_QBLOCK];
};
struct BlockQ4_0 {
  uint16_t scale;  // f16 bits
  uint8_t q[Q3_QBLOCK / 2];
};
static_assert(sizeof(BlockQ8_0) == Q3_Q8_0_BLOCK_BYTES, "q8_0 block layout");
static_assert(sizeof(BlockQ4_0) == Q3_Q4_0_BLOCK_BYTES, "q4_0 block layout");

// Activations under --precision fast, for products with q8_0 / q4_0 weights: each block of
// Q3_QBLOCK values of a row becomes int8 values q with one f32 scale d (symmetric,
// d = max|x| / 127, q = x * (127 / max|x|) rounded to nearest even), and the block's sum of q
// (what the kernels need to undo the weights' zero point). Kernels, the reference evaluator
// and the tests all quantise through this one function, so they agree bit for bit.
struct ActivationBlock {
  int8_t q[Q3_QBLOCK];
  float scale;
  int32_t sum;
};
inline void quantize_activations_q8(const float* x, ActivationBlock* out) {
  float amax = 0;
  for (int i = 0; i < Q3_QBLOCK; ++i) {
    const float a = x[i] < 0 ? -x[i] : x[i];
    amax = a > amax ? a : amax;
  }
  const float inv = amax > 0 ? 127.0f / amax : 0.0f;
  int32_t sum = 0;
  for (int i = 0; i < Q3_QBLOCK; ++i) {
    const int32_t q = static_cast<int32_t>(__builtin_nearbyintf(x[i] * inv));
    out->q[i] = static_cast<int8_t>(q);
    sum += q;
  }
  out->scale = amax / 127.0f;
  out->sum = sum;
}

// Element i (0 <= i < 32) of a q4_0 block, unscaled.
inline int q4_0_value(const BlockQ4_0& b, int i) {
  const uint8_t byte = b.q[i % (Q3_QBLOCK / 2)];
  return (i < Q3_QBLOCK / 2 ? (byte & 15) : (byte >> 4)) - Q3_Q4_0_ZERO;
}

}  // namespace qwen3c::weight_format
#endif  // __cplusplus

#endif  // QWEN3C_RUNTIME_CORE_WEIGHT_FORMAT_H
