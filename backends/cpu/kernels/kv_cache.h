#pragma once
// Reading and writing the KV cache in each storage type (runtime/core/kv_type.h). A row is
// `elements` (head_dim) values, kv_row_bytes() bytes; q8_0 rows hold the int8 values, then
// one f16 scale per block of 32. How a head's keys and values are laid out: key_store and
// value_store below. Attention computes in f32: loads widen 16 elements at a time (one
// conversion instruction per vector with F16C / AVX-512), stores round to nearest even
// (q8_0: as llama.cpp).

#include <math.h>

#include "kernel_abi.h"
#include "key_block.h"
#include "runtime/core/kv_type.h"

namespace q3k {

using qwen3c::KvType;
using qwen3c::kv_row_bytes;

// 16 consecutive f32, f16 or bf16 elements from p, as f32 (one conversion instruction).
template <KvType T>
inline f32x16 widen16(const uint8_t* p) {
  if constexpr (T == KvType::F32) {
    return load16(reinterpret_cast<const float*>(p));
  } else if constexpr (T == KvType::F16) {
    f16x16 h;
    __builtin_memcpy(&h, p, sizeof h);
    return __builtin_convertvector(h, f32x16);
  } else {
    static_assert(T == KvType::BF16, "q8_0 needs its scales");
    u16x16 h;
    __builtin_memcpy(&h, p, sizeof h);
    const u32x16 bits = __builtin_convertvector(h, u32x16) << 16;
    f32x16 f;
    __builtin_memcpy(&f, &bits, sizeof f);
    return f;
  }
}

// Elements d..d+15 of a row (d a multiple of 16) as f32.
template <KvType T>
inline f32x16 kv_load16(const uint8_t* row, int64_t elements, int64_t d) {
  if constexpr (T != KvType::Q8_0) {
    return widen16<T>(row + kv_row_bytes(T, d));
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

// One f32, f16 or bf16 element rounded and stored at `at` (kv_row_bytes(T, 1) bytes).
template <KvType T>
inline void element_store(float x, uint8_t* at) {
  static_assert(T != KvType::Q8_0, "q8_0 rounds whole blocks");
  if constexpr (T == KvType::F32) {
    __builtin_memcpy(at, &x, 4);
  } else if constexpr (T == KvType::F16) {
    const _Float16 h = static_cast<_Float16>(x);
    __builtin_memcpy(at, &h, 2);
  } else {
    const auto h = static_cast<uint16_t>(bf16_bits(x));
    __builtin_memcpy(at, &h, 2);
  }
}

// Stores x[0..n) as elements d..d+n of a row (q8_0: d and n multiples of 32).
inline void kv_store(KvType type, const float* x, int64_t n, uint8_t* row, int64_t elements, int64_t d) {
  switch (type) {
    case KvType::F32:
      __builtin_memcpy(reinterpret_cast<float*>(row) + d, x, n * sizeof(float));
      return;
    case KvType::F16:
      for (int64_t i = 0; i < n; ++i) element_store<KvType::F16>(x[i], row + 2 * (d + i));
      return;
    case KvType::BF16:
      for (int64_t i = 0; i < n; ++i) element_store<KvType::BF16>(x[i], row + 2 * (d + i));
      return;
    case KvType::Q8_0:
      // 16 lanes at a time (a scalar chain of 32 fmaxf, then 32 nearbyintf, was most of a
      // batched step's norm-rope-append kernel): the maximum is the same whatever the order,
      // and roundeven is nearbyintf in the default rounding mode, so the bytes are the same.
      static_assert(qwen3c::kKvBlock == 32);
      for (int64_t b = 0; b < n; b += qwen3c::kKvBlock) {
        f32x16 lo, hi;
        __builtin_memcpy(&lo, x + b, sizeof lo);
        __builtin_memcpy(&hi, x + b + 16, sizeof hi);
        const float amax = __builtin_reduce_max(
            __builtin_elementwise_max(__builtin_elementwise_abs(lo), __builtin_elementwise_abs(hi)));
        const float scale = amax / 127.0f, inverse = scale != 0 ? 1.0f / scale : 0.0f;
        const f32x16 halves[2] = {lo, hi};
        for (int h = 0; h < 2; ++h) {
          const i32x16 q = __builtin_convertvector(__builtin_elementwise_roundeven(halves[h] * inverse), i32x16);
          const auto bytes = __builtin_convertvector(q, i8x16);
          __builtin_memcpy(row + d + b + 16 * h, &bytes, 16);
        }
        const _Float16 h = static_cast<_Float16>(scale);
        __builtin_memcpy(row + elements + 2 * ((d + b) / qwen3c::kKvBlock), &h, 2);
      }
      return;
  }
}

// --- Keys. A head's keys are stored transposed in blocks of kKeyBlock positions: block b
// holds positions 16b..16b+15 as [head_dim][16] elements, kKeyBlock rows' bytes in all. So
// attention reads one dimension of 16 keys as one vector, with no transposing: a decode step
// used to spend as long shuffling key blocks as multiplying them. q8_0 blocks keep each
// key's dimensions in fours, [head_dim / 4][16][4] int8 values (then the f16 scales
// [head_dim / 32][16]), so that one 64-byte vector is what an int8 dot product (vpdpbusd:
// four bytes a lane) multiplies for 16 keys; a dimension alone is a shift away. The values
// stay in rows.

// The block of kKeyBlock positions holding `position`, of a head whose keys (or values) start
// at `head` (Byte: uint8_t or const uint8_t).
template <typename Byte>
inline Byte* block_of(Byte* head, KvType type, int64_t head_dim, int64_t position) {
  return head + position / kKeyBlock * kKeyBlock * kv_row_bytes(type, head_dim);
}

// Byte offset, in a q8_0 key or value block, of the scale of dimension d of the block's
// position `lane`: [head_dim / 32][kKeyBlock] f16 after the int8 elements.
inline int64_t q8_scale_offset(int64_t head_dim, int64_t lane, int64_t d) {
  return kKeyBlock * head_dim + 2 * (d / qwen3c::kKvBlock * kKeyBlock + lane);
}
inline float q8_scale(const uint8_t* block, int64_t head_dim, int64_t lane, int64_t d) {
  uint16_t scale;
  __builtin_memcpy(&scale, block + q8_scale_offset(head_dim, lane, d), 2);
  return half_to_float(scale);
}

// Stores x[0..head_dim) as position `lane` of a q8_0 block: each block of 32 rounded as
// kv_store rounds a row, its element i at block + offset(i), its scale at q8_scale_offset.
template <typename Offset>
inline void q8_block_store(const float* x, int64_t head_dim, uint8_t* block, int64_t lane, Offset offset) {
  for (int64_t b = 0; b < head_dim; b += qwen3c::kKvBlock) {
    uint8_t row[qwen3c::kKvBlock + 2];  // one block as a row stores it: 32 values, its scale
    kv_store(KvType::Q8_0, x + b, qwen3c::kKvBlock, row, qwen3c::kKvBlock, 0);
    for (int64_t i = 0; i < qwen3c::kKvBlock; ++i) block[offset(b + i)] = row[i];
    __builtin_memcpy(block + q8_scale_offset(head_dim, lane, b), row + qwen3c::kKvBlock, 2);
  }
}

// Byte offset, in a q8_0 key block, of dimension d of the block's key `lane`.
inline int64_t q8_key_offset(int64_t d, int64_t lane) { return d / 4 * 4 * kKeyBlock + lane * 4 + d % 4; }

// Dimension d of the block's 16 keys, as f32.
template <KvType T>
inline f32x16 key_load16(const uint8_t* block, int64_t head_dim, int64_t d) {
  if constexpr (T != KvType::Q8_0) {
    return widen16<T>(block + kv_row_bytes(T, d * kKeyBlock));
  } else {
    i32x16 quad;  // dimensions d & ~3 .. (d & ~3) + 3 of the 16 keys, a key a lane
    __builtin_memcpy(&quad, block + q8_key_offset(d, 0) - d % 4, sizeof quad);
    const i32x16 q = (quad << static_cast<int32_t>(24 - 8 * (d % 4))) >> 24;  // byte d % 4, sign-extended
    f16x16 scales;
    __builtin_memcpy(&scales, block + q8_scale_offset(head_dim, 0, d), sizeof scales);
    return __builtin_convertvector(q, f32x16) * __builtin_convertvector(scales, f32x16);
  }
}

// Dimension d of the key at `position` of a head whose blocks start at `keys`.
template <KvType T>
inline float key_load1(const uint8_t* keys, int64_t head_dim, int64_t position, int64_t d) {
  const uint8_t* block = block_of(keys, T, head_dim, position);
  const int64_t lane = position % kKeyBlock;
  if constexpr (T != KvType::Q8_0) {
    return kv_load1<T>(block, kKeyBlock * head_dim, d * kKeyBlock + lane);  // the block as one long row
  } else {
    return static_cast<float>(static_cast<int8_t>(block[q8_key_offset(d, lane)])) * q8_scale(block, head_dim, lane, d);
  }
}

// Stores the key x[0..head_dim) at `position`: rounded exactly as kv_store rounds a row (each
// element, or each q8_0 block of 32 with its scale), then scattered into the block.
inline void key_store(KvType type, const float* x, int64_t head_dim, uint8_t* keys, int64_t position) {
  uint8_t* block = block_of(keys, type, head_dim, position);
  const int64_t lane = position % kKeyBlock;
  if (type == KvType::Q8_0) {
    return q8_block_store(x, head_dim, block, lane, [&](int64_t d) { return q8_key_offset(d, lane); });
  }
  // One loop a type: an element at a time through kv_store (its switch, then a copy of a
  // run-time size) was 60% of a batched decode step's norm-rope-append kernel.
  auto scatter = [&]<KvType T>() {
    constexpr int64_t size = kv_row_bytes(T, 1);
    for (int64_t d = 0; d < head_dim; ++d) element_store<T>(x[d], block + (d * kKeyBlock + lane) * size);
  };
  if (type == KvType::F32) scatter.template operator()<KvType::F32>();
  else if (type == KvType::F16) scatter.template operator()<KvType::F16>();
  else scatter.template operator()<KvType::BF16>();
}

// --- Values. f32, f16 and bf16 values are rows (kv_store), position p at p x kv_row_bytes.
// q8_0 values are blocks of kKeyBlock positions, as the keys are, each block laid out as
// [kKeyBlock / 2 pairs of positions][head_dim][2] int8 values (the two positions of a pair
// side by side at each dimension), then the f16 scales [head_dim / 32][kKeyBlock]. So one
// 32-byte load, widened to 16 bits, is 16 dimensions of two positions: the operand of an
// int16 dot product (vpdpwssd) that weighs two positions' values by their probabilities in
// one instruction (flash_attention.cpp), where widening each value to f32 cost a decode step
// more than reading it. A block has kKeyBlock rows' bytes, as with the keys.

// Byte offset, in a q8_0 value block, of dimension d of the block's position `lane` (its
// scale: q8_scale_offset, as a key's).
inline int64_t q8_value_offset(int64_t head_dim, int64_t lane, int64_t d) {
  return lane / 2 * 2 * head_dim + 2 * d + lane % 2;
}

// Elements d..d+15 (d a multiple of 16) of the value at `position` of a head whose values
// start at `values`, as f32.
template <KvType T>
inline f32x16 value_load16(const uint8_t* values, int64_t head_dim, int64_t position, int64_t d) {
  if constexpr (T != KvType::Q8_0) {
    return kv_load16<T>(values + position * kv_row_bytes(T, head_dim), head_dim, d);
  } else {
    const uint8_t* block = block_of(values, T, head_dim, position);
    const int64_t lane = position % kKeyBlock;
    typedef int16_t i16x16 __attribute__((vector_size(32)));
    i16x16 pairs;  // dimension d + i of both positions of the pair, lane i
    __builtin_memcpy(&pairs, block + q8_value_offset(head_dim, lane & ~int64_t{1}, d), sizeof pairs);
    const i32x16 wide = __builtin_convertvector(pairs, i32x16);
    const i32x16 q = lane % 2 == 0 ? (wide << 24) >> 24 : wide >> 8;  // this position's byte, sign-extended
    return __builtin_convertvector(q, f32x16) * q8_scale(block, head_dim, lane, d);
  }
}

// Dimension d of the value at `position`.
template <KvType T>
inline float value_load1(const uint8_t* values, int64_t head_dim, int64_t position, int64_t d) {
  if constexpr (T != KvType::Q8_0) {
    return kv_load1<T>(values + position * kv_row_bytes(T, head_dim), head_dim, d);
  } else {
    const uint8_t* block = block_of(values, T, head_dim, position);
    const int64_t lane = position % kKeyBlock;
    return static_cast<float>(static_cast<int8_t>(block[q8_value_offset(head_dim, lane, d)])) *
           q8_scale(block, head_dim, lane, d);
  }
}

// Stores the value x[0..head_dim) at `position`: rounded as kv_store rounds a row.
inline void value_store(KvType type, const float* x, int64_t head_dim, uint8_t* values, int64_t position) {
  if (type != KvType::Q8_0) {
    return kv_store(type, x, head_dim, values + position * kv_row_bytes(type, head_dim), head_dim, 0);
  }
  const int64_t lane = position % kKeyBlock;
  q8_block_store(x, head_dim, block_of(values, type, head_dim, position), lane,
                 [&](int64_t d) { return q8_value_offset(head_dim, lane, d); });
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
