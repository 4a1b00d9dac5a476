#include "runtime/core/quantization.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/core/error.h"
#include "runtime/core/half.h"

namespace qwen3c {

std::uint16_t f32_to_f16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0));
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow to inf
  if (abs < 0x38800000u) {  // subnormal or zero in f16
    float magnitude;
    std::memcpy(&magnitude, &abs, 4);
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(std::nearbyint(magnitude * 16777216.0f)));
  }
  // Round to nearest even on the 13 dropped mantissa bits.
  std::uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}

void quantize_row(DType format, const float* in, std::size_t count, std::uint8_t* out) {
  if (count % 32 != 0) throw Error("quantisation needs whole blocks of 32 values");
  for (std::size_t b = 0; b < count / 32; ++b) {
    const float* x = in + b * 32;
    if (format == DType::Q8_0) {
      float amax = 0;
      for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
      const std::uint16_t d16 = f32_to_f16(amax / 127.0f);
      const float d = f16_to_f32(d16);
      const float inv = d != 0 ? 1.0f / d : 0.0f;
      std::uint8_t* block = out + b * 34;
      std::memcpy(block, &d16, 2);
      for (int i = 0; i < 32; ++i) {
        const int q = static_cast<int>(std::lround(x[i] * inv));
        block[2 + i] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::clamp(q, -127, 127)));
      }
    } else if (format == DType::Q4_0) {
      float extreme = 0;  // the value of largest magnitude, with its sign
      for (int i = 0; i < 32; ++i) {
        if (std::fabs(x[i]) > std::fabs(extreme)) extreme = x[i];
      }
      const std::uint16_t d16 = f32_to_f16(extreme / -8.0f);
      const float d = f16_to_f32(d16);
      const float inv = d != 0 ? 1.0f / d : 0.0f;
      std::uint8_t* block = out + b * 18;
      std::memcpy(block, &d16, 2);
      for (int j = 0; j < 16; ++j) {
        const int lo = std::clamp(static_cast<int>(std::lround(x[j] * inv)), -8, 7) + 8;
        const int hi = std::clamp(static_cast<int>(std::lround(x[j + 16] * inv)), -8, 7) + 8;
        block[2 + j] = static_cast<std::uint8_t>(lo | (hi << 4));
      }
    } else {
      throw Error("quantize_row: not a quantised format");
    }
  }
}

void dequantize_row(DType format, const std::uint8_t* in, std::size_t count, float* out) {
  for (std::size_t b = 0; b < count / 32; ++b) {
    std::uint16_t d16;
    if (format == DType::Q8_0) {
      const std::uint8_t* block = in + b * 34;
      std::memcpy(&d16, block, 2);
      const float d = f16_to_f32(d16);
      for (int i = 0; i < 32; ++i) out[b * 32 + i] = d * static_cast<float>(static_cast<std::int8_t>(block[2 + i]));
    } else {
      const std::uint8_t* block = in + b * 18;
      std::memcpy(&d16, block, 2);
      const float d = f16_to_f32(d16);
      for (int j = 0; j < 16; ++j) {
        out[b * 32 + j] = d * static_cast<float>((block[2 + j] & 0x0f) - 8);
        out[b * 32 + j + 16] = d * static_cast<float>((block[2 + j] >> 4) - 8);
      }
    }
  }
}

}  // namespace qwen3c
