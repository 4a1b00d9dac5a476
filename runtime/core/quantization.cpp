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

namespace {
using weight_format::BlockQ4_0;
using weight_format::BlockQ8_0;
constexpr int kBlock = Q3_QBLOCK;

// std::lround's rounding (half away from zero), inline: a libm call a value was a quarter of
// loading a Qwen3-4B artifact with random q4_0 weights. Exact where |v| < 2^23 (then
// v - trunc(v) is exact); quantisation's values stay within a few hundred (|x| / scale,
// the scale at least the block's largest magnitude over the format's largest step, up to
// the f16 scale's rounding).
inline int round_half_away_from_zero(float v) {
  const int toward_zero = static_cast<int>(v);
  const float fraction = v - static_cast<float>(toward_zero);
  return toward_zero + (fraction >= 0.5f) - (fraction <= -0.5f);
}

// Quantisation would turn NaN into plausible numbers and overflow the scale into inf: both
// are refused, naming the first such value of the block at `first` (the caller adds the tensor).
[[noreturn]] void refuse_block(DType format, const float* x, std::size_t first, float limit) {
  for (int i = 0; i < kBlock; ++i) {
    const std::size_t at = first + static_cast<std::size_t>(i);
    if (!std::isfinite(x[i])) {
      throw Error("value " + std::to_string(at) + " is " + (std::isnan(x[i]) ? "NaN" : "infinite") +
                  ": non-finite weights cannot be quantised");
    }
    if (std::fabs(x[i]) >= limit) {
      throw Error("value " + std::to_string(at) + " (" + std::to_string(x[i]) + ") overflows the f16 block scale of " +
                  std::string(dtype_name(format)) + " (magnitudes below " + std::to_string(limit) +
                  " fit; keep this tensor in bf16)");
    }
  }
  throw Error("quantize_row: a block was refused without a value to name");
}

}  // namespace

void quantize_row(DType format, const float* in, std::size_t count, std::uint8_t* out) {
  if (count % kBlock != 0) throw Error("quantisation needs whole blocks of 32 values");
  if (!is_quantized(format)) throw Error("quantize_row: not a quantised format");
  // The largest magnitude an f16 block scale can hold times the format's largest step.
  const float limit = format == DType::Q8_0 ? 65504.0f * 127.0f : 65504.0f * Q3_Q4_0_ZERO;
  for (std::size_t b = 0; b < count / kBlock; ++b) {
    const float* x = in + b * kBlock;
    // The block's largest magnitude, and whether every value fits (false for NaN too), in
    // eight lanes that the compiler keeps in vector registers (a running maximum over one
    // accumulator is a chain it may not reorder).
    float lane_max[8] = {};
    int lane_refused[8] = {};
    for (int i = 0; i < kBlock; ++i) {
      const float a = std::fabs(x[i]);
      lane_max[i % 8] = a > lane_max[i % 8] ? a : lane_max[i % 8];
      lane_refused[i % 8] |= !(a < limit);
    }
    float amax = 0;
    int refused = 0;
    for (int l = 0; l < 8; ++l) {
      amax = std::max(amax, lane_max[l]);
      refused |= lane_refused[l];
    }
    if (refused) refuse_block(format, x, b * kBlock, limit);
    if (format == DType::Q8_0) {
      BlockQ8_0 block;
      block.scale = f32_to_f16(amax / 127.0f);
      const float d = f16_to_f32(block.scale);
      const float inv = d != 0 ? 1.0f / d : 0.0f;
      for (int i = 0; i < kBlock; ++i) {
        block.q[i] = static_cast<std::int8_t>(std::clamp(round_half_away_from_zero(x[i] * inv), -127, 127));
      }
      std::memcpy(out + b * sizeof block, &block, sizeof block);
    } else {
      // The first value of largest magnitude, with its sign.
      float extreme = 0;
      for (int i = 0; i < kBlock && amax > 0; ++i) {
        if (std::fabs(x[i]) == amax) {
          extreme = x[i];
          break;
        }
      }
      BlockQ4_0 block;
      block.scale = f32_to_f16(extreme / -static_cast<float>(Q3_Q4_0_ZERO));
      const float d = f16_to_f32(block.scale);
      const float inv = d != 0 ? 1.0f / d : 0.0f;
      auto nibble = [&](float v) { return std::clamp(round_half_away_from_zero(v * inv), -8, 7) + Q3_Q4_0_ZERO; };
      for (int j = 0; j < kBlock / 2; ++j) {
        block.q[j] = static_cast<std::uint8_t>(nibble(x[j]) | (nibble(x[j + kBlock / 2]) << 4));
      }
      std::memcpy(out + b * sizeof block, &block, sizeof block);
    }
  }
}

void dequantize_row(DType format, const std::uint8_t* in, std::size_t count, float* out) {
  for (std::size_t b = 0; b < count / kBlock; ++b) {
    if (format == DType::Q8_0) {
      BlockQ8_0 block;
      std::memcpy(&block, in + b * sizeof block, sizeof block);
      const float d = f16_to_f32(block.scale);
      for (int i = 0; i < kBlock; ++i) out[b * kBlock + i] = d * static_cast<float>(block.q[i]);
    } else {
      BlockQ4_0 block;
      std::memcpy(&block, in + b * sizeof block, sizeof block);
      const float d = f16_to_f32(block.scale);
      for (int i = 0; i < kBlock; ++i) out[b * kBlock + i] = d * static_cast<float>(weight_format::q4_0_value(block, i));
    }
  }
}

}  // namespace qwen3c
