#pragma once
// The tiled attention's shape (flash_attention.cpp), shared with the lowering, which sizes
// each thread's scratch from it.

#include <stdint.h>

namespace q3k {

constexpr int64_t kFlashBlockTokens = 16;  // query tokens a tile
constexpr int64_t kFlashBlockKeys = 64;    // keys a tile
constexpr int64_t kFlashMaxGroup = 8;      // query heads sharing a KV head
constexpr int64_t kFlashMaxRows = kFlashBlockTokens * kFlashMaxGroup;
constexpr int64_t kFlashMaxHeadDim = 256;

constexpr bool flash_attention_applies(int64_t heads, int64_t kv_heads, int64_t head_dim) {
  return head_dim % 16 == 0 && head_dim <= kFlashMaxHeadDim && heads / kv_heads <= kFlashMaxGroup;
}

// Floats of scratch a thread needs: the key block widened to f32, scores, output rows, m and l.
constexpr int64_t flash_attention_scratch(int64_t head_dim) {
  return head_dim * kFlashBlockKeys + kFlashMaxRows * kFlashBlockKeys + kFlashMaxRows * head_dim + 2 * kFlashMaxRows;
}

// Row t (position positions[t] of sequence slots[t]) attends to its sequence's positions
// 0..positions[t]; k_cache[slot * kv_heads + h] / v_cache[...] hold KV head h's keys (in
// transposed blocks of 16 positions) and values (rows; q8_0: blocks of 16 positions in
// pairs) in that sequence, stored as the KvType `kv_type` (kv_cache.h). integer_products
// (--precision fast): with a q8_0 cache, queries are rounded to int8 blocks of 32 with a
// scale and scored by int8 dot products, and the values are summed by int16 dot products
// with the probabilities rounded to 15 bits; other cache types ignore it.
void flash_attention(const float* q, const int64_t* positions, const int64_t* slots, int64_t tokens,
                     const uint8_t* const* k_cache, const uint8_t* const* v_cache, int64_t kv_type, int64_t heads,
                     int64_t kv_heads, int64_t head_dim, float scale, bool integer_products, float* scratch, float* out,
                     int64_t thread, int64_t threads);

}  // namespace q3k
