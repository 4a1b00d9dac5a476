#pragma once
// How the KV cache stores keys and values: chosen when a session is made (`--kv-type`),
// not when compiling. Attention computes in f32 whatever the storage.
//   f32    4 bytes an element (exact)
//   f16    2 bytes (IEEE half, round to nearest even; llama.cpp's default)
//   bf16   2 bytes (bfloat16, round to nearest even)
//   q8_0   8.5 bits: blocks of 32 elements along the head dimension, int8 values and
//          one f16 scale d = max|x| / 127 a block (as llama.cpp's q8_0)
// Header-only and free of the standard library: the CPU kernels include it too.

#include <stdint.h>

namespace qwen3c {

enum class KvType : int64_t { F32 = 0, F16 = 1, BF16 = 2, Q8_0 = 3 };

inline constexpr int64_t kKvBlock = 32;  // q8_0 block size

// Bytes one cache row of `elements` values takes (q8_0: `elements` a multiple of 32).
constexpr int64_t kv_row_bytes(KvType type, int64_t elements) {
  switch (type) {
    case KvType::F32: return elements * 4;
    case KvType::F16:
    case KvType::BF16: return elements * 2;
    case KvType::Q8_0: return elements + elements / kKvBlock * 2;  // int8 values, then f16 scales
  }
  return 0;
}

}  // namespace qwen3c
