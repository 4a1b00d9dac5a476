#include "runtime/core/kv_rounding.h"

#include <cmath>

#include "runtime/core/half.h"
#include "runtime/core/quantization.h"

namespace qwen3c {

void round_kv_row(KvType type, float* row, std::int64_t n) {
  switch (type) {
    case KvType::F32:
      return;
    case KvType::F16:
      for (std::int64_t i = 0; i < n; ++i) row[i] = f16_to_f32(f32_to_f16(row[i]));
      return;
    case KvType::BF16:
      for (std::int64_t i = 0; i < n; ++i) row[i] = bf16_to_f32(f32_to_bf16(row[i]));
      return;
    case KvType::Q8_0:
      for (std::int64_t b = 0; b + kKvBlock <= n; b += kKvBlock) {
        float amax = 0;
        for (std::int64_t i = 0; i < kKvBlock; ++i) amax = std::fmax(amax, std::fabs(row[b + i]));
        // llama.cpp's q8_0: values rounded with the exact scale, read back with its f16.
        const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        const float stored = f16_to_f32(f32_to_f16(d));
        for (std::int64_t i = 0; i < kKvBlock; ++i) row[b + i] = stored * std::nearbyint(row[b + i] * id);
      }
      return;
  }
}

}  // namespace qwen3c
