// Tokenizer throughput on a large mixed text (English prose and code, CJK, Cyrillic,
// Arabic, emoji, digits, whitespace runs): encode and decode, bytes/s.
//   build/tests/bench/tokenizer_bench --benchmark_counters_tabular=true

#include <benchmark/benchmark.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/text/tokenizer.h"

namespace {

const qwen3c::Tokenizer& tokenizer() {
  static const qwen3c::Tokenizer t =
      qwen3c::Tokenizer::load(std::string(QWEN3C_TEST_DATA) + "/models/qwen3-tiny/tokenizer.json");
  return t;
}

// About 4 MB: the golden cases' texts (every script and edge case in them), repeated with a
// varying number in between so that word caches cannot make it trivial.
const std::string& mixed_text() {
  static const std::string text = [] {
    std::ifstream in(std::string(QWEN3C_TEST_DATA) + "/tokenizer/tokenizer_goldens.json");
    const nlohmann::json g = nlohmann::json::parse(in);
    std::string out;
    for (int round = 0; out.size() < (4u << 20); ++round) {
      for (const auto& c : g["cases"]) {
        out += c["text"].get<std::string>();
        out += " " + std::to_string(round * 7919 % 100003) + "\n";
      }
    }
    return out;
  }();
  return text;
}

// Loading the real Qwen3 tokenizer.json: 151,643 vocabulary entries and 151,387 merges
// into the lookup tables (what every `run` and `chat` pays at start).
void BM_Load(benchmark::State& state) {
  const std::string path = std::string(QWEN3C_TEST_DATA) + "/models/qwen3-tiny/tokenizer.json";
  for (auto _ : state) {
    qwen3c::Tokenizer t = qwen3c::Tokenizer::load(path);
    benchmark::DoNotOptimize(&t);
  }
}
BENCHMARK(BM_Load)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Encoding words the BPE cache has not seen: every piece is merged from bytes, so the merge
// rank lookups are the work.
void BM_EncodeUncached(benchmark::State& state) {
  std::string text;
  for (int i = 0; text.size() < (1u << 20); ++i) text += "w" + std::to_string(i * 2654435761u) + "q ";
  for (auto _ : state) {
    state.PauseTiming();  // a fresh tokenizer: an empty word cache
    qwen3c::Tokenizer t = qwen3c::Tokenizer::load(std::string(QWEN3C_TEST_DATA) + "/models/qwen3-tiny/tokenizer.json");
    state.ResumeTiming();
    auto ids = t.encode(text);
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_EncodeUncached)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_Encode(benchmark::State& state) {
  const std::string& text = mixed_text();
  std::size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tokenizer().encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_Decode(benchmark::State& state) {
  const std::string& text = mixed_text();
  const auto ids = tokenizer().encode(text);
  for (auto _ : state) {
    auto decoded = tokenizer().decode(ids);
    benchmark::DoNotOptimize(decoded.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_StreamingDecode(benchmark::State& state) {
  const std::string& text = mixed_text();
  const auto ids = tokenizer().encode(text);
  for (auto _ : state) {
    qwen3c::StreamingDecoder decoder(tokenizer());
    std::size_t bytes = 0;
    for (std::int64_t id : ids) bytes += decoder.push(id).size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_StreamingDecode)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
