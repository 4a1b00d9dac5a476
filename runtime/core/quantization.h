#pragma once
// Block quantisation of weight rows, as the kernels read it: blocks of 32 consecutive
// values along a row, each an f16 scale d followed by the values.
//   q8_0: d = max|x| / 127, q = round(x / d) in [-127, 127]; 34 bytes a block.
//   q4_0: d = m / -8 with m the value of largest magnitude, q = round(x / d) in [-8, 7],
//         stored as q + 8, byte j holding element j (low nibble) and j + 16 (high); 18 bytes.

#include <cstddef>
#include <cstdint>

#include "runtime/core/dtype.h"

namespace qwen3c {

// Quantises `count` floats (a multiple of 32) into `out` (count / 32 blocks).
void quantize_row(DType format, const float* in, std::size_t count, std::uint8_t* out);
// The values the kernels will see.
void dequantize_row(DType format, const std::uint8_t* in, std::size_t count, float* out);

std::uint16_t f32_to_f16(float f);

}  // namespace qwen3c
