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
// Threads split the output rows in whole groups of 16; a tile is Mr tokens by Gr groups of
// accumulators: Mr = 4 for prefill, 8 for batched decode and 1 for decode (where Gr = 4
// groups keep four independent chains in flight).
//
// The parts: packed_tiles.h (the vector tiles), prepared_activations.h (the activations in
// the form the tiles multiply), amx_matmul.h (the amx tier's prefill tiles); this file
// drives them over a thread's share of the rows and defines the kernels.
#include <math.h>

#include "amx_matmul.h"
#include "kernel_entry_points.h"
#include "packed_tiles.h"
#include "prepared_activations.h"

namespace {

#if defined(Q3_HAS_AMX)
constexpr bool kAmx = true;
#else
constexpr bool kAmx = false;
#endif
// Steps of this many tokens or more run cache-blocked; shorter ones (decode, batched or
// not) stream each weight once, 8 tokens a tile (measured, Qwen3-4B q4_0: 16 sequences
// decode at 57.7 tokens/s streamed, 48.8 blocked).
constexpr int64_t kBlockedTokens = 32;
// Groups of weights a tile takes (gated: two gate and up pairs).
constexpr int kTileGroups = 4;
// Output groups a tile covers: gated tiles hold each output group's gate and up groups.
constexpr int tile_outputs(bool gated) { return gated ? kTileGroups / 2 : kTileGroups; }
// Output groups a batched decode tile (8 tokens x 2 groups) covers: one gate and up pair, or two groups.
constexpr int tile8_outputs(bool gated) { return tile_outputs(gated) / 2; }

//===----------------------------------------------------------------------===//
// Drivers: tiles over this thread's groups and all tokens, results to the output.
//===----------------------------------------------------------------------===//

// Inputs a cache block of the weights spans: Gr groups of it stay in L1 (48 KB on the
// machines seen) while every token block of the step runs over them.
template <Kind K>
constexpr int64_t cache_block_inputs() {
  if constexpr (K == Kind::Bf16F32 || K == Kind::Bf16Dot) return 256;  // 4 groups: 32 KB
  else if constexpr (K == Kind::Q4F32 || K == Kind::Q4Int8) return 1024;  // 4 groups: 36 KB
  else return 512;                                                        // q8_0, 4 groups: 34 KB
}

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

  // A chunk: `count` groups g0, g0 + stride, ... (plain), or `count` gate groups and their up groups.
  template <int Gr>
  int chunk(int64_t g0, int count, const uint8_t** w, int64_t* rows, int64_t stride = 1) const {
    for (int i = 0; i < count; ++i) {
      w[i] = m.group(g0 + i * stride);
      rows[i] = m.group_rows(g0 + i * stride);
      if (gated) {
        w[count + i] = up.group(g0 + i * stride);
        rows[count + i] = up.group_rows(g0 + i * stride);
      }
    }
    return gated ? 2 * count : count;
  }

  // A whole group's 16 rows in one vector (the SiLU's exponentials and divisions included:
  // scalar, they took 2-9% of a decode step's SwiGLU product); the lanes of a short group
  // one at a time. Both compute the same operations on each value, so the bits agree.
  void write(int64_t t, int64_t g0, int count, const int64_t* rows, const f32x16* acc, int64_t stride = 1) const {
    for (int i = 0; i < count; ++i) {
      float* o = output_of(t, g0 + i * stride);
      if (rows[i] == G) {
        const f32x16 y = gated ? silu(acc[i]) * acc[count + i] : acc[i];
        __builtin_memcpy(o, &y, sizeof y);
      } else {
        for (int64_t r = 0; r < rows[i]; ++r) o[r] = gated ? silu(acc[i][r]) * acc[count + i][r] : acc[i][r];
      }
    }
  }
  // Where token t's outputs of group g start.
  float* output_of(int64_t t, int64_t g) const { return out + t * m.rows + g * G; }

  // Whole inputs at once: decode, and prefill chunks too small to block. The tile after this
  // one reads the groups `next` bytes on from each of these (0: none known).
  template <int Mr, int Gr>
  void run_tile(int64_t t0, int64_t g0, int count, int64_t next, int64_t stride = 1) const {
    const uint8_t* w[Gr];
    int64_t rows[Gr];
    chunk<Gr>(g0, count, w, rows, stride);
    f32x16 acc[Mr][Gr] = {};
    if constexpr (Mr == 8) {
      // The lines this tile will write, claimed for writing now: by the tile's end the weights
      // streamed through have pushed them out, and each store would wait for its line (a
      // batched step's products from cache ran 8-9% faster with no writes at all, 3-4% with
      // this; BENCHMARKS.md, twenty-seventh session).
      for (int t = 0; t < Mr; ++t)
        for (int i = 0; i < count; ++i) __builtin_prefetch(output_of(t0 + t, g0 + i * stride), 1, 3);
    }
    tile<K, Mr, Gr>(a, t0, w, rows, G * m.row_bytes, next, 0, a.in, acc);
    for (int t = 0; t < Mr; ++t) write(t0 + t, g0, count, rows, acc[t], stride);
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
    tile<K, Mr, Gr>(a, t0, w, rows, G * m.row_bytes, 0, k0, k1, acc);
    __builtin_memcpy(sums, acc, sizeof acc);
  }

  // Chunks of Gr groups (Gr / 2 gate and up pairs); a group shorter than 16 rows (only
  // ever the last) goes alone. `then`: the first group this thread takes after `groups`,
  // in this matrix or another of the call's (null: none), where the last tile's weight
  // streams lead on to.
  void run(int64_t tokens, q3k::Range groups, const uint8_t* then = nullptr) const {
    constexpr int Gr = kTileGroups;
    const int step = tile_outputs(gated);
    const int64_t last_full = m.rows / G;  // groups [0, last_full) have 16 rows
    const bool blocked = tokens - t_begin >= kBlockedTokens;
    int64_t g = groups.begin;
    if (!blocked && tokens - t_begin >= 8) {
      // Batched decode: 8 tokens a tile, 2 groups (one gate and up pair), so each weight
      // block is read and unpacked once for all of them.
      const int pair = tile8_outputs(gated);
      for (; g + pair <= groups.end && g + pair <= last_full; g += pair) {
        run_tokens8(tokens, g, pair, next_tile(g, pair, groups, then));
      }
    }
    if (blocked) {
      for (; g + step <= groups.end && g + step <= last_full; g += step) run_blocked<4, Gr>(tokens, g, step);
    } else {
      // Streamed (what the 8-token tiles left: all of a decode step's groups): the range's
      // whole tiles take their groups from its `step` parts, far apart (tile j: groups g + j,
      // g + j + tiles, ...), so a thread reads `step` streams of distant memory at once, as
      // readbw's best loop does, not neighbouring groups (23 KB apart in a Qwen3-4B q4_0
      // projection). Each group's sums are the same: only which groups share a tile changes.
      // Qwen3-4B, 2 threads, AMD Zen 5, alternating: the decode step's read rate +4% (q4_0)
      // and +5-8% (q8_0) (BENCHMARKS.md, twenty-fifth session).
      const int64_t full_end = groups.end < last_full ? groups.end : last_full;
      const int64_t tiles = full_end > g ? (full_end - g) / step : 0;
      for (int64_t j = 0; j < tiles; ++j) {
        // Within the range each stream leads on to its next group; the last tile's lead to
        // the next piece is exact for its first stream only (the next piece's parts are
        // spaced by its own length, not known here).
        const int64_t next = j + 1 < tiles ? G * m.row_bytes : (then != nullptr ? then - m.group(g + j) : 0);
        run_tokens<Gr>(tokens, g + j, step, next, tiles);
      }
      g += tiles * step;
    }
    for (; g < groups.end; ++g) {  // rare: short chunks, tails
      if (gated) run_tokens<2>(tokens, g, 1);
      else run_tokens<1>(tokens, g, 1);
    }
  }
  // Bytes from a tile's first group to the next tile's: the following `count` groups inside
  // the range; past its end, the thread's next piece (a weight stream that led on into groups
  // another thread reads would start the next piece cold). Stream i of the tile leads on to
  // stream i of the next: the call's matrices share the row length.
  int64_t next_tile(int64_t g, int count, q3k::Range groups, const uint8_t* then) const {
    if (g + count < groups.end) return count * G * m.row_bytes;
    return then != nullptr ? then - m.group(g) : 0;
  }
  void run_tokens8(int64_t tokens, int64_t g0, int count, int64_t next) const {
    int64_t t = t_begin;
    for (; t + 8 <= tokens; t += 8) run_tile<8, 2>(t, g0, count, next);
    for (; t + 4 <= tokens; t += 4) run_tile<4, 2>(t, g0, count, next);
    for (; t < tokens; ++t) run_tile<1, 2>(t, g0, count, next);
  }
  template <int Gr>
  void run_tokens(int64_t tokens, int64_t g0, int count, int64_t next = 0, int64_t stride = 1) const {
    int64_t t = t_begin;
    for (; t + 4 <= tokens; t += 4) run_tile<4, Gr>(t, g0, count, next, stride);
    for (; t < tokens; ++t) run_tile<1, Gr>(t, g0, count, next, stride);
  }
};

template <Kind K>
void product(const Activations& a, int64_t tokens, const Matrix& m, const Matrix& up, bool gated, float* out,
             float* partial, q3k::Range groups, const uint8_t* then) {
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
  Product<K>{a, m, up, gated, out, partial, 0}.run(tokens, groups, then);
}

// Output groups handed out to the threads from a counter they share (`claimed`: groups taken
// so far in this call, zero before it), in pieces that shrink as the groups run out. A
// streamed product is memory-bound and the threads' rates drift (another core's traffic, the
// VM's), so with fixed halves one thread waits for the other at every kernel's barrier:
// measured about 5% of a decode step on AMD Zen 5. A group's sums are the same whichever
// thread computes it.
// A piece is a quarter of a thread's even share of what is left: a thread also holds the
// piece it claimed ahead (matmul), so at halves the first thread held 44% of the groups
// before the second began, and if it then ran slower the other waited for it. In a step of
// eight Qwen3-4B sequences (2 threads, AMD Zen 5) a thread waited 110-550 us at the end of
// the output projection and 8-22 us at the end of each other product; simulated with one
// thread at 0.7-1.4x the other's rate, halves lose up to 14% of a product, quarters 0.1-5.5%.
struct Claims {
  int64_t* claimed;
  int64_t total, unit, threads;  // pieces are whole multiples of `unit` groups (one tile)
  bool next(q3k::Range& r) const {
    const int64_t left = total - __atomic_load_n(claimed, __ATOMIC_RELAXED);
    if (left <= 0) return false;
    int64_t size = left / (4 * threads) / unit * unit;
    if (size < unit) size = unit;
    const int64_t begin = __atomic_fetch_add(claimed, size, __ATOMIC_RELAXED);
    if (begin >= total) return false;
    r = {begin, begin + size < total ? begin + size : total};
    return true;
  }
};

enum class Format { Bf16, Q8, Q4 };

// One product of a call: its packed matrix (gated: gate then up, each `rows` rows) and its
// output, [tokens][rows].
struct Target {
  const void* w;
  int64_t rows;
  float* out;
};

// y = x W^T (or SwiGLU) for one weight format, both precisions, for each of `count` matrices
// of the same input (a layer's query, key and value projections: one call, so one rounding
// of the activations, one barrier, and the threads' claims spanning all three, where three
// calls would each end with a short product's tail). `work`: the call's shared counter
// (null: fixed shares).
void matmul(Format format, int64_t fast, const float* x, const Target* targets, int count, int64_t tokens,
            int64_t in, bool gated, float* scratch, int64_t thread, int64_t threads, int64_t* work) {
  const int64_t row_bytes = format == Format::Bf16 ? in * 2 : (in / kBlock) * (format == Format::Q8 ? 34 : 18);
  constexpr int kMaxTargets = 3;
  Matrix m[kMaxTargets], up[kMaxTargets];
  int64_t groups[kMaxTargets], all_groups = 0;
  for (int i = 0; i < count; ++i) {
    m[i] = {static_cast<const uint8_t*>(targets[i].w), targets[i].rows, row_bytes};
    up[i] = {m[i].base + targets[i].rows * row_bytes, targets[i].rows, row_bytes};
    groups[i] = (targets[i].rows + G - 1) / G;
    all_groups += groups[i];
  }
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
  auto run = [&](int i, q3k::Range share, const uint8_t* then) {
    const Matrix& mi = m[i];
    const Matrix& ui = up[i];
    float* out = targets[i].out;
    switch (kind) {
      case Kind::Bf16F32: return product<Kind::Bf16F32>(a, tokens, mi, ui, gated, out, partial, share, then);
#if defined(__AVX512BF16__)
      case Kind::Bf16Dot: return product<Kind::Bf16Dot>(a, tokens, mi, ui, gated, out, partial, share, then);
#else
      case Kind::Bf16Dot: return;  // not chosen without the instruction
#endif
      case Kind::Q8F32: return product<Kind::Q8F32>(a, tokens, mi, ui, gated, out, partial, share, then);
      case Kind::Q8Int8: return product<Kind::Q8Int8>(a, tokens, mi, ui, gated, out, partial, share, then);
      case Kind::Q4F32: return product<Kind::Q4F32>(a, tokens, mi, ui, gated, out, partial, share, then);
      case Kind::Q4Int8: return product<Kind::Q4Int8>(a, tokens, mi, ui, gated, out, partial, share, then);
    }
  };
  // Streamed steps claim their groups, numbered through the matrices one after another;
  // cache-blocked prefill (compute-bound, and in AMX tiles of whole group pairs) keeps fixed
  // shares of each. A thread claims its next piece before it runs the current one, so that
  // the current piece's last tile asks for the next one's first weights while it computes
  // (else every piece would start its streams cold; the short products of a Qwen3-4B decode
  // step read 5-15% more of the output projection's rate with it, AMD Zen 5: BENCHMARKS.md,
  // fifteenth session).
  if (work != nullptr && a.stream && threads > 1) {
    // Group `c` of the numbering: its matrix, and the group there.
    auto locate = [&](int64_t c, int& i) {
      for (i = 0; c >= groups[i]; ++i) c -= groups[i];
      return c;
    };
    // The smallest piece is one tile.
    const int64_t unit = tokens >= 8 ? tile8_outputs(gated) : tile_outputs(gated);
    const Claims claims{work, all_groups, unit, threads};
    q3k::Range r, next;
    for (bool more = claims.next(r); more; r = next) {
      more = claims.next(next);
      const uint8_t* then = nullptr;
      if (more) {
        int i = 0;
        const int64_t g = locate(next.begin, i);
        then = m[i].group(g);
      }
      // The piece's part in each matrix it spans; a part that ends its matrix leads on to the next part.
      int first = 0;
      int64_t begin = locate(r.begin, first), left = r.end - r.begin;
      for (int j = first; left > 0; ++j, begin = 0) {
        const int64_t end = begin + left < groups[j] ? begin + left : groups[j];
        left -= end - begin;
        run(j, {begin, end}, left > 0 ? m[j + 1].group(0) : then);
      }
    }
  } else {
    for (int i = 0; i < count; ++i) run(i, q3k::share(groups[i], thread, threads), nullptr);
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
// The `linear3` kernels: three matrices of one input (a layer's q, k and v projections).
#define Q3_PACKED_MATMULS(name, FORMAT)                                                                       \
  Q3_KERNEL void q3k_packed_linear_##name(const float* x, const void* w, int64_t tokens, int64_t in,          \
                                          int64_t out_features, int64_t fast, float* scratch, float* out,     \
                                          int64_t thread, int64_t threads, int64_t* work) {                   \
    const Target t{w, out_features, out};                                                                     \
    matmul(FORMAT, fast, x, &t, 1, tokens, in, false, scratch, thread, threads, work);                        \
  }                                                                                                           \
  Q3_KERNEL void q3k_packed_linear3_##name(const float* x, const void* w0, const void* w1, const void* w2,    \
                                           int64_t tokens, int64_t in, int64_t rows0, int64_t rows1,          \
                                           int64_t rows2, int64_t fast, float* scratch, float* out0,          \
                                           float* out1, float* out2, int64_t thread, int64_t threads,         \
                                           int64_t* work) {                                                   \
    const Target t[3] = {{w0, rows0, out0}, {w1, rows1, out1}, {w2, rows2, out2}};                            \
    matmul(FORMAT, fast, x, t, 3, tokens, in, false, scratch, thread, threads, work);                         \
  }                                                                                                           \
  Q3_KERNEL void q3k_packed_swiglu_##name(const float* x, const void* w, int64_t tokens, int64_t in,          \
                                          int64_t inter, int64_t fast, float* scratch, float* out,            \
                                          int64_t thread, int64_t threads, int64_t* work) {                   \
    const Target t{w, inter, out};                                                                            \
    matmul(FORMAT, fast, x, &t, 1, tokens, in, true, scratch, thread, threads, work);                         \
  }                                                                                                           \
  Q3_KERNEL void q3k_packed_rms_norm_linear_##name(const float* x, const void* g, int64_t g_is_bf16,          \
                                                   const void* w, int64_t tokens, int64_t in,                 \
                                                   int64_t out_features, float eps, int64_t fast,             \
                                                   float* scratch, float* out, int64_t thread,                \
                                                   int64_t threads, int64_t* work) {                          \
    const float* normed = normalise(x, g, g_is_bf16, tokens, in, eps, scratch);                               \
    const Target t{w, out_features, out};                                                                     \
    matmul(FORMAT, fast, normed, &t, 1, tokens, in, false, scratch + tokens * in, thread, threads, work);     \
  }                                                                                                           \
  Q3_KERNEL void q3k_packed_rms_norm_linear3_##name(                                                          \
      const float* x, const void* g, int64_t g_is_bf16, const void* w0, const void* w1, const void* w2,       \
      int64_t tokens, int64_t in, int64_t rows0, int64_t rows1, int64_t rows2, float eps, int64_t fast,        \
      float* scratch, float* out0, float* out1, float* out2, int64_t thread, int64_t threads, int64_t* work) { \
    const float* normed = normalise(x, g, g_is_bf16, tokens, in, eps, scratch);                               \
    const Target t[3] = {{w0, rows0, out0}, {w1, rows1, out1}, {w2, rows2, out2}};                            \
    matmul(FORMAT, fast, normed, t, 3, tokens, in, false, scratch + tokens * in, thread, threads, work);      \
  }                                                                                                           \
  Q3_KERNEL void q3k_packed_rms_norm_swiglu_##name(const float* x, const void* g, int64_t g_is_bf16,          \
                                                   const void* w, int64_t tokens, int64_t in, int64_t inter,  \
                                                   float eps, int64_t fast, float* scratch, float* out,       \
                                                   int64_t thread, int64_t threads, int64_t* work) {          \
    const float* normed = normalise(x, g, g_is_bf16, tokens, in, eps, scratch);                               \
    const Target t{w, inter, out};                                                                            \
    matmul(FORMAT, fast, normed, &t, 1, tokens, in, true, scratch + tokens * in, thread, threads, work);      \
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
