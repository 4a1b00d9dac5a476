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

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cpu/kernels/flash_attention.h"
#include "backends/cpu/runtime/packing.h"
#include "runtime/core/quantization.h"

extern "C" {
// The code generator's target constant (compiler/codegen.cpp): f32 FMAs for bf16 here.
extern const int32_t q3k_target_prefers_bf16_dot = 0;
void q3k_packed_linear_bf16(const float*, const void*, int64_t, int64_t, int64_t, int64_t, float*, float*, int64_t,
                            int64_t);
void q3k_packed_linear_q8_0(const float*, const void*, int64_t, int64_t, int64_t, int64_t, float*, float*, int64_t,
                            int64_t);
void q3k_packed_linear_q4_0(const float*, const void*, int64_t, int64_t, int64_t, int64_t, float*, float*, int64_t,
                            int64_t);
void q3k_linear_bf16(const float*, const void*, int64_t, int64_t, int64_t, float*, float*, int64_t, int64_t);
void q3k_linear_f32(const float*, const void*, int64_t, int64_t, int64_t, float*, float*, int64_t, int64_t);
void q3k_linear_q8_0(const float*, const void*, int64_t, int64_t, int64_t, float*, float*, int64_t, int64_t);
void q3k_linear_q4_0(const float*, const void*, int64_t, int64_t, int64_t, float*, float*, int64_t, int64_t);
void q3k_cached_attention(const float*, const int64_t*, const int64_t*, int64_t, const float* const*,
                          const float* const*, int64_t, int64_t, int64_t, float, float*, float*, int64_t, int64_t);
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
                         int64_t);

// A packed product: range(0) tokens, range(1) 1 for --precision fast.
void packed_linear(benchmark::State& state, PackedFn fn, qwen3c::DType format) {
  const int64_t tokens = state.range(0), fast = state.range(1);
  const std::vector<int64_t> shape = {kOut, kIn};
  const std::vector<std::uint8_t> w = qwen3c::cpu::pack_weight(
      format == qwen3c::DType::BF16 ? qwen3c::cpu::kPackedLayout : qwen3c::cpu::kPackedBlockLayout, format, shape,
      weights(format));
  const std::vector<float> x = random_floats(static_cast<std::size_t>(tokens * kIn), 1.0f);
  std::vector<float> out(static_cast<std::size_t>(tokens * kOut)), scratch(static_cast<std::size_t>(tokens * (3 * kIn + 64)));
  for (auto _ : state) {
    fn(x.data(), w.data(), tokens, kIn, kOut, fast, scratch.data(), out.data(), 0, 1);
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
                         kv_heads, head_dim, 0.088f, scratch.data(), out.data(), 0, 1);
    benchmark::DoNotOptimize(out.data());
  }
  // Causal: half the score matrix, QK^T and PV.
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * 2 * heads * head_dim * tokens * tokens / 2.0 * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

void attention(benchmark::State& state) {
  const int64_t past = state.range(0), heads = 32, kv_heads = 8, head_dim = 128;
  const std::vector<float> k = random_floats(static_cast<std::size_t>((past + 1) * kv_heads * head_dim), 1.0f);
  const std::vector<float> v = random_floats(k.size(), 1.0f), q = random_floats(heads * head_dim, 1.0f);
  std::vector<float> scores(std::max<int64_t>(past + 1, q3k::flash_attention_scratch(head_dim))), out(heads * head_dim);
  const int64_t position = past, slot = 0;
  const float* keys[] = {k.data()};
  const float* values[] = {v.data()};
  for (auto _ : state) {
    q3k_cached_attention(q.data(), &position, &slot, 1, keys, values, heads, kv_heads, head_dim, 0.088f,
                         scores.data(), out.data(), 0, 1);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["cache_bytes/s"] = benchmark::Counter(2.0 * 4 * k.size() * state.iterations(),
                                                       benchmark::Counter::kIsRate);
}

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
BENCHMARK(attention)->Arg(1024)->Arg(4095)->Unit(benchmark::kMicrosecond);
BENCHMARK(prompt_attention)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
