// Causal grouped-query attention, tiled (flash-style): a block of query rows (kBlockTokens
// tokens x the query heads that share one KV head) goes over the cache a block of kBlockKeys
// keys at a time, with an online softmax: no tokens x context score matrix exists anywhere,
// each key block is read once per query block, and the products run as register-blocked
// FMAs over 16-key / 16-dimension vectors: the cache keeps keys transposed in blocks of 16
// positions (kv_cache.h), so a vector of 16 keys at one dimension is one load. A decoding
// tile (one token) is the same loop over fewer rows, so a token's output does not depend on
// how its step was tiled. For head_dim a multiple of 16 (every Qwen3: 128); attention.cpp
// keeps the plain loop for other sizes.
#include <math.h>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "flash_attention.h"
#include "kernel_abi.h"
#include "kv_cache.h"
#include "quantize_block.h"

namespace q3k {

namespace {

constexpr int64_t kBlockTokens = kFlashBlockTokens;
constexpr int64_t kBlockKeys = kFlashBlockKeys;
constexpr int64_t kMaxRows = kFlashMaxRows;
constexpr int64_t kFewRows = kFlashMaxGroup;  // a decoding tile: one token's query heads

// The thread's scratch, laid out once.
struct Tile {
  float* keys_t;  // [head_dim][kBlockKeys]: the key block widened to f32 (keys along vectors)
  float* p;       // [rows][kBlockKeys]: scores, then probabilities
  float* o;       // [rows][head_dim]: the output rows so far
  float* m;       // [rows]: running maximum score
  float* l;       // [rows]: running sum of exp(score - m)
};

// Lanes c..c+15 below `n` kept, the others `fill`.
inline f32x16 keep_below(f32x16 x, int64_t c, int64_t n, float fill) {
  const i32x16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const i32x16 keep = (lane + static_cast<int32_t>(c)) < static_cast<int32_t>(n);
  const f32x16 filler = f32x16{} + fill;
  i32x16 xb, fb;
  __builtin_memcpy(&xb, &x, 64);
  __builtin_memcpy(&fb, &filler, 64);
  const i32x16 out = (xb & keep) | (fb & ~keep);
  f32x16 r;
  __builtin_memcpy(&r, &out, 64);
  return r;
}

// keys_t[d][j] = k[j][d] for the block's `keys` keys (from `k`, the head's key blocks from
// the first of these keys on; kv_cache.h), zero beyond them.
template <KvType T>
void widen_keys(const uint8_t* k, int64_t keys, int64_t head_dim, float* keys_t) {
  const int64_t block_bytes = kKeyBlock * kv_row_bytes(T, head_dim);
  for (int64_t j0 = 0; j0 < kBlockKeys; j0 += kKeyBlock) {
    const uint8_t* block = k + j0 / kKeyBlock * block_bytes;
    for (int64_t d = 0; d < head_dim; ++d) {
      const f32x16 x = j0 < keys ? keep_below(key_load16<T>(block, head_dim, d), j0, keys, 0.0f) : f32x16{};
      __builtin_memcpy(keys_t + d * kBlockKeys + j0, &x, 64);
    }
  }
}

// The larger of a and b, lane by lane, as x86's max instruction has it (b where either is
// NaN, which no score or weight here is): __builtin_elementwise_max's NaN rules cost two more
// instructions a max.
template <typename V>
inline V max_of(V a, V b) {
  return a > b ? a : b;
}

// The largest lane, as a tree of vector maxima (max is exact, so any order gives the same
// value): __builtin_reduce_max on floats becomes 15 dependent scalar maxima, which a
// decoding tile pays for every row of every 64-key block.
inline float max_lane(f32x16 x) {
  typedef float f32x8 __attribute__((vector_size(32)));
  typedef float f32x4 __attribute__((vector_size(16)));
  const f32x8 m8 = max_of(__builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7),
                          __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15));
  const f32x4 m4 = max_of(__builtin_shufflevector(m8, m8, 0, 1, 2, 3), __builtin_shufflevector(m8, m8, 4, 5, 6, 7));
  const f32x4 m2 = max_of(m4, (f32x4)__builtin_shufflevector(m4, m4, 2, 3, 0, 1));
  return max_of(m2[0], m2[1]);
}

// The largest of four vectors' lanes.
inline float max_lane(const f32x16 (&x)[4]) { return max_lane(max_of(max_of(x[0], x[1]), max_of(x[2], x[3]))); }

// A decoding tile does little arithmetic per byte it reads, and one core's hardware
// prefetcher keeps too few lines in flight for its streams: while it computes one block, it
// asks for the next block's keys and values into L2, a line at a time between its loads
// (a burst of a whole block's requests at once fills the core's miss buffers and stalls
// the loads it needs now). Past the cache's end the hints are dropped (prefetches never
// fault).
inline void prefetch_line(const uint8_t* p) { __builtin_prefetch(p, 0, 2); }

// p[i][0..64) = scale * q_i . k_j for N rows and the block's 64 keys (4 vectors); key_at(d, c):
// dimension d of keys 16c..16c+15 as a vector. ask(line, c), when `asking`: line `line` of the
// next block's key block c is wanted, called once every DimsPerLine dimensions, so that the
// requests go out evenly between the loads (see prefetch_line). Compile-time N and
// DimsPerLine keep the sums and the loop's pointers in registers. Every row's products run in
// the same order whatever N is, so a row's scores do not depend on its tile.
template <int N, int64_t DimsPerLine, typename KeyAt, typename Ask>
void score_rows(const float* const* q, int64_t head_dim, float scale, float* p, KeyAt key_at, bool asking, Ask ask) {
  f32x16 acc[N][4] = {};
  for (int64_t d0 = 0; d0 < head_dim; d0 += DimsPerLine) {
    if (asking) {
      for (int c = 0; c < 4; ++c) ask(d0 / DimsPerLine, c);
    }
    for (int64_t d = d0; d < d0 + DimsPerLine; ++d) {
      f32x16 k[4];
      for (int c = 0; c < 4; ++c) k[c] = key_at(d, c);
      for (int i = 0; i < N; ++i) {
        const float qv = q[i][d];
        for (int c = 0; c < 4; ++c) acc[i][c] += qv * k[c];
      }
    }
  }
  for (int i = 0; i < N; ++i)
    for (int c = 0; c < 4; ++c) __builtin_memcpy(p + i * kBlockKeys + 16 * c, &(acc[i][c] *= scale), 64);
}

// Every row's scores: four rows a pass, then one at a time; the next block is asked for once.
template <int64_t DimsPerLine, typename KeyAt, typename Ask>
void scores(const float* const* q_rows, int64_t rows, int64_t head_dim, float scale, float* p, KeyAt key_at,
            bool asking, Ask ask) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4, asking = false)
    score_rows<4, DimsPerLine>(q_rows + r, head_dim, scale, p + r * kBlockKeys, key_at, asking, ask);
  for (; r < rows; ++r, asking = false)
    score_rows<1, DimsPerLine>(q_rows + r, head_dim, scale, p + r * kBlockKeys, key_at, asking, ask);
}

// --- Int8 scores: a q8_0 cache under --precision fast. Each query row is rounded as the
// matrix products round their activations (blocks of 32 int8 values with a scale,
// weight_format::quantize_activations_q8), so a block of 32 dimensions of a score is an
// exact integer sum of int8 products, then times the key's and the query's scales, as
// llama.cpp multiplies a q8_0 cache. Widening every key byte to f32 cost more than reading
// it: a decode step at depth 131,008 read the cache at 37% of the bandwidth.
using qwen3c::weight_format::ActivationBlock;

// 16 lanes of four key bytes (dimensions 4i..4i+3 of 16 keys) in the form key_dot4 takes.
// Sum over 4 bytes of each lane: key bytes times the query bytes broadcast from `q4`.
#if defined(__AVX512VNNI__)
// vpdpbusd multiplies unsigned by signed bytes: the keys go in with 128 added (the sign bit
// flipped), and the sum starts at -128 x the query block's sum to take it off again.
constexpr int32_t kKeyZeroPoint = 128;
inline i32x16 unsigned_keys(i32x16 k) { return k ^ static_cast<int32_t>(0x80808080u); }
inline i32x16 key_dot4(i32x16 sum, i32x16 k, int32_t q4) {
  return (i32x16)_mm512_dpbusd_epi32((__m512i)sum, (__m512i)k, _mm512_set1_epi32(q4));
}
#elif defined(__AVX2__)
// vpmaddubsw (unsigned x signed byte pairs, saturating to int16) on |k| and q with k's sign:
// exact, as |k| and |q| are at most 127 (both are rounded symmetrically).
constexpr int32_t kKeyZeroPoint = 0;
inline i32x16 unsigned_keys(i32x16 k) { return k; }
inline i32x16 key_dot4(i32x16 sum, i32x16 k, int32_t q4) {
  const __m256i q = _mm256_set1_epi32(q4), ones = _mm256_set1_epi16(1);
  __m256i half[2], s[2];
  __builtin_memcpy(half, &k, 64);
  __builtin_memcpy(s, &sum, 64);
  for (int h = 0; h < 2; ++h) {
    const __m256i products = _mm256_maddubs_epi16(_mm256_abs_epi8(half[h]), _mm256_sign_epi8(q, half[h]));
    s[h] = _mm256_add_epi32(s[h], _mm256_madd_epi16(products, ones));
  }
  __builtin_memcpy(&sum, s, 64);
  return sum;
}
#else
constexpr int32_t kKeyZeroPoint = 0;
inline i32x16 unsigned_keys(i32x16 k) { return k; }
inline i32x16 key_dot4(i32x16 sum, i32x16 k, int32_t q4) {
  const int8_t* q = reinterpret_cast<const int8_t*>(&q4);
  for (int b = 0; b < 4; ++b) sum += ((k << (24 - 8 * b)) >> 24) * int32_t(q[b]);
  return sum;
}
#endif

// The rows' queries as int8 blocks (in the tile's key scratch, which this path does not
// use: rows x head_dim / 32 blocks of 40 bytes fit in its head_dim x 64 floats).
void round_queries(const float* const* q_rows, int64_t rows, int64_t head_dim, ActivationBlock* out) {
  const int64_t blocks = head_dim / qwen3c::kKvBlock;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < blocks; ++b) {
      ActivationBlock& a = out[r * blocks + b];
      quantize_block(q_rows[r] + b * qwen3c::kKvBlock, &a);
      a.sum *= -kKeyZeroPoint;  // now where the block's integer sum starts
    }
}

// Scores of N rows (their int8 queries `q`, head_dim / 32 blocks each) against the 16-key
// blocks from `k` (the first `Present` of two; a compile-time count keeps the sums in
// registers), the lines of as many 16-position q8_0 blocks from `ahead` asked for unless
// null (the next key or value block: the scales' lines first, then one line each step,
// spread over the loads). Each row's sums run in the same order whatever N is, so a row's
// scores do not depend on its tile. FixedHeadDim: the head size when known at compile time
// (0: `head_dim`): with run-time bounds the compiler kept the loop's pointers on the stack,
// and a decoding tile's int8 scores took a third longer.
template <int N, int Present, int64_t FixedHeadDim>
void int8_scores_pair(const ActivationBlock* const* q, int64_t head_dim, float scale, const uint8_t* k, float* p,
                      const uint8_t* ahead) {
  const int64_t size = FixedHeadDim != 0 ? FixedHeadDim : head_dim;  // a constant when fixed
  const int64_t blocks = size / qwen3c::kKvBlock, quads = qwen3c::kKvBlock / 4;
  const int64_t block_bytes = kKeyBlock * kv_row_bytes(KvType::Q8_0, size);
  const int64_t value_lines = kKeyBlock * size / 64, lines = (block_bytes + 63) / 64;
  if (ahead != nullptr) {  // the scales' lines now, the values' a line each step below
    for (int c = 0; c < Present; ++c)
      for (int64_t line = value_lines; line < lines; ++line) prefetch_line(ahead + c * block_bytes + line * 64);
  }
  f32x16 total[N][Present] = {};
  for (int64_t b = 0; b < blocks; ++b) {
    i32x16 acc[N][Present];
    for (int i = 0; i < N; ++i)
      for (int c = 0; c < Present; ++c) acc[i][c] = i32x16{} + q[i][b].sum;
    for (int64_t quad = 0; quad < quads; ++quad) {
      const int64_t at = (b * quads + quad) * 64;
      for (int c = 0; c < Present; ++c) {
        if (ahead != nullptr) prefetch_line(ahead + c * block_bytes + at);
        i32x16 keys;
        __builtin_memcpy(&keys, k + c * block_bytes + at, 64);
        keys = unsigned_keys(keys);
        for (int i = 0; i < N; ++i) {
          int32_t q4;
          __builtin_memcpy(&q4, q[i][b].q + 4 * quad, 4);
          acc[i][c] = key_dot4(acc[i][c], keys, q4);
        }
      }
    }
    for (int c = 0; c < Present; ++c) {
      f16x16 half_scales;
      __builtin_memcpy(&half_scales, k + c * block_bytes + q8_scale_offset(size, 0, 32 * b), sizeof half_scales);
      const f32x16 key_scales = __builtin_convertvector(half_scales, f32x16);
      for (int i = 0; i < N; ++i)
        total[i][c] += __builtin_convertvector(acc[i][c], f32x16) * (key_scales * q[i][b].scale);
    }
  }
  for (int i = 0; i < N; ++i)
    for (int c = 0; c < 2; ++c) {
      const f32x16 x = c < Present ? total[i][c] * scale : f32x16{};
      __builtin_memcpy(p + i * kBlockKeys + 16 * c, &x, 64);
    }
}

// int8_scores_pair for Qwen3's head size (every model of the family: 128) or any other.
template <int N, int Present>
void int8_scores_any(const ActivationBlock* const* q, int64_t head_dim, float scale, const uint8_t* k, float* p,
                     const uint8_t* ahead) {
  if (head_dim == 128) return int8_scores_pair<N, Present, 128>(q, head_dim, scale, k, p, ahead);
  int8_scores_pair<N, Present, 0>(q, head_dim, scale, k, p, ahead);
}

// The block's scores from int8 queries (round_queries) and the q8_0 keys as stored; the
// lines of a block's bytes from `ahead_of_block` asked for meanwhile (or null: none).
void int8_block_scores(Tile& tile, int64_t rows, const uint8_t* k, int64_t keys, int64_t head_dim, float scale,
                       const uint8_t* ahead_of_block) {
  const int64_t block_bytes = kKeyBlock * kv_row_bytes(KvType::Q8_0, head_dim);
  const int64_t key_blocks = (keys + kKeyBlock - 1) / kKeyBlock, blocks = head_dim / qwen3c::kKvBlock;
  const ActivationBlock* queries = reinterpret_cast<const ActivationBlock*>(tile.keys_t);
  for (int64_t c0 = 0; c0 < kBlockKeys / kKeyBlock; c0 += 2) {
    const int present = key_blocks - c0 >= 2 ? 2 : static_cast<int>(key_blocks - c0 > 0 ? key_blocks - c0 : 0);
    const uint8_t* kc = k + c0 * block_bytes;
    const uint8_t* ahead = ahead_of_block != nullptr ? ahead_of_block + c0 * block_bytes : nullptr;
    float* pc = tile.p + 16 * c0;
    int64_t r = 0;
    const ActivationBlock* q[4];
    auto rows_of = [&]<int N>() {
      for (int i = 0; i < N; ++i) q[i] = queries + (r + i) * blocks;
      float* pr = pc + r * kBlockKeys;
      if (present == 2) int8_scores_any<N, 2>(q, head_dim, scale, kc, pr, ahead);
      else if (present == 1) int8_scores_any<N, 1>(q, head_dim, scale, kc, pr, ahead);
      else for (int i = 0; i < N; ++i) __builtin_memset(pr + i * kBlockKeys, 0, 2 * 64);
      ahead = nullptr;  // asked for once
      r += N;
    };
    while (r + 4 <= rows) rows_of.template operator()<4>();
    while (r < rows) rows_of.template operator()<1>();
  }
}

// The block's scores, reading its keys (the head's key blocks from `k` on, `keys` of them)
// either widened once into keys_t, which a prompt tile's many rows then share, or straight
// from the cache for a few rows (a decoding tile), where widening would cost more stores
// than it saves conversions. Same products in the same order: the same scores either way.
// k_ahead (or null): the next block's keys, asked for while this block's are read, a line of
// each key block every dimension (f32) or every other one (16-bit elements; q8_0 has fewer
// lines than that).
template <KvType T>
void block_scores(Tile& tile, const float* const* q_rows, int64_t rows, const uint8_t* k, int64_t keys,
                  int64_t head_dim, float scale, const uint8_t* k_ahead) {
  const auto nothing_ahead = [](int64_t, int) {};
  if (rows > kFewRows) {
    widen_keys<T>(k, keys, head_dim, tile.keys_t);
    const auto widened = [&](int64_t d, int c) { return load16(tile.keys_t + d * kBlockKeys + 16 * c); };
    return scores<1>(q_rows, rows, head_dim, scale, tile.p, widened, false, nothing_ahead);
  }
  constexpr int64_t kDimsPerLine = T == KvType::F32 ? 1 : 2;
  const int64_t block_bytes = kKeyBlock * kv_row_bytes(T, head_dim), lines = block_bytes / 64;
  const int64_t blocks = (keys + kKeyBlock - 1) / kKeyBlock;
  if constexpr (T != KvType::Q8_0) {
    // A full block (every block of a decoding row but its last): no checks in the loop, as
    // they cost a decoding tile as much as its loads. A dimension of 16 keys is half a line
    // (a line, f32), so a line a request.
    constexpr int64_t kDimBytes = kKeyBlock * kv_row_bytes(T, 1);
    static_assert(kDimBytes * kDimsPerLine == 64, "one line every kDimsPerLine dimensions");
    if (blocks == kBlockKeys / kKeyBlock) {
      const auto from_cache = [&](int64_t d, int c) { return widen16<T>(k + c * block_bytes + d * kDimBytes); };
      const auto ask = [&](int64_t line, int c) { prefetch_line(k_ahead + c * block_bytes + line * 64); };
      return scores<kDimsPerLine>(q_rows, rows, head_dim, scale, tile.p, from_cache, k_ahead != nullptr, ask);
    }
  }
  // A partial block, or q8_0 keys widened to f32 (--precision f32). Lanes past `keys` hold
  // whatever the cache holds there (or zero past the last block); the softmax masks them out.
  const auto any_key = [&](int64_t d, int c) {
    return c < blocks ? key_load16<T>(k + c * block_bytes, head_dim, d) : f32x16{};
  };
  const auto ask = [&](int64_t line, int c) {
    if (line < lines) prefetch_line(k_ahead + c * block_bytes + line * 64);
  };
  scores<kDimsPerLine>(q_rows, rows, head_dim, scale, tile.p, any_key, k_ahead != nullptr, ask);
}

// One row's step of the online softmax over a block: its scores (tile.p row r) become
// exp(score - m) for the row's first n keys and 0 past them, with m the running maximum; the
// running sum and the output so far are rescaled to the new maximum. A block whose keys the
// row sees in full (every block of a decoding row but the last) needs no masks.
inline void online_softmax(Tile& tile, int64_t r, int64_t head_dim, int64_t n) {
  float* p = tile.p + r * kBlockKeys;
  static_assert(kBlockKeys == 64, "four vectors a row");
  f32x16 x[4];
  for (int c = 0; c < 4; ++c)
    x[c] = n >= kBlockKeys ? load16(p + 16 * c) : keep_below(load16(p + 16 * c), 16 * c, n, -INFINITY);
  const float m = max_of(tile.m[r], max_lane(x));
  const float alpha = exp_approx(tile.m[r] - m);
  for (int c = 0; c < 4; ++c) {
    x[c] = exp16(x[c] - m);
    if (n < kBlockKeys) x[c] = keep_below(x[c], 16 * c, n, 0.0f);
    __builtin_memcpy(p + 16 * c, &x[c], 64);
  }
  tile.l[r] = tile.l[r] * alpha + sum_lanes((x[0] + x[1]) + (x[2] + x[3]));
  tile.m[r] = m;
  if (alpha != 1.0f) {
    for (int64_t d = 0; d < head_dim; ++d) tile.o[r * head_dim + d] *= alpha;
  }
}

// o[r0 + i] += sum_j p[r0 + i][j] v_j (i < N) over the block's `keys` keys; the head's value
// rows from `v`. Four vectors of the head at a time, so each value vector is widened once
// for N rows and the N x 4 sums stay in registers.
// v_ahead (or null): the next block's value rows, asked for while this block's are read:
// each pass (64 elements of the head) asks for its share of every row ahead, row by row.
template <KvType T, int64_t HeadDim, int N>
void accumulate_rows(const float* p, int64_t r0, const uint8_t* v, int64_t keys, float* o, const uint8_t* v_ahead) {
  constexpr int64_t stride = kv_row_bytes(T, HeadDim), passes = HeadDim / 64;
  constexpr int64_t share = (stride + passes - 1) / passes;  // bytes of a row a pass asks for
  for (int64_t c0 = 0; c0 < HeadDim / 16; c0 += 4) {
    f32x16 acc[N][4];
    for (int i = 0; i < N; ++i)
      for (int64_t c = 0; c < 4; ++c) acc[i][c] = load16(o + (r0 + i) * HeadDim + 16 * (c0 + c));
    for (int64_t j = 0; j < keys; ++j) {
      if (v_ahead != nullptr) {
        const uint8_t* row = v_ahead + j * stride + c0 / 4 * share;
        for (int64_t at = 0; at < share; at += 64) prefetch_line(row + at);
      }
      f32x16 vj[4];
      for (int64_t c = 0; c < 4; ++c) vj[c] = value_load16<T>(v, HeadDim, j, 16 * (c0 + c));
      for (int i = 0; i < N; ++i) {
        const float pij = p[(r0 + i) * kBlockKeys + j];
        for (int64_t c = 0; c < 4; ++c) acc[i][c] += pij * vj[c];
      }
    }
    for (int i = 0; i < N; ++i)
      for (int64_t c = 0; c < 4; ++c) __builtin_memcpy(o + (r0 + i) * HeadDim + 16 * (c0 + c), &acc[i][c], 64);
  }
}

// --- Int16 value sums: a q8_0 cache under --precision fast. A row's weights for a block of
// keys, p_j x s_j (probability times the value's scale, for each block of 32 dimensions),
// are rounded to 15-bit integers in steps of the largest / 32767, so that the sum over the
// block's keys of weight x int8 value is exact in int32 (64 x 32767 x 127 < 2^31), then
// times the step once. The weights' rounding (half a step in 32767 of the block's largest
// weight) is far below the cache's own (half a step in 127 of each value's block). Two keys
// a dot product (value_store's pairs), where widening each value to f32 and scaling it cost
// twice the multiplies and was most of a decoding tile's time.

typedef int16_t i16x32 __attribute__((vector_size(64)));

// 16 lanes of two int16 values (dimension i of the pair's two keys), from 32 stored bytes.
inline i32x16 widen_pairs(const uint8_t* at) {
  typedef int8_t i8x32 __attribute__((vector_size(32)));
  i8x32 bytes;
  __builtin_memcpy(&bytes, at, sizeof bytes);
  const i16x32 wide = __builtin_convertvector(bytes, i16x32);
  i32x16 pairs;
  __builtin_memcpy(&pairs, &wide, sizeof pairs);
  return pairs;
}

// sum + the lanes' two int16 values times the two int16 weights in w2 (first key low).
#if defined(__AVX512VNNI__)
inline i32x16 pair_dot(i32x16 sum, i32x16 pairs, int32_t w2) {
  return (i32x16)_mm512_dpwssd_epi32((__m512i)sum, (__m512i)pairs, _mm512_set1_epi32(w2));
}
#elif defined(__AVX512BW__)
inline i32x16 pair_dot(i32x16 sum, i32x16 pairs, int32_t w2) {
  return sum + (i32x16)_mm512_madd_epi16((__m512i)pairs, _mm512_set1_epi32(w2));
}
#elif defined(__AVX2__)
inline i32x16 pair_dot(i32x16 sum, i32x16 pairs, int32_t w2) {
  __m256i half[2], s[2];
  __builtin_memcpy(half, &pairs, 64);
  __builtin_memcpy(s, &sum, 64);
  for (int h = 0; h < 2; ++h) s[h] = _mm256_add_epi32(s[h], _mm256_madd_epi16(half[h], _mm256_set1_epi32(w2)));
  __builtin_memcpy(&sum, s, 64);
  return sum;
}
#else
inline i32x16 pair_dot(i32x16 sum, i32x16 pairs, int32_t w2) {
  const int32_t low = static_cast<int16_t>(w2 & 0xffff), high = w2 >> 16;
  return sum + ((pairs << 16) >> 16) * low + (pairs >> 16) * high;
}
#endif

// The nearest integers (ties to even, on every tier).
#if defined(__AVX512F__)
inline i32x16 round_to_int(f32x16 x) { return (i32x16)_mm512_cvtps_epi32((__m512)x); }
#else
inline i32x16 round_to_int(f32x16 x) { return __builtin_convertvector(__builtin_elementwise_roundeven(x), i32x16); }
#endif

// The low 16 bits of a's lanes, then of b's.
inline i16x32 low_halves(i32x16 a, i32x16 b) {
  i16x32 x, y;
  __builtin_memcpy(&x, &a, 64);
  __builtin_memcpy(&y, &b, 64);
  return __builtin_shufflevector(x, y, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40,
                                 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62);
}

// o[r0 + i] += sum_j p[r0 + i][j] v_j (i < N) over the block's `keys` keys, the q8_0 values
// from `v` (value_store's blocks) as int16 dot products; v_ahead: a block's bytes to ask for
// (the next values or, with integer products, the next keys: the same bytes), as in
// accumulate_rows.
template <int64_t HeadDim, int N>
void int16_value_rows(const float* p, int64_t r0, const uint8_t* v, int64_t keys, float* o, const uint8_t* v_ahead) {
  constexpr int64_t kScaleBlocks = HeadDim / qwen3c::kKvBlock, kPasses = HeadDim / 64;
  constexpr int64_t stride = kv_row_bytes(KvType::Q8_0, HeadDim), block_bytes = kKeyBlock * stride;
  constexpr int64_t share = (stride + kPasses - 1) / kPasses;
  static_assert(kBlockKeys == 4 * kKeyBlock, "four value blocks a tile block");
  const int64_t key_blocks = (keys + kKeyBlock - 1) / kKeyBlock;
  // The values' scales (zero past `keys`: past there the cache holds anything).
  f32x16 scales[kScaleBlocks][4];
  for (int64_t b = 0; b < kScaleBlocks; ++b) {
    for (int64_t c = 0; c < 4; ++c) {
      f16x16 half;
      if (c < key_blocks) __builtin_memcpy(&half, v + c * block_bytes + q8_scale_offset(HeadDim, 0, 32 * b), 32);
      scales[b][c] = c < key_blocks ? keep_below(__builtin_convertvector(half, f32x16), 16 * c, keys, 0.0f) : f32x16{};
    }
  }
  // Each row's weights p_j x s_j, [b][key], in steps of its largest / 32767, and the step:
  // from what the row sees alone (its probabilities are 0 past its own keys), so that it
  // gets the same sums whatever rows share its tile.
  i16x32 weights[N][kScaleBlocks][2];
  float step[N][kScaleBlocks];
  for (int i = 0; i < N; ++i) {
    f32x16 x[4];
    for (int c = 0; c < 4; ++c) x[c] = load16(p + (r0 + i) * kBlockKeys + 16 * c);
    for (int64_t b = 0; b < kScaleBlocks; ++b) {
      f32x16 w[4];
      for (int c = 0; c < 4; ++c) w[c] = x[c] * scales[b][c];
      const float largest = max_lane(w);
      const float to_steps = largest > 0 ? 32767.0f / largest : 0.0f;
      step[i][b] = largest / 32767.0f;
      for (int c = 0; c < 4; c += 2)  // each at most 32767
        weights[i][b][c / 2] = low_halves(round_to_int(w[c] * to_steps), round_to_int(w[c + 1] * to_steps));
    }
  }
  for (int64_t c0 = 0; c0 < HeadDim / 16; c0 += 4) {  // a pass: 64 dimensions, two scale blocks
    i32x16 acc[N][4] = {};
    for (int64_t pair = 0; pair < (keys + 1) / 2; ++pair) {
      if (v_ahead != nullptr) {
        for (int64_t j = 2 * pair; j < 2 * pair + 2; ++j)
          for (int64_t at = 0; at < share; at += 64) prefetch_line(v_ahead + j * stride + c0 / 4 * share + at);
      }
      const uint8_t* at = v + pair / (kKeyBlock / 2) * block_bytes + pair % (kKeyBlock / 2) * 2 * HeadDim + 32 * c0;
      i32x16 values[4];
      for (int64_t c = 0; c < 4; ++c) values[c] = widen_pairs(at + 32 * c);
      for (int i = 0; i < N; ++i) {
        for (int64_t c = 0; c < 4; ++c) {
          const int64_t b = (c0 + c) / 2;
          int32_t w2;
          __builtin_memcpy(&w2, reinterpret_cast<const int16_t*>(weights[i][b]) + 2 * pair, 4);
          acc[i][c] = pair_dot(acc[i][c], values[c], w2);
        }
      }
    }
    for (int i = 0; i < N; ++i) {
      for (int64_t c = 0; c < 4; ++c) {
        float* out = o + (r0 + i) * HeadDim + 16 * (c0 + c);
        const f32x16 sum = load16(out) + __builtin_convertvector(acc[i][c], f32x16) * step[i][(c0 + c) / 2];
        __builtin_memcpy(out, &sum, 64);
      }
    }
  }
}

// Every row's sums run in the same order whatever rows share its tile, so a token's output
// does not depend on how a step grouped the rows (batched and single sequences agree).
// Int16: the q8_0 values' int16 sums (--precision fast) instead of f32 ones.
template <KvType T, int64_t HeadDim, bool Int16>
void accumulate(const float* p, int64_t rows, const uint8_t* v, int64_t keys, float* o, const uint8_t* v_ahead) {
  int64_t r0 = 0;
  auto rows_of = [&]<int N>() {
    if constexpr (Int16) int16_value_rows<HeadDim, N>(p, r0, v, keys, o, v_ahead);
    else accumulate_rows<T, HeadDim, N>(p, r0, v, keys, o, v_ahead);
    v_ahead = nullptr;  // the rows ahead are asked for once
    r0 += N;
  };
  while (r0 + 4 <= rows) rows_of.template operator()<4>();
  switch (rows - r0) {
    case 3: return rows_of.template operator()<3>();
    case 2: return rows_of.template operator()<2>();
    case 1: return rows_of.template operator()<1>();
    default: return;
  }
}

template <KvType T>
void accumulate_any(const float* p, int64_t rows, const uint8_t* v, int64_t keys, int64_t head_dim, float* o,
                    const uint8_t* v_ahead, bool int16_values) {
  if constexpr (T == KvType::Q8_0) {
    if (int16_values) {
      switch (head_dim) {
        case 64: return accumulate<T, 64, true>(p, rows, v, keys, o, v_ahead);
        case 128: return accumulate<T, 128, true>(p, rows, v, keys, o, v_ahead);
        case 256: return accumulate<T, 256, true>(p, rows, v, keys, o, v_ahead);
        default: break;  // the f32 loop below
      }
    }
  }
  switch (head_dim) {
    case 64: return accumulate<T, 64, false>(p, rows, v, keys, o, v_ahead);
    case 128: return accumulate<T, 128, false>(p, rows, v, keys, o, v_ahead);
    case 256: return accumulate<T, 256, false>(p, rows, v, keys, o, v_ahead);
    default: {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < keys; ++j)
          for (int64_t d = 0; d < head_dim; ++d)
            o[r * head_dim + d] += p[r * kBlockKeys + j] * value_load1<T>(v, head_dim, j, d);
    }
  }
}

// The query tiles: runs of at most kBlockTokens consecutive rows of one sequence (a
// prompt chunk makes full tiles, a decoding sequence a tile of one row). Calls
// visit(t0, count) for each, in order.
template <typename Visit>
void for_each_tile(const int64_t* slots, int64_t tokens, Visit visit) {
  int64_t t0 = 0;
  while (t0 < tokens) {
    int64_t count = 1;
    while (count < kBlockTokens && t0 + count < tokens && slots[t0 + count] == slots[t0]) ++count;
    visit(t0, count);
    t0 += count;
  }
}

// Query tile (rows t0..t0 + block_tokens - 1, one sequence) of KV head kvh over every key
// its rows see; k_head / v_head: that head's cache rows in the sequence; k_then / v_then:
// the cache rows of the head this thread attends to next (null: none).
// integer_products: the q8_0 cache's scores as int8 dot products (int8_block_scores) and its
// value sums as int16 ones (int16_value_rows).
template <KvType T>
void attend_tile(Tile& tile, const float* q, const int64_t* positions, int64_t t0, int64_t block_tokens,
                 int64_t kvh, const uint8_t* k_head, const uint8_t* v_head, const uint8_t* k_then,
                 const uint8_t* v_then, int64_t heads, int64_t kv_heads, int64_t head_dim, float scale,
                 bool integer_products, float* out) {
  const int64_t group = heads / kv_heads, row_bytes = kv_row_bytes(T, head_dim);
  const float* q_rows[kMaxRows];
  const int64_t rows = block_tokens * group;  // row r: token t0 + r / group, head kvh * group + r % group
  const bool decoding = block_tokens == 1;
  for (int64_t r = 0; r < rows; ++r) {
    q_rows[r] = q + (t0 + r / group) * heads * head_dim + (kvh * group + r % group) * head_dim;
    tile.m[r] = -INFINITY;
    tile.l[r] = 0;
  }
  for (int64_t i = 0; i < rows * head_dim; ++i) tile.o[i] = 0;
  integer_products = integer_products && T == KvType::Q8_0;
  if (integer_products) round_queries(q_rows, rows, head_dim, reinterpret_cast<ActivationBlock*>(tile.keys_t));
  int64_t last_key = 0;  // the tile's rows see up to here
  for (int64_t t = t0; t < t0 + block_tokens; ++t) last_key = positions[t] > last_key ? positions[t] : last_key;
  for (int64_t j0 = 0; j0 <= last_key; j0 += kBlockKeys) {
    const int64_t keys = last_key + 1 - j0 < kBlockKeys ? last_key + 1 - j0 : kBlockKeys;
    // A decoding tile asks for the next block's keys and values while it reads these, a
    // line at a time over its loads. With integer products the scores ask for the next
    // values and the value sums for the next keys (a q8_0 key block and value block have
    // the same bytes): the decode attention of Qwen3-4B from memory ran 7-21% faster so
    // on one thread, 4-16% on two (AMD Zen 5), where the f16 cache's f32 products lost
    // 7-24% (BENCHMARKS.md, twentieth session).
    // The last block asks for the first block of the head attended to next: at a few
    // hundred positions (a server's sequences) most of a tile's blocks are its first.
    const bool last = j0 + kBlockKeys > last_key;
    const uint8_t* next_keys = !decoding ? nullptr : last ? k_then : k_head + (j0 + kBlockKeys) * row_bytes;
    const uint8_t* next_values = !decoding ? nullptr : last ? v_then : v_head + (j0 + kBlockKeys) * row_bytes;
    const uint8_t* ask_while_scoring = integer_products ? next_values : next_keys;
    const uint8_t* ask_while_summing = integer_products ? next_keys : next_values;
    if (integer_products) {
      int8_block_scores(tile, rows, k_head + j0 * row_bytes, keys, head_dim, scale, ask_while_scoring);
    } else {
      block_scores<T>(tile, q_rows, rows, k_head + j0 * row_bytes, keys, head_dim, scale, ask_while_scoring);
    }
    // The online softmax: keys past a row's own position are masked out.
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t visible = positions[t0 + r / group] - j0 + 1;  // keys of this block the row sees
      online_softmax(tile, r, head_dim, visible < keys ? visible : keys);
    }
    accumulate_any<T>(tile.p, rows, v_head + j0 * row_bytes, keys, head_dim, tile.o, ask_while_summing,
                      integer_products);
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* o = out + (t0 + r / group) * heads * head_dim + (kvh * group + r % group) * head_dim;
    const float inv = 1.0f / tile.l[r];
    for (int64_t d = 0; d < head_dim; ++d) o[d] = tile.o[r * head_dim + d] * inv;
  }
}

}  // namespace

void flash_attention(const float* q, const int64_t* positions, const int64_t* slots, int64_t tokens,
                     const uint8_t* const* k_cache, const uint8_t* const* v_cache, int64_t kv_type, int64_t heads,
                     int64_t kv_heads, int64_t head_dim, float scale, bool integer_products, float* scratch, float* out,
                     int64_t thread, int64_t threads) {
  Tile tile{scratch, scratch + head_dim * kBlockKeys, nullptr, nullptr, nullptr};
  tile.o = tile.p + kMaxRows * kBlockKeys;
  tile.m = tile.o + kMaxRows * head_dim;
  tile.l = tile.m + kMaxRows;
  // Work units: (tile, KV head) pairs, split evenly between the threads.
  int64_t tiles = 0;
  for_each_tile(slots, tokens, [&](int64_t, int64_t) { ++tiles; });
  const Range units = share(kv_heads * tiles, thread, threads);
  int64_t tile_index = 0;
  for_each_tile(slots, tokens, [&](int64_t t0, int64_t block_tokens) {
    for (int64_t kvh = 0; kvh < kv_heads; ++kvh) {
      const int64_t u = tile_index * kv_heads + kvh;
      if (u < units.begin || u >= units.end) continue;
      // The thread's next unit: this tile's next KV head, or the next tile's (the next run
      // of rows) first.
      int64_t then = -1;
      if (u + 1 < units.end) {
        then = kvh + 1 < kv_heads ? slots[t0] * kv_heads + kvh + 1 : slots[t0 + block_tokens] * kv_heads;
      }
      with_kv_type(kv_type, [&]<KvType T>() {
        const int64_t head = slots[t0] * kv_heads + kvh;
        attend_tile<T>(tile, q, positions, t0, block_tokens, kvh, k_cache[head], v_cache[head],
                       then < 0 ? nullptr : k_cache[then], then < 0 ? nullptr : v_cache[then], heads, kv_heads,
                       head_dim, scale, integer_products, out);
      });
    }
    ++tile_index;
  });
}

}  // namespace q3k
