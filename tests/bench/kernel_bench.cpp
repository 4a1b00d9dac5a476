// The CPU backend's hot kernels at Qwen3-4B shapes, single thread: the packed matrix
// products per weight format and precision (1 token: decode; 128 / 512: prefill), the
// row-major ones (f32 weights), attention over a long cache (decode) and over a whole
// prompt (prefill, tiled). Counters: weight bytes/s (what bounds decode) and FLOP/s (what
// bounds prefill).
//
// The kernels are compiled here by clang-19 -O3 -march=native, not through the artifact
// pipeline (clang-19 bitcode specialised to the model's shapes, LLVM O3 for the target CPU):
// a guide to the kernels, not a substitute for `qwen3c bench`.

#include <benchmark/benchmark.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <random>
#include <thread>
#include <vector>

#include "backends/cpu/kernels/flash_attention.h"
#include "backends/cpu/kernels/key_block.h"
#include "backends/cpu/kernels/kernel_entry_points.h"
#include "backends/cpu/runtime/packing.h"
#include "runtime/core/kv_type.h"
#include "runtime/core/quantization.h"
#include "runtime/execution/thread_pool.h"

extern "C" {
// The code generator's target constant (compiler/codegen.cpp): f32 FMAs for bf16 here.
extern const int32_t q3k_target_prefers_bf16_dot = 0;
// As the code generator sets it for the host (compiler/codegen.cpp: AMD no, others yes).
extern const int32_t q3k_target_prefetches_to_l2 = __builtin_cpu_is("amd") ? 0 : 1;
}

namespace {

using LinearFn = void (*)(const float*, const void*, int64_t, int64_t, int64_t, float*, float*, int64_t, int64_t);

constexpr int64_t kIn = 2560, kOut = 9728;  // Qwen3-4B gate/up projection

std::vector<float> random_floats(std::size_t n, float scale) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

std::vector<std::uint8_t> weights(qwen3c::DType format) {
  const std::vector<float> w = random_floats(static_cast<std::size_t>(kIn * kOut), 0.05f);
  std::vector<std::uint8_t> bytes;
  if (format == qwen3c::DType::F32) {
    bytes.resize(w.size() * 4);
    std::memcpy(bytes.data(), w.data(), bytes.size());
  } else if (format == qwen3c::DType::BF16) {
    bytes.resize(w.size() * 2);
    for (std::size_t i = 0; i < w.size(); ++i) {
      std::uint32_t b;
      std::memcpy(&b, &w[i], 4);
      const std::uint16_t h = static_cast<std::uint16_t>(b >> 16);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
  } else {
    const std::size_t row = qwen3c::quant_block_bytes(format) * (kIn / 32);
    bytes.resize(row * kOut);
    for (int64_t r = 0; r < kOut; ++r) qwen3c::quantize_row(format, w.data() + r * kIn, kIn, bytes.data() + r * row);
  }
  return bytes;
}

void linear(benchmark::State& state, LinearFn fn, qwen3c::DType format) {
  const int64_t tokens = state.range(0);
  const std::vector<std::uint8_t> w = weights(format);
  const std::vector<float> x = random_floats(static_cast<std::size_t>(tokens * kIn), 1.0f);
  std::vector<float> out(static_cast<std::size_t>(tokens * kOut)), panel(static_cast<std::size_t>(8 * kIn));
  for (auto _ : state) {
    fn(x.data(), w.data(), tokens, kIn, kOut, panel.data(), out.data(), 0, 1);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["weight_bytes/s"] = benchmark::Counter(static_cast<double>(w.size()) * state.iterations(),
                                                        benchmark::Counter::kIsRate);
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * kIn * kOut * tokens * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

using PackedFn = void (*)(const float*, const void*, int64_t, int64_t, int64_t, int64_t, float*, float*, int64_t,
                         int64_t, int64_t*);

// The kOut x kIn matrix packed as the CPU backend lays out a weight of this format.
std::vector<std::uint8_t> packed_weights(qwen3c::DType format) {
  const std::vector<int64_t> shape = {kOut, kIn};
  return qwen3c::cpu::pack_weight(
      format == qwen3c::DType::BF16 ? qwen3c::cpu::kPackedLayout : qwen3c::cpu::kPackedBlockLayout, format, shape,
      weights(format));
}

// A packed product: range(0) tokens, range(1) 1 for --precision fast.
void packed_linear(benchmark::State& state, PackedFn fn, qwen3c::DType format) {
  const int64_t tokens = state.range(0), fast = state.range(1);
  const std::vector<std::uint8_t> w = packed_weights(format);
  const std::vector<float> x = random_floats(static_cast<std::size_t>(tokens * kIn), 1.0f);
  std::vector<float> out(static_cast<std::size_t>(tokens * kOut)), scratch(static_cast<std::size_t>(tokens * (3 * kIn + 64)));
  for (auto _ : state) {
    fn(x.data(), w.data(), tokens, kIn, kOut, fast, scratch.data(), out.data(), 0, 1, nullptr);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["weight_bytes/s"] = benchmark::Counter(static_cast<double>(w.size()) * state.iterations(),
                                                        benchmark::Counter::kIsRate);
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * kIn * kOut * tokens * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

// A prompt of range(0) tokens attending to itself (the tiled kernel), one layer.
void prompt_attention(benchmark::State& state) {
  const int64_t tokens = state.range(0), heads = 32, kv_heads = 8, head_dim = 128;
  const std::vector<float> k = random_floats(static_cast<std::size_t>(tokens * kv_heads * head_dim), 1.0f);
  const std::vector<float> v = random_floats(k.size(), 1.0f), q = random_floats(tokens * heads * head_dim, 1.0f);
  std::vector<float> scratch(q3k::flash_attention_scratch(head_dim)), out(q.size());
  std::vector<int64_t> positions(static_cast<std::size_t>(tokens)), slots(positions.size(), 0);
  for (int64_t t = 0; t < tokens; ++t) positions[t] = t;
  // The cache as the CPU executor lays it out: each KV head's rows contiguous (f32).
  std::vector<const uint8_t*> keys, values;
  for (int64_t h = 0; h < kv_heads; ++h) {
    keys.push_back(reinterpret_cast<const uint8_t*>(k.data() + h * tokens * head_dim));
    values.push_back(reinterpret_cast<const uint8_t*>(v.data() + h * tokens * head_dim));
  }
  for (auto _ : state) {
    q3k::flash_attention(q.data(), positions.data(), slots.data(), tokens, keys.data(), values.data(),
                         /*kv_type=f32*/ 0, heads,
                         kv_heads, head_dim, 0.088f, /*integer_products=*/false, scratch.data(), out.data(), 0, 1);
    benchmark::DoNotOptimize(out.data());
  }
  // Causal: half the score matrix, QK^T and PV.
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * 2 * heads * head_dim * tokens * tokens / 2.0 * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

// Zeroed memory in transparent huge pages where the kernel grants them, as the CPU executor
// allocates its KV cache (4 KiB pages would add a TLB miss every 16 rows).
class HugePages {
 public:
  explicit HugePages(std::size_t size) : size_(size) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    ::madvise(p, size_, MADV_HUGEPAGE);
    data_ = static_cast<std::uint8_t*>(p);
  }
  ~HugePages() { ::munmap(data_, size_); }
  HugePages(const HugePages&) = delete;
  HugePages& operator=(const HugePages&) = delete;
  std::uint8_t* data() { return data_; }
  std::size_t size() const { return size_; }

 private:
  std::size_t size_;
  std::uint8_t* data_;
};

// Decode as a model's step runs it: the weights come from memory, not from the last-level
// cache (copies of the matrix, 1 GiB in all, multiplied one after the other), range(1)
// threads claim output groups from a counter each product shares, as the executor's threads
// do, and meet at a barrier after each product. range(0) tokens (1: decode; 8: a batched
// step), --precision fast. The single-matrix benchmark above reads its 14 MB from L3.
// range(2) = 1 (`cached`): the same harness over one copy, multiplied 64 times, so from the
// last-level cache: what the streamed rate loses to memory, with everything else alike.
// `gated`: `fn` is a SwiGLU kernel, which reads the same bytes as gate and up matrices of
// kOut / 2 rows each (kOut / 2 is a whole number of 16-row groups, so the packed matrix is
// both halves as the SwiGLU layout stacks them).
void packed_linear_streamed(benchmark::State& state, PackedFn fn, qwen3c::DType format, bool gated) {
  const int64_t tokens = state.range(0), threads = state.range(1), cached = state.range(2);
  const std::vector<std::uint8_t> one = packed_weights(format);
  const std::size_t copies = cached != 0 ? 1 : std::max<std::size_t>(4, (std::size_t{1} << 30) / one.size());
  const std::size_t products = cached != 0 ? 64 : copies;
  HugePages w(copies * one.size());
  for (std::size_t c = 0; c < copies; ++c) std::memcpy(w.data() + c * one.size(), one.data(), one.size());
  const std::vector<float> x = random_floats(static_cast<std::size_t>(tokens * kIn), 1.0f);
  const std::size_t scratch_floats = static_cast<std::size_t>(tokens * (3 * kIn + 64));
  std::vector<float> out(static_cast<std::size_t>(tokens * kOut)), scratch(threads * scratch_floats);
  std::vector<int64_t> claimed(products);
  qwen3c::SpinBarrier meet(static_cast<int>(threads));  // the executor's: std::barrier sleeps
  for (auto _ : state) {
    std::fill(claimed.begin(), claimed.end(), 0);
    std::vector<std::thread> pool;
    for (int64_t t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (std::size_t c = 0; c < products; ++c) {
          fn(x.data(), w.data() + (c % copies) * one.size(), tokens, kIn, gated ? kOut / 2 : kOut, /*fast=*/1,
             scratch.data() + t * scratch_floats,
             out.data(), t, threads, &claimed[c]);
          meet.wait();
        }
      });
    }
    for (std::thread& thread : pool) thread.join();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["weight_bytes/s"] = benchmark::Counter(
      static_cast<double>(products * one.size()) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["MAC/s"] = benchmark::Counter(static_cast<double>(products) * kIn * kOut * tokens * state.iterations(),
                                               benchmark::Counter::kIsRate);
}

// One decode step's attention: a token at position range(0) over the layers of Qwen3-4B
// (36 layers x 8 KV heads, head_dim 128), the cache stored as KvType range(1), split between
// range(2) threads, integer products (--precision fast; q8_0 only) if range(3), over `layers`
// layers (all 36: the cache, 1.2 GB at 8192 in f16, comes from memory as it does when
// decoding, not from the last-level cache).
void attention_layers(benchmark::State& state, int64_t layers) {
  const int64_t past = state.range(0), kv_type = state.range(1), threads = state.range(2), int8 = state.range(3);
  if (int8 != 0 && kv_type != 3) return state.SkipWithError("integer products are for the q8_0 cache");
  constexpr int64_t kHeads = 32, kKvHeads = 8, kHeadDim = 128;
  const auto type = static_cast<qwen3c::KvType>(kv_type);
  // A head's keys and values in whole blocks of positions, as the executor allocates them.
  const int64_t row_bytes = qwen3c::kv_row_bytes(type, kHeadDim);
  const int64_t rows = (past + 1 + q3k::kKeyBlock - 1) / q3k::kKeyBlock * q3k::kKeyBlock;
  // Valid elements of each type, from a cheap generator (std::mt19937 with a distribution
  // took minutes for the 36-layer caches): f32 in (-0.5, 0.5); f16 / bf16 with |x| in [2^-4, 2);
  // q8_0 random int8 with every scale 1/128 (the scales fill the last 2 x 16 x head_dim / 32
  // bytes of every block of 16 positions, keys and values alike).
  HugePages cache(static_cast<std::size_t>(2 * layers * kKvHeads * rows * row_bytes));
  std::uint64_t seed = 7;
  auto next = [&seed] {  // splitmix64
    std::uint64_t z = (seed += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  };
  const std::size_t size = cache.size(), element = static_cast<std::size_t>(qwen3c::kv_row_bytes(type, 1));
  if (type == qwen3c::KvType::F32) {
    for (std::size_t at = 0; at < size; at += 4) {
      const auto bits = static_cast<std::uint32_t>(0x40000000u | (next() & 0x807fffffu));  // +-[2, 4)
      float x;
      std::memcpy(&x, &bits, 4);
      x = x / 2.0f - (x > 0 ? 1.5f : -1.5f);
      std::memcpy(cache.data() + at, &x, 4);
    }
  } else if (type == qwen3c::KvType::F16 || type == qwen3c::KvType::BF16) {
    const bool half = type == qwen3c::KvType::F16;
    for (std::size_t at = 0; at < size; at += element) {
      const std::uint64_t r = next();
      const auto h = static_cast<std::uint16_t>(half ? (r & 0x83ff) | (11 + (r >> 16) % 5) << 10
                                                     : (r & 0x807f) | (123 + (r >> 16) % 5) << 7);
      std::memcpy(cache.data() + at, &h, 2);
    }
  } else {
    for (std::size_t at = 0; at < size; at += 8) {
      const std::uint64_t r = next();
      std::memcpy(cache.data() + at, &r, std::min<std::size_t>(8, size - at));
    }
    const std::size_t block = static_cast<std::size_t>(q3k::kKeyBlock * row_bytes);
    const std::size_t scales_at = static_cast<std::size_t>(q3k::kKeyBlock * kHeadDim);
    const std::uint16_t scale = 0x2000;  // 2^-7
    for (std::size_t b = 0; b < size; b += block)
      for (std::size_t at = b + scales_at; at < b + block; at += 2) std::memcpy(cache.data() + at, &scale, 2);
  }
  // k_cache / v_cache of layer l: one pointer per KV head (the executor's layout).
  std::vector<const std::uint8_t*> heads(static_cast<std::size_t>(2 * layers * kKvHeads));
  for (std::size_t i = 0; i < heads.size(); ++i) heads[i] = cache.data() + i * rows * row_bytes;
  const std::vector<float> q = random_floats(kHeads * kHeadDim, 1.0f);
  const int64_t scratch_floats = std::max<int64_t>(rows, q3k::flash_attention_scratch(kHeadDim));
  std::vector<float> scratch(static_cast<std::size_t>(threads * scratch_floats)), out(kHeads * kHeadDim);
  const int64_t position = past, slot = 0;
  auto step = [&](int64_t t) {
    for (int64_t layer = 0; layer < layers; ++layer) {
      const std::uint8_t* const* k = heads.data() + 2 * layer * kKvHeads;
      q3k_cached_attention(q.data(), &position, &slot, 1, k, k + kKvHeads, kv_type, kHeads, kKvHeads, kHeadDim, 0.088f,
                           int8, scratch.data() + t * scratch_floats, out.data(), t, threads);
    }
  };
  for (auto _ : state) {
    if (threads == 1) {
      step(0);  // no thread to start: what one layer in cache costs is a few microseconds
    } else {
      std::vector<std::thread> pool;
      for (int64_t t = 0; t < threads; ++t) pool.emplace_back(step, t);
      for (std::thread& thread : pool) thread.join();
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["cache_bytes/s"] = benchmark::Counter(static_cast<double>(cache.size()) * state.iterations(),
                                                       benchmark::Counter::kIsRate);
}

void attention(benchmark::State& state) { attention_layers(state, 36); }

// The same over one layer of 128 or 512 positions (0.5 or 2 MiB of f16 cache, in L2 or L3
// after the first iteration): what the kernel's arithmetic costs when its loads hit the
// cache, against which the 36-layer figure shows what memory adds.
void attention_in_cache(benchmark::State& state) { attention_layers(state, 1); }

}  // namespace

// Row-major kernels: f32 weights (and bf16 with an odd input count).
BENCHMARK_CAPTURE(linear, f32, q3k_linear_f32, qwen3c::DType::F32)->Arg(1)->Arg(32)->Unit(benchmark::kMillisecond);
// Packed kernels, {tokens, fast}.
#define Q3_PACKED_BENCH(name, fn, format)                                                                \
  BENCHMARK_CAPTURE(packed_linear, name, fn, format)                                                     \
      ->ArgsProduct({{1, 4, 8, 16, 128, 512}, {0, 1}})                                                           \
      ->ArgNames({"tokens", "fast"})                                                                     \
      ->Unit(benchmark::kMillisecond);
Q3_PACKED_BENCH(bf16, q3k_packed_linear_bf16, qwen3c::DType::BF16)
Q3_PACKED_BENCH(q8_0, q3k_packed_linear_q8_0, qwen3c::DType::Q8_0)
Q3_PACKED_BENCH(q4_0, q3k_packed_linear_q4_0, qwen3c::DType::Q4_0)
// Streamed from memory (cached:0) or from the last-level cache (cached:1), {tokens, threads, cached}.
#define Q3_STREAMED_BENCH(name, fn, format, gated)                                                       \
  BENCHMARK_CAPTURE(packed_linear_streamed, name, fn, format, gated)                                     \
      ->ArgsProduct({{1, 8}, {1, 2}, {0, 1}})                                                            \
      ->ArgNames({"tokens", "threads", "cached"})                                                        \
      ->Unit(benchmark::kMillisecond)                                                                    \
      ->UseRealTime();
Q3_STREAMED_BENCH(bf16, q3k_packed_linear_bf16, qwen3c::DType::BF16, false)
Q3_STREAMED_BENCH(q8_0, q3k_packed_linear_q8_0, qwen3c::DType::Q8_0, false)
Q3_STREAMED_BENCH(q4_0, q3k_packed_linear_q4_0, qwen3c::DType::Q4_0, false)
Q3_STREAMED_BENCH(swiglu_q8_0, q3k_packed_swiglu_q8_0, qwen3c::DType::Q8_0, true)
Q3_STREAMED_BENCH(swiglu_q4_0, q3k_packed_swiglu_q4_0, qwen3c::DType::Q4_0, true)
// {past, kv type (0 f32, 1 f16, 2 bf16, 3 q8_0), threads, integer products}
BENCHMARK(attention)
    ->ArgsProduct({{511, 8192}, {0, 1, 2, 3}, {1, 2}, {0, 1}})
    ->ArgNames({"past", "kv", "threads", "int8"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(attention_in_cache)
    ->ArgsProduct({{127, 511}, {0, 1, 2, 3}, {1}, {0, 1}})
    ->ArgNames({"past", "kv", "threads", "int8"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(prompt_attention)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
