#pragma once
// Reading and writing KV cache rows in each storage type (runtime/core/kv_type.h). A row is
// one KV head's key (or value) at one position: `elements` (head_dim) values,
// kv_row_bytes() bytes; q8_0 rows hold the int8 values, then one f16 scale per block of 32.
// Attention computes in f32: loads widen 16 elements at a time (one conversion instruction per
// vector with F16C / AVX-512), stores round to nearest even (q8_0: as llama.cpp).

#include <math.h>

#include "kernel_abi.h"
#include "runtime/core/kv_type.h"

namespace q3k {

using qwen3c::KvType;
using qwen3c::kv_row_bytes;

// Elements d..d+15 of a row (d a multiple of 16) as f32.
template <KvType T>
inline f32x16 kv_load16(const uint8_t* row, int64_t elements, int64_t d) {
  if constexpr (T == KvType::F32) {
    return load16(reinterpret_cast<const float*>(row) + d);
  } else if constexpr (T == KvType::F16) {
    f16x16 h;
    __builtin_memcpy(&h, row + 2 * d, sizeof h);
    return __builtin_convertvector(h, f32x16);
  } else if constexpr (T == KvType::BF16) {
    u16x16 h;
    __builtin_memcpy(&h, row + 2 * d, sizeof h);
    const u32x16 bits = __builtin_convertvector(h, u32x16) << 16;
    f32x16 f;
    __builtin_memcpy(&f, &bits, sizeof f);
    return f;
  } else {
    i8x16 q;
    __builtin_memcpy(&q, row + d, sizeof q);
    uint16_t scale;
    __builtin_memcpy(&scale, row + elements + 2 * (d / qwen3c::kKvBlock), 2);
    return __builtin_convertvector(q, f32x16) * half_to_float(scale);
  }
}

// One element (head sizes that are not a multiple of 16).
template <KvType T>
inline float kv_load1(const uint8_t* row, int64_t elements, int64_t d) {
  if constexpr (T == KvType::F32) {
    return reinterpret_cast<const float*>(row)[d];
  } else if constexpr (T == KvType::F16) {
    uint16_t h;
    __builtin_memcpy(&h, row + 2 * d, 2);
    return half_to_float(h);
  } else if constexpr (T == KvType::BF16) {
    uint16_t h;
    __builtin_memcpy(&h, row + 2 * d, 2);
    return load(&h, 0);
  } else {
    uint16_t scale;
    __builtin_memcpy(&scale, row + elements + 2 * (d / qwen3c::kKvBlock), 2);
    return static_cast<float>(static_cast<int8_t>(row[d])) * half_to_float(scale);
  }
}

// Stores x[0..n) as elements d..d+n of a row (q8_0: d and n multiples of 32).
inline void kv_store(KvType type, const float* x, int64_t n, uint8_t* row, int64_t elements, int64_t d) {
  switch (type) {
    case KvType::F32:
      __builtin_memcpy(reinterpret_cast<float*>(row) + d, x, n * sizeof(float));
      return;
    case KvType::F16:
      for (int64_t i = 0; i < n; ++i) {
        const _Float16 h = static_cast<_Float16>(x[i]);
        __builtin_memcpy(row + 2 * (d + i), &h, 2);
      }
      return;
    case KvType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const auto h = static_cast<uint16_t>(bf16_bits(x[i]));
        __builtin_memcpy(row + 2 * (d + i), &h, 2);
      }
      return;
    case KvType::Q8_0:
      for (int64_t b = 0; b < n; b += qwen3c::kKvBlock) {
        float amax = 0;
        for (int64_t i = 0; i < qwen3c::kKvBlock; ++i) amax = fmaxf(amax, fabsf(x[b + i]));
        const float scale = amax / 127.0f, inverse = scale != 0 ? 1.0f / scale : 0.0f;
        for (int64_t i = 0; i < qwen3c::kKvBlock; ++i) {
          row[d + b + i] = static_cast<uint8_t>(static_cast<int8_t>(nearbyintf(x[b + i] * inverse)));
        }
        const _Float16 h = static_cast<_Float16>(scale);
        __builtin_memcpy(row + elements + 2 * ((d + b) / qwen3c::kKvBlock), &h, 2);
      }
      return;
  }
}

// Calls f.template operator()<T>() with the type as a compile-time constant: the attention
// loops are instantiated once per type, chosen once per call.
template <typename F>
inline void with_kv_type(int64_t type, F&& f) {
  switch (static_cast<KvType>(type)) {
    case KvType::F16: return f.template operator()<KvType::F16>();
    case KvType::BF16: return f.template operator()<KvType::BF16>();
    case KvType::Q8_0: return f.template operator()<KvType::Q8_0>();
    case KvType::F32: break;
  }
  f.template operator()<KvType::F32>();
}

}  // namespace q3k
