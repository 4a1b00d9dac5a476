// The amx tier's prefill tiles: 32 tokens x 2 groups a step in four 16 x 16 accumulator
// tiles, bf16 pairs (tdpbf16ps) or int8 blocks (tdpbsud, then each block's two scales in
// f32). packed_matmul.cpp runs them over the whole blocks of 32 tokens and pairs of whole
// groups, and the vector tiles over the rest.
//
// Part of packed_matmul.cpp's translation unit (internal linkage, one copy a kernel tier).
#pragma once

#include "amx_tiles.h"
#include "packed_tiles.h"

#if defined(Q3_HAS_AMX)
namespace {

// What the tiles computed: tokens [0, tokens) of groups [groups.begin, groups_end).
struct AmxSpan {
  int64_t tokens = 0, groups_end = 0;
};

// Output rows t, groups (g, g') from the four accumulators (t0 + 16 i + r: tile 2i + j).
// Plain: group g is tile column 0, g + 1 column 1. Gated: gate and up of group g.
inline void write_tiles(const float (*c)[16][16], int64_t t0, int64_t g, bool gated, float* out, int64_t stride) {
  for (int i = 0; i < 2; ++i) {
    for (int r = 0; r < 16; ++r) {
      float* o = out + (t0 + 16 * i + r) * stride + g * G;
      const float* a = c[2 * i][r];
      const float* b = c[2 * i + 1][r];
      if (gated) {
        for (int n = 0; n < 16; ++n) o[n] = silu(a[n]) * b[n];
      } else {
        for (int n = 0; n < 16; ++n) o[n] = a[n], o[G + n] = b[n];
      }
    }
  }
}

// The pairs of whole groups (g, g + 1) a thread's range holds, or (gate g, up g) gated.
inline int64_t amx_groups_end(const Matrix& m, bool gated, q3k::Range groups) {
  const int64_t full_end = groups.end < m.rows / G ? groups.end : m.rows / G;
  if (full_end <= groups.begin) return groups.begin;
  return gated ? full_end : groups.begin + (full_end - groups.begin) / 2 * 2;
}

template <Kind K>
AmxSpan amx_product(const Activations& a, int64_t tokens, const Matrix& m, const Matrix& up, bool gated, float* out,
                    q3k::Range groups) {
  AmxSpan span;
  span.tokens = tokens / 32 * 32;
  span.groups_end = amx_groups_end(m, gated, groups);
  if (span.tokens == 0 || span.groups_end == groups.begin || a.in % 32 != 0) return {};
  const int64_t step = gated ? 1 : 2;
  alignas(64) float c[4][16][16];
  if constexpr (K == Kind::Bf16Dot) {
    const q3k::TileConfig config = q3k::bf16_tile_config();
    Q3_TILE_LOADCONFIG(&config);
    const int64_t pairs = a.in / 2;
    for (int64_t g = groups.begin; g < span.groups_end; g += step) {
      const uint8_t* b0 = m.group(g);
      const uint8_t* b1 = gated ? up.group(g) : m.group(g + 1);
      for (int64_t t0 = 0; t0 < span.tokens; t0 += 32) {
        Q3_TILE_ZERO(0);
        Q3_TILE_ZERO(1);
        Q3_TILE_ZERO(2);
        Q3_TILE_ZERO(3);
        for (int64_t k = 0; k < a.in; k += 32) {
          // A: 16 tokens' 16 pairs; B: the group's next 16 pairs (16 rows of 64 bytes).
          Q3_TILE_LOAD(4, a.pairs + t0 * pairs + k / 2, pairs * 4);
          Q3_TILE_LOAD(5, a.pairs + (t0 + 16) * pairs + k / 2, pairs * 4);
          Q3_TILE_LOAD(6, b0 + k / 2 * G * 4, G * 4);
          Q3_TILE_LOAD(7, b1 + k / 2 * G * 4, G * 4);
          Q3_TILE_DPBF16PS(0, 4, 6);
          Q3_TILE_DPBF16PS(1, 4, 7);
          Q3_TILE_DPBF16PS(2, 5, 6);
          Q3_TILE_DPBF16PS(3, 5, 7);
        }
        Q3_TILE_STORE(0, c[0], 64);
        Q3_TILE_STORE(1, c[1], 64);
        Q3_TILE_STORE(2, c[2], 64);
        Q3_TILE_STORE(3, c[3], 64);
        write_tiles(c, t0, g, gated, out, m.rows);
      }
    }
  } else {
    // int8 by blocks: one tile product a block (32 inputs), then its two scales in f32.
    constexpr bool Q4 = K == Kind::Q4Int8;
    const q3k::TileConfig config = q3k::int8_tile_config();
    Q3_TILE_LOADCONFIG(&config);
    const int64_t blocks = a.in / kBlock;
    alignas(64) int32_t sums[4][16][16];
    alignas(64) uint8_t unpacked[2][8 * 64];  // q4_0: a block's nibbles as bytes, [8][16][4]
    for (int64_t g = groups.begin; g < span.groups_end; g += step) {
      const uint8_t* w[2] = {m.group(g), gated ? up.group(g) : m.group(g + 1)};
      for (int64_t t0 = 0; t0 < span.tokens; t0 += 32) {
        f32x16 acc[2][2][16] = {};  // [token tile][group][row]
        for (int64_t b = 0; b < blocks; ++b) {
          const uint8_t* values[2];
          f32x16 scale[2];
          for (int j = 0; j < 2; ++j) {
            const uint8_t* block = w[j] + b * block_bytes<Q4>(G);
            scale[j] = scales<true>(block, G);
            values[j] = block + G * 2;
            if constexpr (Q4) {
              for (int i = 0; i < 8; ++i) {
                const u32x16 v = block_values<true, true>(values[j], i, G);
                __builtin_memcpy(unpacked[j] + i * 64, &v, 64);
              }
              values[j] = unpacked[j];
            }
          }
          Q3_TILE_ZERO(0);
          Q3_TILE_ZERO(1);
          Q3_TILE_ZERO(2);
          Q3_TILE_ZERO(3);
          // A: 16 tokens' int8 block (rows one token's blocks apart); B: 8 rows of quads.
          const int64_t stride = blocks * static_cast<int64_t>(sizeof(ActivationBlock));
          Q3_TILE_LOAD(4, a.blocks[t0 * blocks + b].q, stride);
          Q3_TILE_LOAD(5, a.blocks[(t0 + 16) * blocks + b].q, stride);
          Q3_TILE_LOAD(6, values[0], 64);
          Q3_TILE_LOAD(7, values[1], 64);
          Q3_TILE_DPBSUD(0, 4, 6);
          Q3_TILE_DPBSUD(1, 4, 7);
          Q3_TILE_DPBSUD(2, 5, 6);
          Q3_TILE_DPBSUD(3, 5, 7);
          Q3_TILE_STORE(0, sums[0], 64);
          Q3_TILE_STORE(1, sums[1], 64);
          Q3_TILE_STORE(2, sums[2], 64);
          Q3_TILE_STORE(3, sums[3], 64);
          for (int i = 0; i < 2; ++i) {
            for (int r = 0; r < 16; ++r) {
              const ActivationBlock& x = a.blocks[(t0 + 16 * i + r) * blocks + b];
              const int32_t correction = zero_point<Q4>() * x.sum;
              for (int j = 0; j < 2; ++j) {
                const i32x16 s = load_vector<i32x16>(sums[2 * i + j][r]);
                acc[i][j][r] += __builtin_convertvector(s - correction, f32x16) * (scale[j] * x.scale);
              }
            }
          }
        }
        for (int i = 0; i < 2; ++i)
          for (int j = 0; j < 2; ++j)
            for (int r = 0; r < 16; ++r) __builtin_memcpy(c[2 * i + j][r], &acc[i][j][r], 64);
        write_tiles(c, t0, g, gated, out, m.rows);
      }
    }
  }
  Q3_TILE_RELEASE();
  return span;
}

}  // namespace
#endif
