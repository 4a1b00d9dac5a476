#pragma once
// The AMX tile operations the amx kernel tier uses, as macros over the real intrinsics, or,
// with Q3_AMX_EMULATE, over a plain C++ emulation of the same instructions (tests run the
// AMX kernels' logic on machines without AMX: tests/amx_kernel_test.cpp).
//
// Tile numbers are immediates in the instructions, so the macros take literal numbers.

#include <stdint.h>

#if defined(__AMX_TILE__) && !defined(Q3_AMX_EMULATE)
#include <immintrin.h>
#define Q3_HAS_AMX 1
#define Q3_TILE_LOADCONFIG(config) _tile_loadconfig(config)
#define Q3_TILE_RELEASE() _tile_release()
#define Q3_TILE_ZERO(t) _tile_zero(t)
#define Q3_TILE_LOAD(t, base, stride) _tile_loadd(t, base, stride)
#define Q3_TILE_STORE(t, base, stride) _tile_stored(t, base, stride)
#define Q3_TILE_DPBF16PS(c, a, b) _tile_dpbf16ps(c, a, b)
#define Q3_TILE_DPBSUD(c, a, b) _tile_dpbsud(c, a, b)
#elif defined(Q3_AMX_EMULATE)
#define Q3_HAS_AMX 1

namespace q3k::amx_emulation {

// The 64-byte configuration (palette 1), eight tiles of up to 16 rows x 64 bytes.
struct Config {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
struct State {
  Config config;
  uint8_t tile[8][16][64];
};
inline State& state() {
  static thread_local State s;
  return s;
}
inline void load_config(const void* c) { __builtin_memcpy(&state().config, c, sizeof(Config)); }
inline void zero(int t) {
  for (auto& row : state().tile[t])
    for (auto& b : row) b = 0;
}
inline void load(int t, const void* base, int64_t stride) {
  const Config& c = state().config;
  zero(t);
  for (int r = 0; r < c.rows[t]; ++r) __builtin_memcpy(state().tile[t][r], static_cast<const uint8_t*>(base) + r * stride, c.colsb[t]);
}
inline void store(int t, void* base, int64_t stride) {
  const Config& c = state().config;
  for (int r = 0; r < c.rows[t]; ++r) __builtin_memcpy(static_cast<uint8_t*>(base) + r * stride, state().tile[t][r], c.colsb[t]);
}
inline float bf16(const uint8_t* p) {
  const uint32_t bits = uint32_t(p[0] | (p[1] << 8)) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}
// C[m][n] += sum over k pairs of A[m][2k..2k+1] . B[k][2n..2n+1] (bf16 in, f32 out).
inline void dpbf16ps(int ct, int at, int bt) {
  State& s = state();
  const int m_rows = s.config.rows[at], k_pairs = s.config.colsb[at] / 4, n_cols = s.config.colsb[bt] / 4;
  for (int m = 0; m < m_rows; ++m) {
    for (int n = 0; n < n_cols; ++n) {
      float c;
      __builtin_memcpy(&c, s.tile[ct][m] + 4 * n, 4);
      for (int k = 0; k < k_pairs; ++k) {
        c += bf16(s.tile[at][m] + 4 * k) * bf16(s.tile[bt][k] + 4 * n);
        c += bf16(s.tile[at][m] + 4 * k + 2) * bf16(s.tile[bt][k] + 4 * n + 2);
      }
      __builtin_memcpy(s.tile[ct][m] + 4 * n, &c, 4);
    }
  }
}
// C[m][n] += sum over k quads of signed A[m][4k + i] . unsigned B[k][4n + i] (int32 out).
inline void dpbsud(int ct, int at, int bt) {
  State& s = state();
  const int m_rows = s.config.rows[at], k_quads = s.config.colsb[at] / 4, n_cols = s.config.colsb[bt] / 4;
  for (int m = 0; m < m_rows; ++m) {
    for (int n = 0; n < n_cols; ++n) {
      int32_t c;
      __builtin_memcpy(&c, s.tile[ct][m] + 4 * n, 4);
      for (int k = 0; k < k_quads; ++k) {
        for (int i = 0; i < 4; ++i) c += int32_t(int8_t(s.tile[at][m][4 * k + i])) * int32_t(s.tile[bt][k][4 * n + i]);
      }
      __builtin_memcpy(s.tile[ct][m] + 4 * n, &c, 4);
    }
  }
}

}  // namespace q3k::amx_emulation

#define Q3_TILE_LOADCONFIG(config) q3k::amx_emulation::load_config(config)
#define Q3_TILE_RELEASE() ((void)0)
#define Q3_TILE_ZERO(t) q3k::amx_emulation::zero(t)
#define Q3_TILE_LOAD(t, base, stride) q3k::amx_emulation::load(t, base, stride)
#define Q3_TILE_STORE(t, base, stride) q3k::amx_emulation::store(t, base, stride)
#define Q3_TILE_DPBF16PS(c, a, b) q3k::amx_emulation::dpbf16ps(c, a, b)
#define Q3_TILE_DPBSUD(c, a, b) q3k::amx_emulation::dpbsud(c, a, b)
#endif

namespace q3k {

// The tile configuration (palette 1): tiles 0-3 accumulate (16 x 16 f32 or int32), 4 and 5
// hold activation rows, 6 and 7 weight rows.
struct TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64, "the AMX tile configuration is 64 bytes");

// bf16: A rows of 32 inputs (16 pairs, 64 bytes), B 16 rows of pairs (64 bytes: 16 columns).
inline TileConfig bf16_tile_config() {
  TileConfig c;
  for (int t = 0; t < 8; ++t) {
    c.rows[t] = 16;
    c.colsb[t] = 64;
  }
  return c;
}
// int8 by blocks of 32 inputs: A rows of 32 bytes, B 8 rows (quads) of 64 bytes.
inline TileConfig int8_tile_config() {
  TileConfig c = bf16_tile_config();
  c.colsb[4] = c.colsb[5] = 32;
  c.rows[6] = c.rows[7] = 8;
  return c;
}

}  // namespace q3k
