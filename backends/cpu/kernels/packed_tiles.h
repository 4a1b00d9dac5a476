// The vector tiles of the packed matrix products (packed_matmul.cpp): what a tile reads of
// the weights and activations, and the inner loops that multiply them, one per weight
// format and precision. acc[m][g] (16 lanes: the group's rows) += token m of the tile .
// group g of the weights.
//
// Part of packed_matmul.cpp's translation unit, which is compiled once per kernel tier:
// everything here has internal linkage, so each tier keeps its own code.
#pragma once

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernel_abi.h"
#include "packed_layout.h"

namespace {

using q3k::f16x16;
using q3k::f32x16;
using q3k::i32x16;
using q3k::u32x16;
using ActivationBlock = qwen3c::weight_format::ActivationBlock;

constexpr int64_t G = q3k::kGroupRows;
constexpr int64_t kPrefetchBytes = 2048;  // how far ahead a decode stream asks for its weights
constexpr int kBlock = Q3_QBLOCK;

// Whether a weight stream also asks for its lines into L2 further ahead: set by the code
// generator from the target CPU (compiler/codegen.cpp). It helps Intel's Sapphire Rapids (a
// step of 8 sequences of Qwen3-4B q4_0, 2 threads: 184 -> 171 ms); on AMD's Zen 5 the L2
// prefetches cost more than they hide (2 threads streaming a 2560 x 9728 q4_0 matrix from
// memory, 1 token: 48.5 -> 64.5 GB/s, 8 tokens: 391 -> 454 G MAC/s; BENCHMARKS.md).
extern "C" const int32_t q3k_target_prefetches_to_l2;

// A tile's weight streams, one a group of `group_bytes`; the tile after it (the same thread's
// next chunk of groups, usually) reads the same streams `next_tile` bytes on (0: none known).
struct Streams {
  int64_t group_bytes = 0, next_tile = 0;
  // What to ask for `distance` past `p`, which is `offset` bytes into its group: past the
  // group's end, the next tile's group. Asking on into the neighbouring group, which another
  // stream of this tile is reading, would leave the next tile's streams to start cold: a
  // decode step of Qwen3-4B q4_0 read 3-7% faster redirected (2 threads, AMD Zen 5).
  const uint8_t* ahead(const uint8_t* p, int64_t offset, int64_t distance) const {
    if (next_tile != 0 && offset + distance >= group_bytes) return p + distance + (next_tile - group_bytes);
    return p + distance;
  }
};

// A weight stream's line `p` (`offset` into its group): asked into L1 a little ahead (and
// maybe into L2 further), so that decode's compute overlaps memory.
inline void stream_ahead(const Streams& s, const uint8_t* p, int64_t offset) {
  __builtin_prefetch(s.ahead(p, offset, kPrefetchBytes));
  if (q3k_target_prefetches_to_l2 != 0) __builtin_prefetch(s.ahead(p, offset, 4 * kPrefetchBytes), 0, 2);
}

// Whether vdpbf16ps beats f32 FMAs of widened weights on the target: set by the code
// generator from the target CPU (compiler/codegen.cpp) as a constant LLVM folds. AMD's
// Zen 4 and 5 run it at the FMA rate with twice the products; Intel's Sapphire Rapids at
// half that rate (measured: 1.4 against 5.5 zmm instructions a nanosecond), so it loses.
extern "C" const int32_t q3k_target_prefers_bf16_dot;
#if defined(__AVX512BF16__)
inline bool bf16_dot() { return q3k_target_prefers_bf16_dot != 0; }
#else
inline bool bf16_dot() { return false; }
#endif

template <class V>
inline V load_vector(const void* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
// The lanes of a short group (rows < 16); the others are zero.
template <class V>
inline V load_lanes(const void* p, int64_t rows, int64_t lane_bytes) {
  V v = {};
  __builtin_memcpy(&v, p, rows * lane_bytes);
  return v;
}
// A group's lanes: whole groups (Full, every group but a matrix's last) load one vector; the
// short last group copies its lanes into a zeroed one. Full is a template parameter so that
// the hot loops have no branch and no call.
template <class V, bool Full>
inline V load_group(const void* p, int64_t rows, int64_t lane_bytes) {
  if constexpr (Full) return load_vector<V>(p);
  else return load_lanes<V>(p, rows, lane_bytes);
}
template <bool Full>
inline int64_t lanes(const int64_t* rows, int g) {
  if constexpr (Full) return G;
  else return rows[g];
}
inline f32x16 bits_to_f32(u32x16 v) {
  f32x16 f;
  __builtin_memcpy(&f, &v, sizeof f);
  return f;
}
template <bool Full>
inline f32x16 scales(const uint8_t* p, int64_t rows) {
  return __builtin_convertvector((load_group<f16x16, Full>(p, rows, 2)), f32x16);
}

// What the tiles read of the weights: group g of a matrix starting at `base`.
struct Matrix {
  const uint8_t* base;
  int64_t rows;       // output rows
  int64_t row_bytes;  // bytes of one row in the stored format
  const uint8_t* group(int64_t g) const { return base + q3k::packed_group_offset(g, row_bytes); }
  int64_t group_rows(int64_t g) const { return q3k::group_rows(g, rows); }
};

// The activations in the form the product multiplies: f32 rows (maybe rounded to bf16
// values), bf16 pairs, or int8 blocks.
struct Activations {
  const float* f32 = nullptr;           // [tokens][in]
  const uint32_t* pairs = nullptr;      // [tokens][in / 2]
  const ActivationBlock* blocks = nullptr;  // [tokens][in / 32]
  // -zero point x each block's sum: where a block's int32 sums start, so that a tile sets
  // them with one broadcast load (no scalar multiply and register broadcast a token).
  const int32_t* sum_starts = nullptr;  // [tokens][in / 32]
  int64_t in = 0;
  // Steps too short to block (decode, batched or not) stream each weight from memory once:
  // the tiles ask for it a little ahead.
  bool stream = false;
};

using q3k::bf16_bits;

// bf16 weights, f32 activations (exact, or rounded to bf16 where the tier has no bf16 dot).
template <int Mr, int Gr, bool Full>
void tile_bf16_f32(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows, const Streams& s,
                   int64_t k0, int64_t k1, f32x16 acc[Mr][Gr]) {
  for (int64_t kp = k0 / 2; kp < k1 / 2; ++kp) {
    f32x16 lo[Gr], hi[Gr];
    for (int g = 0; g < Gr; ++g) {
      const int64_t offset = kp * lanes<Full>(rows, g) * 4;
      if (Mr == 1 || a.stream) __builtin_prefetch(s.ahead(w[g] + offset, offset, kPrefetchBytes));
      const u32x16 v = load_group<u32x16, Full>(w[g] + offset, rows[g], 4);
      lo[g] = bits_to_f32(v << 16);
      hi[g] = bits_to_f32(v & 0xffff0000u);
    }
    for (int m = 0; m < Mr; ++m) {
      const float x0 = a.f32[(t0 + m) * a.in + 2 * kp], x1 = a.f32[(t0 + m) * a.in + 2 * kp + 1];
      for (int g = 0; g < Gr; ++g) {  // two statements: two FMAs (one expression would not contract)
        acc[m][g] += x0 * lo[g];
        acc[m][g] += x1 * hi[g];
      }
    }
  }
}

#if defined(__AVX512BF16__)
// bf16 weights and activations: one vdpbf16ps per (token, group, pair of inputs).
template <int Mr, int Gr, bool Full>
void tile_bf16_dot(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows, const Streams& s,
                   int64_t k0, int64_t k1, f32x16 acc[Mr][Gr]) {
  const int64_t pairs = a.in / 2;
  __m512 c[Mr][Gr];
  for (int m = 0; m < Mr; ++m)
    for (int g = 0; g < Gr; ++g) c[m][g] = (__m512)acc[m][g];
  for (int64_t kp = k0 / 2; kp < k1 / 2; ++kp) {
    __m512bh wv[Gr];
    for (int g = 0; g < Gr; ++g) {
      wv[g] = (__m512bh)(__m512i)load_group<u32x16, Full>(w[g] + kp * lanes<Full>(rows, g) * 4, rows[g], 4);
    }
    for (int m = 0; m < Mr; ++m) {
      const __m512bh x = (__m512bh)_mm512_set1_epi32(static_cast<int>(a.pairs[(t0 + m) * pairs + kp]));
      for (int g = 0; g < Gr; ++g) c[m][g] = _mm512_dpbf16_ps(c[m][g], wv[g], x);
    }
  }
  for (int m = 0; m < Mr; ++m)
    for (int g = 0; g < Gr; ++g) acc[m][g] = (f32x16)c[m][g];
}
#endif

// The 16 lanes (rows) x 4 inputs of k-group j of a quantised block, as unsigned bytes
// (q + zero). q8_0: 8 groups stored as they are; q4_0: 4 stored, each holding groups j (low
// nibbles) and j + 4 (high nibbles).
template <bool Q4, bool Full>
inline u32x16 block_values(const uint8_t* values, int j, int64_t rows) {
  const int64_t r = Full ? G : rows;
  if (!Q4) return load_group<u32x16, Full>(values + j * r * 4, rows, 4);
  const u32x16 packed = load_group<u32x16, Full>(values + (j & 3) * r * 4, rows, 4);
  return j < 4 ? (packed & 0x0f0f0f0fu) : ((packed >> 4) & 0x0f0f0f0fu);
}

template <bool Q4>
constexpr int64_t block_bytes(int64_t rows) {
  return Q4 ? q3k::packed_block_bytes_q4_0(rows) : q3k::packed_block_bytes_q8_0(rows);
}
template <bool Q4>
constexpr int32_t zero_point() {
  return Q4 ? Q3_Q4_0_ZERO : 128;
}

// Quantised weights, f32 activations: each block dequantised in registers.
template <bool Q4, int Mr, int Gr, bool Full>
void tile_quant_f32(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows,
                    const Streams& s, int64_t k0, int64_t k1, f32x16 acc[Mr][Gr]) {
  for (int64_t b = k0 / kBlock; b < k1 / kBlock; ++b) {
    f32x16 scale[Gr];
    const uint8_t* values[Gr];
    for (int g = 0; g < Gr; ++g) {
      const uint8_t* block = w[g] + b * block_bytes<Q4>(lanes<Full>(rows, g));
      scale[g] = scales<Full>(block, rows[g]);
      values[g] = block + lanes<Full>(rows, g) * 2;
    }
    for (int j = 0; j < kBlock / 4; ++j) {
      u32x16 u[Gr];
      for (int g = 0; g < Gr; ++g) u[g] = block_values<Q4, Full>(values[g], j, rows[g]);
      for (int c = 0; c < 4; ++c) {
        f32x16 wc[Gr];
        for (int g = 0; g < Gr; ++g) {
          wc[g] = (__builtin_convertvector((i32x16)((u[g] >> (8 * c)) & 0xffu), f32x16) - float(zero_point<Q4>())) * scale[g];
        }
        const int64_t k = b * kBlock + 4 * j + c;
        for (int m = 0; m < Mr; ++m) {
          const float x = a.f32[(t0 + m) * a.in + k];
          for (int g = 0; g < Gr; ++g) acc[m][g] += x * wc[g];
        }
      }
    }
  }
}

// Sum over 4 bytes of each lane: unsigned u (weights) times the signed activation bytes
// broadcast from `x4`. One vpdpbusd where the tier has VNNI.
inline i32x16 dot4(i32x16 sum, u32x16 u, int32_t x4) {
#if defined(__AVX512VNNI__)
  return (i32x16)_mm512_dpbusd_epi32((__m512i)sum, (__m512i)u, _mm512_set1_epi32(x4));
#elif defined(__AVX2__)
  // vpmaddubsw (u8 x s8 pairs to saturating int16) then vpmaddwd: exact while a pair's sum
  // fits int16, which q4_0 (u <= 15) always does; q8_0 uses dot4_signed instead.
  const __m256i x = _mm256_set1_epi32(x4), ones = _mm256_set1_epi16(1);
  __m256i lo, hi, s0, s1;
  __builtin_memcpy(&lo, &u, 32);
  __builtin_memcpy(&hi, reinterpret_cast<const char*>(&u) + 32, 32);
  __builtin_memcpy(&s0, &sum, 32);
  __builtin_memcpy(&s1, reinterpret_cast<const char*>(&sum) + 32, 32);
  s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, x), ones));
  s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_maddubs_epi16(hi, x), ones));
  __builtin_memcpy(&sum, &s0, 32);
  __builtin_memcpy(reinterpret_cast<char*>(&sum) + 32, &s1, 32);
  return sum;
#else
  const int8_t* xb = reinterpret_cast<const int8_t*>(&x4);
  for (int c = 0; c < 4; ++c) sum += (i32x16)((u >> (8 * c)) & 0xffu) * int32_t(xb[c]);
  return sum;
#endif
}

#if defined(__AVX2__) && !defined(__AVX512VNNI__)
// q8_0 on AVX2: q = u - 128 fits a signed byte, so |q| x sign(x, q) keeps vpmaddubsw exact
// (|q| <= 127 after the weights' symmetric quantisation); returns sum q.x (no zero point).
inline i32x16 dot4_signed(i32x16 sum, u32x16 u, int32_t x4) {
  const __m256i x = _mm256_set1_epi32(x4), ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8(char(0x80));
  __m256i half[2], s[2];
  __builtin_memcpy(half, &u, 64);
  __builtin_memcpy(s, &sum, 64);
  for (int h = 0; h < 2; ++h) {
    const __m256i q = _mm256_xor_si256(half[h], flip);
    s[h] = _mm256_add_epi32(s[h], _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(q), _mm256_sign_epi8(x, q)), ones));
  }
  __builtin_memcpy(&sum, s, 64);
  return sum;
}
constexpr bool kSignedQ8 = true;
#else
inline i32x16 dot4_signed(i32x16 sum, u32x16 u, int32_t x4) { return dot4(sum, u, x4); }
constexpr bool kSignedQ8 = false;
#endif
// The zero point the int8 products take off the weights: none where q8_0 multiplies q itself.
template <bool Q4>
constexpr int32_t int8_zero_point() {
  return !Q4 && kSignedQ8 ? 0 : zero_point<Q4>();
}

}  // namespace

#include "int8_tile_8x2_avx512.h"  // batched decode's int8 tiles, in assembly (use the above)

namespace {

// Quantised weights, int8 activation blocks: an int32 dot product per block, then one f32
// step with both scales; the weights' zero point comes off with the block's activation sum.
template <bool Q4, int Mr, int Gr, bool Full>
void tile_quant_int8(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows,
                     const Streams& s, int64_t k0, int64_t k1, f32x16 acc[Mr][Gr]) {
#if defined(__AVX512VNNI__)
  if constexpr (Mr == 8 && Gr == 2 && Full) {  // batched decode's tile, in assembly
    return int8_tile_8x2<Q4>(a, t0, w, s, k0, k1, acc);
  }
#endif
  const int64_t blocks = a.in / kBlock;
  constexpr bool kSigned = !Q4 && kSignedQ8;  // the AVX2 q8_0 path multiplies q, not u
  constexpr int32_t kZero = int8_zero_point<Q4>();
  for (int64_t b = k0 / kBlock; b < k1 / kBlock; ++b) {
    f32x16 scale[Gr];
    const uint8_t* values[Gr];
    const int64_t stream_offset = b * block_bytes<Q4>(G);  // the block's place in a whole group's stream
    for (int g = 0; g < Gr; ++g) {
      const uint8_t* block = w[g] + b * block_bytes<Q4>(lanes<Full>(rows, g));
      // Decode streams each group once: ask for the data a little ahead (each group is its
      // own stream; the hardware prefetcher alone loses them at page boundaries). The
      // one-token tile asks for each line as it loads the one 2 KiB before it (here the
      // scales, the values in the loop below), not for a block's lines in a burst at its
      // start: a Qwen3-4B decode step read a median 76% -> 82% (q4_0) and 75% -> 83% (q8_0)
      // of the bandwidth measured around it, 2 threads, AMD Zen 5 (BENCHMARKS.md). The
      // batched tiles, with 8 times the arithmetic between loads, keep the burst (spread,
      // they lost in four of five pairs, up to 18%).
      if (Mr == 1) {
        stream_ahead(s, block, stream_offset);
      } else if (a.stream) {
        for (int64_t line = 0; line < block_bytes<Q4>(G); line += 64) stream_ahead(s, block + line, stream_offset + line);
      }
      scale[g] = scales<Full>(block, rows[g]);
      values[g] = block + lanes<Full>(rows, g) * 2;
    }
    // The weights' zero point comes off with the block's activation sum: the sums start there.
    i32x16 sum[Mr][Gr];
    for (int m = 0; m < Mr; ++m) {
      const i32x16 start = kZero == 0 ? i32x16{} : i32x16{} + a.sum_starts[(t0 + m) * blocks + b];
      for (int g = 0; g < Gr; ++g) sum[m][g] = start;
    }
    for (int j = 0; j < kBlock / 4; ++j) {
      u32x16 u[Gr];
      // The one-token tile's values: a line a stored group of 4 inputs (q4_0 holds two
      // groups in each), asked for as it is loaded.
      constexpr int kStoredGroups = Q4 ? kBlock / 8 : kBlock / 4;
      if (Mr == 1 && j < kStoredGroups) {
        for (int g = 0; g < Gr; ++g) stream_ahead(s, values[g] + j * 64, stream_offset + G * 2 + j * 64);
      }
      for (int g = 0; g < Gr; ++g) u[g] = block_values<Q4, Full>(values[g], j, rows[g]);
      for (int m = 0; m < Mr; ++m) {
        int32_t x4;
        __builtin_memcpy(&x4, a.blocks[(t0 + m) * blocks + b].q + 4 * j, 4);
        for (int g = 0; g < Gr; ++g) sum[m][g] = kSigned ? dot4_signed(sum[m][g], u[g], x4) : dot4(sum[m][g], u[g], x4);
      }
    }
    for (int m = 0; m < Mr; ++m) {
      const float x_scale = a.blocks[(t0 + m) * blocks + b].scale;
      for (int g = 0; g < Gr; ++g) acc[m][g] += __builtin_convertvector(sum[m][g], f32x16) * (scale[g] * x_scale);
    }
  }
}

// What a product multiplies: the weights' format and what the activations enter as.
enum class Kind { Bf16F32, Bf16Dot, Q8F32, Q8Int8, Q4F32, Q4Int8 };

// acc += tokens [t0, t0 + Mr) . groups w[0..Gr) over inputs [k0, k1); `s`: the groups' streams.
template <Kind K, int Mr, int Gr, bool Full>
void tile_of(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows, const Streams& s,
             int64_t k0, int64_t k1, f32x16 acc[Mr][Gr]) {
  if constexpr (K == Kind::Bf16F32) tile_bf16_f32<Mr, Gr, Full>(a, t0, w, rows, s, k0, k1, acc);
#if defined(__AVX512BF16__)
  else if constexpr (K == Kind::Bf16Dot) tile_bf16_dot<Mr, Gr, Full>(a, t0, w, rows, s, k0, k1, acc);
#endif
  else if constexpr (K == Kind::Q8F32) tile_quant_f32<false, Mr, Gr, Full>(a, t0, w, rows, s, k0, k1, acc);
  else if constexpr (K == Kind::Q8Int8) tile_quant_int8<false, Mr, Gr, Full>(a, t0, w, rows, s, k0, k1, acc);
  else if constexpr (K == Kind::Q4F32) tile_quant_f32<true, Mr, Gr, Full>(a, t0, w, rows, s, k0, k1, acc);
  else if constexpr (K == Kind::Q4Int8) tile_quant_int8<true, Mr, Gr, Full>(a, t0, w, rows, s, k0, k1, acc);
}
// `next_tile`: bytes from each of these groups to the same stream's group in the tile that
// follows (0: none).
template <Kind K, int Mr, int Gr>
void tile(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows, int64_t group_bytes,
          int64_t next_tile, int64_t k0, int64_t k1, f32x16 acc[Mr][Gr]) {
  bool full = true;
  for (int g = 0; g < Gr; ++g) full &= rows[g] == G;
  if (full) tile_of<K, Mr, Gr, true>(a, t0, w, rows, Streams{group_bytes, next_tile}, k0, k1, acc);
  else tile_of<K, Mr, Gr, false>(a, t0, w, rows, Streams{}, k0, k1, acc);  // a matrix's short last group
}

inline float silu(float x) { return x * (1.0f / (1.0f + q3k::exp_approx(-x))); }
inline f32x16 silu(f32x16 x) { return x * (1.0f / (1.0f + q3k::exp16(-x))); }

}  // namespace
