// Matrix products over the packed layouts of packed_layout.h: y = x W^T, SwiGLU, and both
// with the input's RMSNorm folded in front. Compiled once per kernel tier (see
// CMakeLists.txt: generic, avx2, avx512, amx); each tier takes the widest multiply its
// instruction set has:
//
//   weights  precision f32            precision fast (round_activations)
//   bf16     f32 FMA                  bf16 pairs: vdpbf16ps (avx512) / f32 FMA of rounded values
//   q8_0     f32 FMA of dequantised   int8 blocks: vpdpbusd (avx512) / vpmaddubsw (avx2) /
//   q4_0     values                   int32 multiplies (generic), one f32 scale step a block
//
// (AMX tiles: amx_matmul.h, used by the amx tier for prefill.) Threads split the output
// rows in whole groups of 16; a tile is Mr tokens by Gr groups of accumulators, Mr = 4 for
// prefill and 1 for decode (where Gr = 4 groups keep four independent chains in flight).
#include <math.h>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "amx_tiles.h"
#include "kernel_abi.h"
#include "packed_layout.h"

namespace {

using q3k::f16x16;
using q3k::f32x16;
using q3k::i32x16;
using q3k::u32x16;
using ActivationBlock = qwen3c::weight_format::ActivationBlock;

constexpr int64_t G = q3k::kGroupRows;
#if defined(Q3_HAS_AMX)
constexpr bool kAmx = true;
#else
constexpr bool kAmx = false;
#endif
constexpr int64_t kPrefetchBytes = 2048;  // how far ahead a decode stream asks for its weights
// Steps of this many tokens or more run cache-blocked; shorter ones (decode, batched or
// not) stream each weight once, 8 tokens a tile (measured, Qwen3-4B q4_0: 16 sequences
// decode at 57.7 tokens/s streamed, 48.8 blocked).
constexpr int64_t kBlockedTokens = 32;
constexpr int kBlock = Q3_QBLOCK;

// Whether a weight stream also asks for its lines into L2 further ahead: set by the code
// generator from the target CPU (compiler/codegen.cpp). It helps Intel's Sapphire Rapids (a
// step of 8 sequences of Qwen3-4B q4_0, 2 threads: 184 -> 171 ms); on AMD's Zen 5 the L2
// prefetches cost more than they hide (2 threads streaming a 2560 x 9728 q4_0 matrix from
// memory, 1 token: 48.5 -> 64.5 GB/s, 8 tokens: 391 -> 454 G MAC/s; BENCHMARKS.md).
extern "C" const int32_t q3k_target_prefetches_to_l2;

// A weight stream's line `p`: asked into L1 a little ahead (and maybe into L2 further), so
// that decode's compute overlaps memory.
inline void stream_ahead(const uint8_t* p) {
  __builtin_prefetch(p + kPrefetchBytes);
  if (q3k_target_prefetches_to_l2 != 0) __builtin_prefetch(p + 4 * kPrefetchBytes, 0, 2);
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

//===----------------------------------------------------------------------===//
// Tiles: acc[m][g] (16 lanes: the group's rows) += token m of the tile . group g.
//===----------------------------------------------------------------------===//

// bf16 weights, f32 activations (exact, or rounded to bf16 where the tier has no bf16 dot).
template <int Mr, int Gr, bool Full>
void tile_bf16_f32(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows, int64_t k0, int64_t k1,
                   f32x16 acc[Mr][Gr]) {
  for (int64_t kp = k0 / 2; kp < k1 / 2; ++kp) {
    f32x16 lo[Gr], hi[Gr];
    for (int g = 0; g < Gr; ++g) {
      if (Mr == 1 || a.stream) __builtin_prefetch(w[g] + kp * lanes<Full>(rows, g) * 4 + kPrefetchBytes);
      const u32x16 v = load_group<u32x16, Full>(w[g] + kp * lanes<Full>(rows, g) * 4, rows[g], 4);
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
void tile_bf16_dot(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows, int64_t k0, int64_t k1,
                   f32x16 acc[Mr][Gr]) {
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
void tile_quant_f32(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows, int64_t k0,
                    int64_t k1, f32x16 acc[Mr][Gr]) {
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

// Quantised weights, int8 activation blocks: an int32 dot product per block, then one f32
// step with both scales; the weights' zero point comes off with the block's activation sum.
template <bool Q4, int Mr, int Gr, bool Full>
void tile_quant_int8(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows, int64_t k0,
                     int64_t k1, f32x16 acc[Mr][Gr]) {
  const int64_t blocks = a.in / kBlock;
  constexpr bool kSigned = !Q4 && kSignedQ8;  // the AVX2 q8_0 path multiplies q, not u
  constexpr int32_t kZero = int8_zero_point<Q4>();
  for (int64_t b = k0 / kBlock; b < k1 / kBlock; ++b) {
    f32x16 scale[Gr];
    const uint8_t* values[Gr];
    for (int g = 0; g < Gr; ++g) {
      const uint8_t* block = w[g] + b * block_bytes<Q4>(lanes<Full>(rows, g));
      // Decode streams each group once: ask for the data a few blocks ahead (each group is its
      // own stream; the hardware prefetcher alone loses them at page boundaries).
      if (Mr == 1 || a.stream) {
        for (int64_t line = 0; line < block_bytes<Q4>(G); line += 64) stream_ahead(block + line);
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

//===----------------------------------------------------------------------===//
// Drivers: tiles over this thread's groups and all tokens, results to the output.
//===----------------------------------------------------------------------===//

enum class Kind { Bf16F32, Bf16Dot, Q8F32, Q8Int8, Q4F32, Q4Int8 };

// acc += tokens [t0, t0 + Mr) . groups w[0..Gr) over inputs [k0, k1).
template <Kind K, int Mr, int Gr, bool Full>
void tile_of(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows, int64_t k0, int64_t k1,
             f32x16 acc[Mr][Gr]) {
  if constexpr (K == Kind::Bf16F32) tile_bf16_f32<Mr, Gr, Full>(a, t0, w, rows, k0, k1, acc);
#if defined(__AVX512BF16__)
  else if constexpr (K == Kind::Bf16Dot) tile_bf16_dot<Mr, Gr, Full>(a, t0, w, rows, k0, k1, acc);
#endif
  else if constexpr (K == Kind::Q8F32) tile_quant_f32<false, Mr, Gr, Full>(a, t0, w, rows, k0, k1, acc);
  else if constexpr (K == Kind::Q8Int8) tile_quant_int8<false, Mr, Gr, Full>(a, t0, w, rows, k0, k1, acc);
  else if constexpr (K == Kind::Q4F32) tile_quant_f32<true, Mr, Gr, Full>(a, t0, w, rows, k0, k1, acc);
  else if constexpr (K == Kind::Q4Int8) tile_quant_int8<true, Mr, Gr, Full>(a, t0, w, rows, k0, k1, acc);
}
template <Kind K, int Mr, int Gr>
void tile(const Activations& a, int64_t t0, const uint8_t* const* w, const int64_t* rows, int64_t k0, int64_t k1,
          f32x16 acc[Mr][Gr]) {
  bool full = true;
  for (int g = 0; g < Gr; ++g) full &= rows[g] == G;
  if (full) tile_of<K, Mr, Gr, true>(a, t0, w, rows, k0, k1, acc);
  else tile_of<K, Mr, Gr, false>(a, t0, w, rows, k0, k1, acc);
}

// Inputs a cache block of the weights spans: Gr groups of it stay in L1 (48 KB on the
// machines seen) while every token block of the step runs over them.
template <Kind K>
constexpr int64_t cache_block_inputs() {
  if constexpr (K == Kind::Bf16F32 || K == Kind::Bf16Dot) return 256;  // 4 groups: 32 KB
  else if constexpr (K == Kind::Q4F32 || K == Kind::Q4Int8) return 1024;  // 4 groups: 36 KB
  else return 512;                                                        // q8_0, 4 groups: 34 KB
}

inline float silu(float x) { return x * (1.0f / (1.0f + q3k::exp_approx(-x))); }

// The product over tokens x this thread's groups. Plain: `groups` of `m`, out[t][row].
// Gated: gate group g of `m` and up group g of `up`, out[t][row] = silu(gate) * up.
template <Kind K>
struct Product {
  const Activations& a;
  Matrix m, up;
  bool gated;
  float* out;         // [tokens][m.rows]
  float* partial;     // scratch of tokens x 64 floats: a chunk's sums between cache blocks
  int64_t t_begin;    // tokens before this were computed elsewhere (AMX tiles)

  // A chunk: `count` groups from g0 (plain), or `count` gate groups and their up groups.
  template <int Gr>
  int chunk(int64_t g0, int count, const uint8_t** w, int64_t* rows) const {
    for (int i = 0; i < count; ++i) {
      w[i] = m.group(g0 + i);
      rows[i] = m.group_rows(g0 + i);
      if (gated) {
        w[count + i] = up.group(g0 + i);
        rows[count + i] = up.group_rows(g0 + i);
      }
    }
    return gated ? 2 * count : count;
  }

  void write(int64_t t, int64_t g0, int count, const int64_t* rows, const f32x16* acc) const {
    float* o = out + t * m.rows;
    for (int i = 0; i < count; ++i) {
      const int64_t first = (g0 + i) * G;
      for (int64_t r = 0; r < rows[i]; ++r) o[first + r] = gated ? silu(acc[i][r]) * acc[count + i][r] : acc[i][r];
    }
  }

  // Whole inputs at once: decode, and prefill chunks too small to block.
  template <int Mr, int Gr>
  void run_tile(int64_t t0, int64_t g0, int count) const {
    const uint8_t* w[Gr];
    int64_t rows[Gr];
    chunk<Gr>(g0, count, w, rows);
    f32x16 acc[Mr][Gr] = {};
    tile<K, Mr, Gr>(a, t0, w, rows, 0, a.in, acc);
    for (int t = 0; t < Mr; ++t) write(t0 + t, g0, count, rows, acc[t]);
  }

  // Cache-blocked over the inputs: each block of the chunk's weights is read from memory
  // once and from L1 by every token block; sums wait in `partial` between blocks.
  template <int Mr, int Gr>
  void run_blocked(int64_t tokens, int64_t g0, int count) const {
    const uint8_t* w[Gr];
    int64_t rows[Gr];
    chunk<Gr>(g0, count, w, rows);
    constexpr int64_t kc = cache_block_inputs<K>();
    for (int64_t k0 = 0; k0 < a.in; k0 += kc) {
      const int64_t k1 = a.in - k0 < kc ? a.in : k0 + kc;
      int64_t t = t_begin;
      for (; t + Mr <= tokens; t += Mr) block_step<Mr, Gr>(t, w, rows, k0, k1);
      for (; t < tokens; ++t) block_step<1, Gr>(t, w, rows, k0, k1);
    }
    for (int64_t t = t_begin; t < tokens; ++t) {
      f32x16 sums[Gr];
      __builtin_memcpy(sums, partial + t * Gr * G, sizeof sums);
      write(t, g0, count, rows, sums);
    }
  }
  template <int Mr, int Gr>
  void block_step(int64_t t0, const uint8_t* const* w, const int64_t* rows, int64_t k0, int64_t k1) const {
    // The scratch is not 64-byte aligned whatever `in` is: copies, not vector loads.
    f32x16 acc[Mr][Gr] = {};
    float* sums = partial + t0 * Gr * G;
    if (k0 > 0) __builtin_memcpy(acc, sums, sizeof acc);
    tile<K, Mr, Gr>(a, t0, w, rows, k0, k1, acc);
    __builtin_memcpy(sums, acc, sizeof acc);
  }

  // Chunks of Gr groups (Gr / 2 gate and up pairs); a group shorter than 16 rows (only
  // ever the last) goes alone.
  void run(int64_t tokens, q3k::Range groups) const {
    constexpr int Gr = 4;
    const int step = gated ? Gr / 2 : Gr;
    const int64_t last_full = m.rows / G;  // groups [0, last_full) have 16 rows
    const bool blocked = tokens - t_begin >= kBlockedTokens;
    int64_t g = groups.begin;
    if (!blocked && tokens - t_begin >= 8) {
      // Batched decode: 8 tokens a tile, 2 groups (one gate and up pair), so each weight
      // block is read and unpacked once for all of them.
      const int pair = gated ? 1 : 2;
      for (; g + pair <= groups.end && g + pair <= last_full; g += pair) run_tokens8(tokens, g, pair);
    }
    for (; g + step <= groups.end && g + step <= last_full; g += step) {
      if (blocked) run_blocked<4, Gr>(tokens, g, step);
      else run_tokens<Gr>(tokens, g, step);
    }
    for (; g < groups.end; ++g) {  // rare: short chunks, tails
      if (gated) run_tokens<2>(tokens, g, 1);
      else run_tokens<1>(tokens, g, 1);
    }
  }
  void run_tokens8(int64_t tokens, int64_t g0, int count) const {
    int64_t t = t_begin;
    for (; t + 8 <= tokens; t += 8) run_tile<8, 2>(t, g0, count);
    for (; t + 4 <= tokens; t += 4) run_tile<4, 2>(t, g0, count);
    for (; t < tokens; ++t) run_tile<1, 2>(t, g0, count);
  }
  template <int Gr>
  void run_tokens(int64_t tokens, int64_t g0, int count) const {
    int64_t t = t_begin;
    for (; t + 4 <= tokens; t += 4) run_tile<4, Gr>(t, g0, count);
    for (; t < tokens; ++t) run_tile<1, Gr>(t, g0, count);
  }
};

// weight_format::quantize_activations_q8 (the reference's rounding) in vectors: the same
// maximum, the same 127 / amax product and round-to-even, so the same bytes, at about a
// fifth of the scalar loop's cost (1.1 ns an input, paid on every input of every product:
// by count about 8% of a batched step of 8 tokens; BENCHMARKS.md).
inline void quantize_block(const float* x, ActivationBlock* out) {
#if !defined(__AVX2__)
  qwen3c::weight_format::quantize_activations_q8(x, out);  // no vector rounding: the reference loop
#else
  static_assert(kBlock == 32);
  typedef int8_t i8x16 __attribute__((vector_size(16)));
  const f32x16 x0 = load_vector<f32x16>(x), x1 = load_vector<f32x16>(x + 16);
  // |x| as bits orders as |x| does (the integer maximum: a float one would keep NaN's rules,
  // which the compiler spells in 40 scalar instructions).
  const u32x16 bits = __builtin_elementwise_max(load_vector<u32x16>(x) & 0x7fffffffu, load_vector<u32x16>(x + 16) & 0x7fffffffu);
  const uint32_t amax_bits = __builtin_reduce_max(bits);
  float amax;
  __builtin_memcpy(&amax, &amax_bits, 4);
  const float inv = amax > 0 ? 127.0f / amax : 0.0f;
  const i32x16 q0 = __builtin_convertvector(__builtin_elementwise_roundeven(x0 * inv), i32x16);
  const i32x16 q1 = __builtin_convertvector(__builtin_elementwise_roundeven(x1 * inv), i32x16);
  const i8x16 b0 = __builtin_convertvector(q0, i8x16), b1 = __builtin_convertvector(q1, i8x16);
  __builtin_memcpy(out->q, &b0, 16);
  __builtin_memcpy(out->q + 16, &b1, 16);
  out->scale = amax / 127.0f;
  out->sum = __builtin_reduce_add(q0 + q1);
#endif
}

// The activations in the form `kind` multiplies, in this thread's scratch (each thread
// makes its own copy: it needs every token's, and the cost is tokens x in, not x out).
Activations prepare(Kind kind, const float* x, int64_t tokens, int64_t in, float* scratch) {
  Activations a;
  a.in = in;
  a.f32 = x;
  if (kind == Kind::Bf16Dot) {
    uint32_t* pairs = reinterpret_cast<uint32_t*>(scratch);
    for (int64_t i = 0; i < tokens * in / 2; ++i) pairs[i] = bf16_bits(x[2 * i]) | (bf16_bits(x[2 * i + 1]) << 16);
    a.pairs = pairs;
  } else if (kind == Kind::Q8Int8 || kind == Kind::Q4Int8) {
    // 40 bytes a block, then 4: 1.4 bytes an input, within the `in` floats a token the
    // schedule gives the prepared activations.
    const int64_t count = tokens * in / kBlock;
    ActivationBlock* blocks = reinterpret_cast<ActivationBlock*>(scratch);
    int32_t* starts = reinterpret_cast<int32_t*>(blocks + count);
    const int32_t zero = kind == Kind::Q4Int8 ? int8_zero_point<true>() : int8_zero_point<false>();
    for (int64_t i = 0; i < count; ++i) {
      quantize_block(x + i * kBlock, blocks + i);
      starts[i] = -zero * blocks[i].sum;
    }
    a.blocks = blocks;
    a.sum_starts = starts;
  }
  return a;
}

// bf16 products under --precision fast where the tier has no bf16 dot: the activations
// rounded to bf16 values, multiplied in f32 (the same products, exactly).
const float* round_to_bf16(const float* x, int64_t count, float* scratch) {
  for (int64_t i = 0; i < count; ++i) {
    const uint32_t bits = bf16_bits(x[i]) << 16;
    __builtin_memcpy(scratch + i, &bits, 4);
  }
  return scratch;
}

#if defined(Q3_HAS_AMX)
//===----------------------------------------------------------------------===//
// AMX tiles (the amx tier): 32 tokens x 2 groups a step, four 16 x 16 accumulator tiles.
//===----------------------------------------------------------------------===//

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
#endif

template <Kind K>
void product(const Activations& a, int64_t tokens, const Matrix& m, const Matrix& up, bool gated, float* out,
             float* partial, q3k::Range groups) {
#if defined(Q3_HAS_AMX)
  // Whole blocks of 32 tokens and pairs of whole groups go through the tiles; the rest (the
  // last tokens, an odd group, a short group) through the vector tiles below.
  if constexpr (K == Kind::Bf16Dot || K == Kind::Q8Int8 || K == Kind::Q4Int8) {
    const AmxSpan done = amx_product<K>(a, tokens, m, up, gated, out, groups);
    if (done.tokens > 0) {
      Product<K>{a, m, up, gated, out, partial, done.tokens}.run(tokens, {groups.begin, done.groups_end});
      Product<K>{a, m, up, gated, out, partial, 0}.run(tokens, {done.groups_end, groups.end});
      return;
    }
  }
#endif
  Product<K>{a, m, up, gated, out, partial, 0}.run(tokens, groups);
}

// y = x W^T (or SwiGLU) for one weight format, both precisions. `w` holds the packed
// matrix (gated: gate then up, each `rows` rows).
enum class Format { Bf16, Q8, Q4 };

void matmul(Format format, int64_t fast, const float* x, const void* w, int64_t tokens, int64_t in, int64_t rows,
            bool gated, float* out, float* scratch, int64_t thread, int64_t threads) {
  const int64_t row_bytes = format == Format::Bf16 ? in * 2 : (in / kBlock) * (format == Format::Q8 ? 34 : 18);
  const Matrix m{static_cast<const uint8_t*>(w), rows, row_bytes};
  const Matrix up{m.base + rows * row_bytes, rows, row_bytes};
  const q3k::Range groups = q3k::share((rows + G - 1) / G, thread, threads);
  Kind kind;
  // With AMX, fast bf16 products multiply bf16 pairs: in tiles, and by vdpbf16ps for the rest.
  if (format == Format::Bf16) kind = fast && (bf16_dot() || kAmx) ? Kind::Bf16Dot : Kind::Bf16F32;
  else if (format == Format::Q8) kind = fast ? Kind::Q8Int8 : Kind::Q8F32;
  else kind = fast ? Kind::Q4Int8 : Kind::Q4F32;
  if (format == Format::Bf16 && fast && !(bf16_dot() || kAmx)) {
    x = round_to_bf16(x, tokens * in, scratch);
    scratch += tokens * in;
  }
  Activations a = prepare(kind, x, tokens, in, scratch);
  a.stream = tokens < kBlockedTokens;
  float* partial = scratch + tokens * in;  // after the prepared activations (at most in floats a token)
  switch (kind) {
    case Kind::Bf16F32: return product<Kind::Bf16F32>(a, tokens, m, up, gated, out, partial, groups);
#if defined(__AVX512BF16__)
    case Kind::Bf16Dot: return product<Kind::Bf16Dot>(a, tokens, m, up, gated, out, partial, groups);
#else
    case Kind::Bf16Dot: return;  // not chosen without the instruction
#endif
    case Kind::Q8F32: return product<Kind::Q8F32>(a, tokens, m, up, gated, out, partial, groups);
    case Kind::Q8Int8: return product<Kind::Q8Int8>(a, tokens, m, up, gated, out, partial, groups);
    case Kind::Q4F32: return product<Kind::Q4F32>(a, tokens, m, up, gated, out, partial, groups);
    case Kind::Q4Int8: return product<Kind::Q4Int8>(a, tokens, m, up, gated, out, partial, groups);
  }
}

// The normalised rows of x, in the scratch (tokens x in floats).
const float* normalise(const float* x, const void* g, int64_t g_is_bf16, int64_t tokens, int64_t in, float eps,
                       float* scratch) {
  for (int64_t t = 0; t < tokens; ++t) q3k::rms_normalize(x + t * in, g, g_is_bf16, in, eps, scratch + t * in);
  return scratch;
}

}  // namespace

// Scratch: tokens x (3 in + 64) floats: the normalised rows, the activations rounded to bf16
// (where the tier multiplies them in f32), the prepared activations, the cache-blocked sums.
#define Q3_PACKED_MATMULS(name, FORMAT)                                                                       \
  Q3_KERNEL void q3k_packed_linear_##name(const float* x, const void* w, int64_t tokens, int64_t in,          \
                                          int64_t out_features, int64_t fast, float* scratch, float* out,     \
                                          int64_t thread, int64_t threads) {                                  \
    matmul(FORMAT, fast, x, w, tokens, in, out_features, false, out, scratch, thread, threads);               \
  }                                                                                                           \
  Q3_KERNEL void q3k_packed_swiglu_##name(const float* x, const void* w, int64_t tokens, int64_t in,          \
                                          int64_t inter, int64_t fast, float* scratch, float* out,            \
                                          int64_t thread, int64_t threads) {                                  \
    matmul(FORMAT, fast, x, w, tokens, in, inter, true, out, scratch, thread, threads);                       \
  }                                                                                                           \
  Q3_KERNEL void q3k_packed_rms_norm_linear_##name(const float* x, const void* g, int64_t g_is_bf16,          \
                                                   const void* w, int64_t tokens, int64_t in,                 \
                                                   int64_t out_features, float eps, int64_t fast,             \
                                                   float* scratch, float* out, int64_t thread,                \
                                                   int64_t threads) {                                         \
    const float* normed = normalise(x, g, g_is_bf16, tokens, in, eps, scratch);                               \
    matmul(FORMAT, fast, normed, w, tokens, in, out_features, false, out, scratch + tokens * in, thread,      \
           threads);                                                                                          \
  }                                                                                                           \
  Q3_KERNEL void q3k_packed_rms_norm_swiglu_##name(const float* x, const void* g, int64_t g_is_bf16,          \
                                                   const void* w, int64_t tokens, int64_t in, int64_t inter,  \
                                                   float eps, int64_t fast, float* scratch, float* out,       \
                                                   int64_t thread, int64_t threads) {                         \
    const float* normed = normalise(x, g, g_is_bf16, tokens, in, eps, scratch);                               \
    matmul(FORMAT, fast, normed, w, tokens, in, inter, true, out, scratch + tokens * in, thread, threads);     \
  }
Q3_PACKED_MATMULS(bf16, Format::Bf16)
Q3_PACKED_MATMULS(q8_0, Format::Q8)
Q3_PACKED_MATMULS(q4_0, Format::Q4)

// Row `r` of a packed matrix as f32 (embedding lookups from a table that also serves as
// the output projection).
namespace {
void packed_row(Format format, const uint8_t* base, int64_t rows, int64_t in, int64_t r, float* out) {
  const int64_t g = r / G, lane = r % G, gr = q3k::group_rows(g, rows);
  if (format == Format::Bf16) {
    const uint8_t* group = base + q3k::packed_group_offset(g, in * 2);
    for (int64_t k = 0; k < in; ++k) {
      uint16_t h;
      __builtin_memcpy(&h, group + ((k / 2) * gr + lane) * 4 + (k % 2) * 2, 2);
      const uint32_t bits = uint32_t(h) << 16;
      __builtin_memcpy(out + k, &bits, 4);
    }
    return;
  }
  const bool q4 = format == Format::Q4;
  const int64_t blocks = in / kBlock, row_bytes = blocks * (q4 ? 18 : 34);
  const uint8_t* group = base + q3k::packed_group_offset(g, row_bytes);
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* block = group + b * (q4 ? q3k::packed_block_bytes_q4_0(gr) : q3k::packed_block_bytes_q8_0(gr));
    uint16_t h;
    __builtin_memcpy(&h, block + lane * 2, 2);
    const float d = q3k::half_to_float(h);
    const uint8_t* values = block + gr * 2;
    for (int k = 0; k < kBlock; ++k) {
      int q;
      if (q4) {
        const uint8_t byte = values[(((k % 16) / 4) * gr + lane) * 4 + k % 4];
        q = (k < 16 ? (byte & 15) : (byte >> 4)) - Q3_Q4_0_ZERO;
      } else {
        q = int(values[((k / 4) * gr + lane) * 4 + k % 4]) - 128;
      }
      out[b * kBlock + k] = d * float(q);
    }
  }
}
}  // namespace

#define Q3_PACKED_EMBEDDING(name, FORMAT)                                                                   \
  Q3_KERNEL void q3k_packed_embedding_##name(const void* table, const int64_t* ids, int64_t tokens,         \
                                             int64_t rows, int64_t hidden, float* out, int64_t thread,      \
                                             int64_t threads) {                                             \
    const q3k::Range r = q3k::share(tokens, thread, threads);                                               \
    for (int64_t t = r.begin; t < r.end; ++t) {                                                             \
      packed_row(FORMAT, static_cast<const uint8_t*>(table), rows, hidden, ids[t], out + t * hidden);       \
    }                                                                                                       \
  }
Q3_PACKED_EMBEDDING(bf16, Format::Bf16)
Q3_PACKED_EMBEDDING(q8_0, Format::Q8)
Q3_PACKED_EMBEDDING(q4_0, Format::Q4)
