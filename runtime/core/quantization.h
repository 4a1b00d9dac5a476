#pragma once
// Block quantisation of weight rows in the formats runtime/core/weight_format.h defines
// (q = round(x / d), clamped to the format's range).

#include <cstddef>
#include <cstdint>

#include "runtime/core/dtype.h"
#include "runtime/core/weight_format.h"

namespace qwen3c {

// Quantises `count` floats (a multiple of 32) into `out` (count / 32 blocks).
void quantize_row(DType format, const float* in, std::size_t count, std::uint8_t* out);
// The values the kernels will see.
void dequantize_row(DType format, const std::uint8_t* in, std::size_t count, float* out);

std::uint16_t f32_to_f16(float f);

}  // namespace qwen3c
