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

#include "flash_attention.h"
#include "kernel_abi.h"
#include "kv_cache.h"

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

// A decoding tile does little arithmetic per byte it reads, and one core's hardware
// prefetcher keeps too few lines in flight for its streams: while it computes one block, it
// asks for the next block's keys and values into L2, a line at a time between its loads
// (a burst of a whole block's requests at once fills the core's miss buffers and stalls
// the loads it needs now). Past the cache's end the hints are dropped (prefetches never
// fault).
inline void prefetch_line(const uint8_t* p) { __builtin_prefetch(p, 0, 2); }

// p[r][0..64) = scale * q_r . k_j for the block's keys (4 rows a step, 64 keys in 4 vectors);
// key_at(d, c): dimension d of keys 16c..16c+15 as a vector.
template <typename KeyAt>
void scores(const float* const* q_rows, int64_t rows, int64_t head_dim, float scale, float* p, KeyAt key_at) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    f32x16 acc[4][4] = {};
    for (int64_t d = 0; d < head_dim; ++d) {
      f32x16 k[4];
      for (int c = 0; c < 4; ++c) k[c] = key_at(d, c);
      for (int i = 0; i < 4; ++i) {
        const float qv = q_rows[r + i][d];
        for (int c = 0; c < 4; ++c) acc[i][c] += qv * k[c];
      }
    }
    for (int i = 0; i < 4; ++i)
      for (int c = 0; c < 4; ++c) __builtin_memcpy(p + (r + i) * kBlockKeys + 16 * c, &(acc[i][c] *= scale), 64);
  }
  for (; r < rows; ++r) {
    f32x16 acc[4] = {};
    for (int64_t d = 0; d < head_dim; ++d) {
      const float qv = q_rows[r][d];
      for (int c = 0; c < 4; ++c) acc[c] += qv * key_at(d, c);
    }
    for (int c = 0; c < 4; ++c) __builtin_memcpy(p + r * kBlockKeys + 16 * c, &(acc[c] *= scale), 64);
  }
}

// The block's scores, reading its keys (the head's key blocks from `k` on, `keys` of them)
// either widened once into keys_t, which a prompt tile's many rows then share, or straight
// from the cache for a few rows (a decoding tile), where widening would cost more stores
// than it saves conversions. Same products in the same order: the same scores either way.
template <KvType T>
void block_scores(Tile& tile, const float* const* q_rows, int64_t rows, const uint8_t* k, int64_t keys,
                  int64_t head_dim, float scale, const uint8_t* k_ahead) {
  if (rows > kFewRows) {
    widen_keys<T>(k, keys, head_dim, tile.keys_t);
    scores(q_rows, rows, head_dim, scale, tile.p,
           [&](int64_t d, int c) { return load16(tile.keys_t + d * kBlockKeys + 16 * c); });
    return;
  }
  // Lanes past `keys` hold whatever the cache holds there (or zero past the last block);
  // the softmax masks them out.
  const int64_t block_bytes = kKeyBlock * kv_row_bytes(T, head_dim);
  const int64_t blocks = (keys + kKeyBlock - 1) / kKeyBlock;
  // k_ahead: the next block's keys, asked for while this block's are read, a line of each
  // key block every dimension (f32) or every other one (a key block is head_dim / 4 lines
  // of 16-bit elements, fewer of q8_0), so that the requests go out evenly, not in a burst.
  constexpr int64_t kShift = T == KvType::F32 ? 0 : 1;
  const int64_t lines = block_bytes / 64;
  scores(q_rows, rows, head_dim, scale, tile.p, [&](int64_t d, int c) {
    if (k_ahead != nullptr && (d & ((1 << kShift) - 1)) == 0 && (d >> kShift) < lines) {
      prefetch_line(k_ahead + c * block_bytes + (d >> kShift) * 64);
    }
    return c < blocks ? key_load16<T>(k + c * block_bytes, head_dim, d) : f32x16{};
  });
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
      for (int64_t c = 0; c < 4; ++c) vj[c] = kv_load16<T>(v + j * stride, HeadDim, 16 * (c0 + c));
      for (int i = 0; i < N; ++i) {
        const float pij = p[(r0 + i) * kBlockKeys + j];
        for (int64_t c = 0; c < 4; ++c) acc[i][c] += pij * vj[c];
      }
    }
    for (int i = 0; i < N; ++i)
      for (int64_t c = 0; c < 4; ++c) __builtin_memcpy(o + (r0 + i) * HeadDim + 16 * (c0 + c), &acc[i][c], 64);
  }
}

// Every row's sums run in the same order whatever rows share its tile, so a token's output
// does not depend on how a step grouped the rows (batched and single sequences agree).
template <KvType T, int64_t HeadDim>
void accumulate(const float* p, int64_t rows, const uint8_t* v, int64_t keys, float* o, const uint8_t* v_ahead) {
  int64_t r0 = 0;
  for (; r0 + 4 <= rows; r0 += 4) {
    accumulate_rows<T, HeadDim, 4>(p, r0, v, keys, o, v_ahead);
    v_ahead = nullptr;  // the rows ahead are asked for once
  }
  switch (rows - r0) {
    case 3: return accumulate_rows<T, HeadDim, 3>(p, r0, v, keys, o, v_ahead);
    case 2: return accumulate_rows<T, HeadDim, 2>(p, r0, v, keys, o, v_ahead);
    case 1: return accumulate_rows<T, HeadDim, 1>(p, r0, v, keys, o, v_ahead);
    default: return;
  }
}

template <KvType T>
void accumulate_any(const float* p, int64_t rows, const uint8_t* v, int64_t keys, int64_t head_dim, float* o,
                    const uint8_t* v_ahead) {
  switch (head_dim) {
    case 64: return accumulate<T, 64>(p, rows, v, keys, o, v_ahead);
    case 128: return accumulate<T, 128>(p, rows, v, keys, o, v_ahead);
    case 256: return accumulate<T, 256>(p, rows, v, keys, o, v_ahead);
    default: {
      const int64_t v_stride = kv_row_bytes(T, head_dim);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < keys; ++j)
          for (int64_t d = 0; d < head_dim; ++d)
            o[r * head_dim + d] += p[r * kBlockKeys + j] * kv_load1<T>(v + j * v_stride, head_dim, d);
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
// its rows see; k_head / v_head: that head's cache rows in the sequence.
template <KvType T>
void attend_tile(Tile& tile, const float* q, const int64_t* positions, int64_t t0, int64_t block_tokens,
                 int64_t kvh, const uint8_t* k_head, const uint8_t* v_head, int64_t heads, int64_t kv_heads,
                 int64_t head_dim, float scale, float* out) {
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
  int64_t last_key = 0;  // the tile's rows see up to here
  for (int64_t t = t0; t < t0 + block_tokens; ++t) last_key = positions[t] > last_key ? positions[t] : last_key;
  for (int64_t j0 = 0; j0 <= last_key; j0 += kBlockKeys) {
    const int64_t keys = last_key + 1 - j0 < kBlockKeys ? last_key + 1 - j0 : kBlockKeys;
    // A decoding tile asks for the next block's keys and values while it reads these.
    const uint8_t* k_ahead = decoding ? k_head + (j0 + kBlockKeys) * row_bytes : nullptr;
    const uint8_t* v_ahead = decoding ? v_head + (j0 + kBlockKeys) * row_bytes : nullptr;
    block_scores<T>(tile, q_rows, rows, k_head + j0 * row_bytes, keys, head_dim, scale, k_ahead);
    // The online softmax: keys past a row's own position are masked out.
    for (int64_t r = 0; r < rows; ++r) {
      float* p = tile.p + r * kBlockKeys;
      const int64_t visible = positions[t0 + r / group] - j0 + 1;  // keys of this block the row sees
      const int64_t n = visible < keys ? visible : keys;
      f32x16 mv = f32x16{} + tile.m[r];
      for (int64_t c = 0; c < kBlockKeys; c += 16) mv = __builtin_elementwise_max(mv, keep_below(load16(p + c), c, n, -INFINITY));
      const float m = __builtin_reduce_max(mv);
      const float alpha = exp_approx(tile.m[r] - m);
      f32x16 sums = {};
      for (int64_t c = 0; c < kBlockKeys; c += 16) {
        const f32x16 x = keep_below(exp16(load16(p + c) - m), c, n, 0.0f);
        sums += x;
        __builtin_memcpy(p + c, &x, 64);
      }
      const float sum = reduce(sums);
      tile.l[r] = tile.l[r] * alpha + sum;
      tile.m[r] = m;
      if (alpha != 1.0f) {
        for (int64_t d = 0; d < head_dim; ++d) tile.o[r * head_dim + d] *= alpha;
      }
    }
    accumulate_any<T>(tile.p, rows, v_head + j0 * row_bytes, keys, head_dim, tile.o, v_ahead);
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
                     int64_t kv_heads, int64_t head_dim, float scale, float* scratch, float* out, int64_t thread,
                     int64_t threads) {
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
      with_kv_type(kv_type, [&]<KvType T>() {
        const int64_t head = slots[t0] * kv_heads + kvh;
        attend_tile<T>(tile, q, positions, t0, block_tokens, kvh, k_cache[head], v_cache[head], heads,
                       kv_heads, head_dim, scale, out);
      });
    }
    ++tile_index;
  });
}

}  // namespace q3k
