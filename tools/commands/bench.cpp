// qwen3c bench ART [-p 512] [-n 128] [-b 1] [-d 0] [-t THREADS] [-r REPS] [--json]
//
// Like llama-bench: pp<N> is one forward over an N-token prompt (tokens/s = N / time),
// tg<N> generates N tokens one at a time after a fresh start (tokens/s = N / time). With
// --batch B, tg<N>xB generates N tokens in each of B sequences decoded together, one
// batched step a token for all of them (tokens/s = B * N / time), as llama-batched-bench's
// S_TG. With --depth D (llama-bench's -d), every test starts with D tokens already in each
// sequence's cache (filled once, untimed; each run rewinds to them): "tg128 @ d8192"; with
// --depth-fill copy, 512 of them are computed and copied on ("tg32 @ d131008 copied"). Each
// test runs REPS times after one warm-up; mean, standard deviation and median are
// reported. With --bandwidth, a tg test also reports the bytes a step reads (weights and
// cache) over the read bandwidth of the same threads, measured in this process before the
// first repetition and after each one: the fraction of the physical limit each repetition
// reached, with the limit it had then.

#include <chrono>
#include <cmath>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>

#include "runtime/core/error.h"
#include "runtime/core/first_largest.h"
#include "runtime/execution/read_bandwidth.h"
#include "runtime/execution/session.h"
#include "tools/commands/commands.h"
#include "tools/commands/format.h"
#include "tools/commands/kv_type_flag.h"

namespace qwen3c::cli {

namespace {

struct BenchOptions {
  std::string artifact;
  int device = -1;
  std::int64_t prompt = 512;
  std::int64_t generate = 128;
  std::int64_t batch = 1;
  std::int64_t depth = 0;
  std::string depth_fill = "compute";
  std::int64_t context = 0;  // 0: what the tests need
  std::string kv_type;
  int threads = 0;
  int repetitions = 5;
  bool json = false;
  bool profile = false;
  bool profile_calls = false;
  bool bandwidth = false;
};

// What a tg test's steps read against what the memory could give (--bandwidth).
struct BandwidthShare {
  double bytes_per_step = 0;    // weights and the cache at the test's mean position
  double read_bandwidth = 0;    // bytes/s, median of the measurements around the repetitions
  double fraction = 0;          // median over repetitions of bytes read a second / bandwidth then
};

struct Result {
  std::string test;
  double mean = 0, stddev = 0, median = 0;
  std::optional<BandwidthShare> share;
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A tg test's bytes a step and the probe that measures the bandwidth around its repetitions.
struct BandwidthCheck {
  ReadBandwidth* probe;
  double bytes_per_step;
  std::int64_t tokens_per_step;  // the batch: tokens/s over this is steps/s
};

Result measure(const std::string& test, std::int64_t tokens, int repetitions, const std::function<double()>& run,
               const std::optional<BandwidthCheck>& check = std::nullopt) {
  run();  // warm-up: first-touch of the arena and caches
  std::vector<double> rates, bandwidths, fractions;
  if (check) bandwidths.push_back(check->probe->measure());
  for (int i = 0; i < repetitions; ++i) {
    rates.push_back(tokens / run());
    if (!check) continue;
    bandwidths.push_back(check->probe->measure());
    const double limit = (bandwidths[i] + bandwidths[i + 1]) / 2;
    fractions.push_back(rates.back() / check->tokens_per_step * check->bytes_per_step / limit);
  }
  const double mean = std::accumulate(rates.begin(), rates.end(), 0.0) / rates.size();
  double var = 0;
  for (double r : rates) var += (r - mean) * (r - mean);
  const std::size_t n = rates.size();
  Result result{test, mean, n > 1 ? std::sqrt(var / (n - 1)) : 0.0, median_of(rates), std::nullopt};
  if (check) result.share = BandwidthShare{check->bytes_per_step, median_of(bandwidths), median_of(fractions)};
  return result;
}

// Bytes of weights a decode step reads: all of them, but for an untied embedding table, of
// which a step reads one row a token.
double weight_bytes_per_step(const Model& model) {
  double bytes = static_cast<double>(model.weights().total_bytes());
  if (!model.config().tie_word_embeddings) {
    for (const ArtifactTensor& t : model.artifact().tensors()) {
      if (t.name.find("embed_tokens") != std::string::npos) bytes -= static_cast<double>(t.byte_size());
    }
  }
  return bytes;
}

std::string quant_of(const Artifact& a) {
  // The format of the largest matrix: what "the model's quantisation" means to a reader.
  std::uint64_t largest = 0;
  std::string quant = "?";
  for (const ArtifactTensor& t : a.tensors()) {
    if (t.shape.size() == 2 && t.byte_size() > largest && t.name.find("embed") == std::string::npos) {
      largest = t.byte_size();
      quant = std::string(dtype_name(t.dtype));
    }
  }
  for (char& c : quant) c = static_cast<char>(std::tolower(c));
  return quant;
}

// Fills every sequence of `session` to `depth` tokens (untimed), in prompt-sized steps; with
// `copied`, computes the first kCopiedSpan tokens and copies them on to the depth
// (Session::replicate: the speed of what follows is the same, the fill minutes, not hours).
constexpr std::int64_t kCopiedSpan = 512;
void fill(Session& session, std::int64_t depth, bool copied) {
  if (copied) {
    fill(session, kCopiedSpan, false);
    for (std::int64_t s = 0; s < session.slots(); ++s) session.replicate(depth, s);
    return;
  }
  session.reset();
  const std::int64_t vocab = session.model().config().vocab_size;
  constexpr std::int64_t kChunk = 512;
  std::vector<std::int64_t> ids(static_cast<std::size_t>(kChunk));
  for (std::int64_t done = 0; done < depth; done += kChunk) {
    const std::int64_t n = std::min(kChunk, depth - done);
    for (std::int64_t i = 0; i < n; ++i) ids[i] = ((done + i) * 7919 + 17) % vocab;
    for (std::int64_t s = 0; s < session.slots(); ++s) {
      const Session::Chunk chunk{s, std::span<const std::int64_t>(ids.data(), n), false};
      session.forward_batch(std::span<const Session::Chunk>(&chunk, 1));
    }
  }
}

// Back to `depth` tokens in every sequence (what fill() put there stays in the cache).
void rewind(Session& session, std::int64_t depth) {
  for (std::int64_t s = 0; s < session.slots(); ++s) session.truncate(depth, s);
}

// `steps` batched decode steps of every sequence of `session` (each starting from token 1,
// then its own greedy tokens), from `depth` tokens.
void decode_together(Session& session, std::int64_t steps, std::int64_t depth) {
  rewind(session, depth);
  const std::int64_t batch = session.slots(), vocab = session.model().config().vocab_size;
  std::vector<std::int64_t> tokens(static_cast<std::size_t>(batch), 1);
  std::vector<Session::Chunk> chunks(static_cast<std::size_t>(batch));
  std::vector<float> logits;  // one buffer for every step, as the server's scheduler keeps it
  for (std::int64_t i = 0; i < steps; ++i) {
    for (std::int64_t s = 0; s < batch; ++s) chunks[s] = {s, std::span<const std::int64_t>(&tokens[s], 1)};
    session.forward_batch(chunks, logits);
    for (std::int64_t s = 0; s < batch; ++s) {  // greedy, as the server's steps
      const float* row = logits.data() + s * vocab;
      tokens[s] = first_largest(std::span<const float>(row, static_cast<std::size_t>(vocab)));
    }
  }
}

// A tensor's name without what every name shares ("model." and ".weight").
std::string short_tensor_name(std::string name) {
  if (name.rfind("model.", 0) == 0) name.erase(0, 6);
  if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0) name.erase(name.size() - 7);
  return name;
}

// --profile-calls: every call of a step in order, with the weights it streams and the rate it
// read them at. Rates of calls within one step compare products under the same memory
// conditions, which the machine's bandwidth (it moves from minute to minute on a VM) does not.
void print_calls(const std::vector<Executor::CallTime>& calls, std::int64_t steps) {
  if (calls.empty()) {
    std::fprintf(stderr, "bench: this artifact's executor cannot profile call by call\n");
    return;
  }
  std::fprintf(stderr, "  %5s  %-32s %-56s %9s %9s %8s\n", "call", "kernel", "weights", "us", "MB", "GB/s");
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const Executor::CallTime& c = calls[i];
    std::string weights;
    for (const std::string& name : c.weights) {
      if (!weights.empty()) weights += ' ';
      weights += short_tensor_name(name);
    }
    const double seconds = c.seconds / static_cast<double>(std::max<std::int64_t>(steps, 1));
    std::fprintf(stderr, "  %5zu  %-32s %-56s %9.1f", i, c.kernel.c_str(), weights.empty() ? "-" : weights.c_str(),
                 seconds * 1e6);
    if (c.weight_bytes > 0 && seconds > 0) {
      std::fprintf(stderr, " %9.3f %8.2f\n", static_cast<double>(c.weight_bytes) / 1e6,
                   static_cast<double>(c.weight_bytes) / seconds / 1e9);
    } else {
      std::fprintf(stderr, " %9s %8s\n", "-", "-");
    }
  }
}

// Where a prompt step and a decode step spend their time, kernel by kernel.
void print_profile(Model& model, Session& session, const BenchOptions& opts) {
  Executor& executor = model.executor();
  if (!executor.can_profile()) {
    std::fprintf(stderr, "bench: this artifact's executor cannot profile its kernels\n");
    return;
  }
  const std::int64_t vocab = model.config().vocab_size;
  // `steps` forward steps of `tokens` tokens each were recorded.
  auto report = [&](const std::string& what, std::int64_t tokens, std::int64_t steps) {
    std::vector<Executor::KernelTime> times = executor.profile();
    std::sort(times.begin(), times.end(), [](const auto& a, const auto& b) { return a.seconds > b.seconds; });
    double total = 0;
    for (const auto& t : times) total += t.seconds;
    std::fprintf(stderr, "profile of %s (%lld tokens a step): %.2f ms a step\n", what.c_str(),
                 static_cast<long long>(tokens), total * 1e3 / steps);
    for (const auto& t : times) {
      std::fprintf(stderr, "  %-40s %5lld calls %9.2f ms  %5.1f%%\n", t.name.c_str(),
                   static_cast<long long>(t.calls / steps), t.seconds * 1e3 / steps, 100 * t.seconds / std::max(total, 1e-12));
    }
    if (opts.profile_calls) print_calls(executor.call_profile(), steps);
  };
  if (opts.prompt > 0) {
    std::vector<std::int64_t> ids(opts.prompt);
    for (std::int64_t i = 0; i < opts.prompt; ++i) ids[i] = (i * 7919 + 13) % vocab;
    rewind(session, opts.depth);
    executor.set_profiling(true);
    session.forward(ids);
    executor.set_profiling(false);
    report("pp" + std::to_string(opts.prompt), opts.prompt, 1);
  }
  if (opts.generate > 0) {
    rewind(session, opts.depth);
    std::int64_t token = 1;
    executor.set_profiling(true);
    if (session.slots() > 1) {
      decode_together(session, opts.generate, opts.depth);
    } else {
      for (std::int64_t i = 0; i < opts.generate; ++i) token = session.forward_greedy(std::span<const std::int64_t>(&token, 1));
    }
    executor.set_profiling(false);
    report("tg" + std::to_string(opts.generate), session.slots(), opts.generate);
  }
}

void run_bench(const BenchOptions& opts) {
  auto model = Model::load(opts.artifact, ExecutorOptions{opts.device});
  if (opts.threads > 0) model->executor().set_threads(opts.threads);
  const ModelConfig& c = model->config();
  const std::int64_t needed = opts.depth + std::max(opts.prompt, opts.generate) + 1;
  if (opts.context > 0 && opts.context < needed) {
    throw Error("a context of " + std::to_string(opts.context) + " positions cannot hold the " +
                std::to_string(needed) + " the tests need");
  }
  const std::int64_t context = std::max(opts.context, needed);
  if (context > c.max_position_embeddings && opts.context > 0) {
    throw Error("a context of " + std::to_string(opts.context) + " positions would exceed the model's " +
                std::to_string(c.max_position_embeddings));
  }
  if (context > c.max_position_embeddings) {
    throw Error("a depth of " + std::to_string(opts.depth) + " and " +
                std::to_string(std::max(opts.prompt, opts.generate)) + " tokens exceed the model's " +
                std::to_string(c.max_position_embeddings) + " positions");
  }
  // --depth-fill copy below the computed span computes it all.
  const bool copied = opts.depth_fill == "copy" && opts.depth > kCopiedSpan;
  if (copied && !model->executor().can_replicate_cache()) {
    throw Error("the " + model->artifact().backend() +
                " backend cannot copy its KV cache (--depth-fill copy); fill the depth by computing it");
  }
  Session session(model, context, opts.batch, resolve_kv_type(opts.kv_type, *model));
  fill(session, opts.depth, copied);
  const std::string at_depth = opts.depth > 0 ? " @ d" + std::to_string(opts.depth) + (copied ? " copied" : "") : "";
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); };

  // --bandwidth: the probe is made (1 GiB written) only when asked, so plain runs' memory
  // stays weights + cache.
  std::unique_ptr<ReadBandwidth> probe;
  std::optional<BandwidthCheck> check;
  if (opts.bandwidth && opts.generate > 0) {
    if (!model->executor().keeps_host_weights()) {
      throw Error("--bandwidth measures the host's memory, and this artifact's weights live on a " +
                  model->artifact().backend() + " device");
    }
    probe = std::make_unique<ReadBandwidth>(model->executor().threads());
    const double cache_positions = static_cast<double>(opts.depth) + static_cast<double>(opts.generate) / 2;
    const double cache_bytes = cache_positions * static_cast<double>(opts.batch) *
                               static_cast<double>(kv_cache_bytes_per_position(c, session.kv_type()));
    check = BandwidthCheck{probe.get(), weight_bytes_per_step(*model) + cache_bytes, opts.batch};
  }

  std::vector<Result> results;
  if (opts.prompt > 0) {
    std::vector<std::int64_t> ids(opts.prompt);
    for (std::int64_t i = 0; i < opts.prompt; ++i) ids[i] = (i * 7919 + 13) % c.vocab_size;
    results.push_back(measure("pp" + std::to_string(opts.prompt) + at_depth, opts.prompt, opts.repetitions, [&] {
      rewind(session, opts.depth);
      const auto t0 = Clock::now();
      session.forward(ids);
      return seconds(t0);
    }));
  }
  if (opts.generate > 0 && opts.batch > 1) {
    const std::string test = "tg" + std::to_string(opts.generate) + "x" + std::to_string(opts.batch) + at_depth;
    results.push_back(measure(test, opts.generate * opts.batch, opts.repetitions, [&] {
      const auto t0 = Clock::now();
      decode_together(session, opts.generate, opts.depth);
      return seconds(t0);
    }, check));
  } else if (opts.generate > 0) {
    results.push_back(measure("tg" + std::to_string(opts.generate) + at_depth, opts.generate, opts.repetitions, [&] {
      rewind(session, opts.depth);
      std::int64_t token = 1;
      const auto t0 = Clock::now();
      for (std::int64_t i = 0; i < opts.generate; ++i) {
        token = session.forward_greedy(std::span<const std::int64_t>(&token, 1));
      }
      return seconds(t0);
    }, check));
  }
  if (opts.profile || opts.profile_calls) print_profile(*model, session, opts);
  const std::string quant = quant_of(model->artifact());
  const std::string kv = kv_type_name(session.kv_type());
  const int threads = model->executor().threads();
  // The weights' pages after the tests: decode streams every weight once a token, and in
  // 4 KiB pages each 4 KiB is a TLB miss (a nested page walk on a VM), so a benchmark says
  // which it ran on.
  const std::optional<double> huge_pages =
      model->executor().keeps_host_weights() ? model->weights().huge_page_share() : std::nullopt;
  if (opts.json) {
    for (const Result& r : results) {
      std::printf(
          "{\"test\": \"%s\", \"tokens_per_s\": %.3f, \"stddev\": %.3f, \"median\": %.3f, \"threads\": %d, "
          "\"quant\": \"%s\", \"kv_type\": \"%s\"",
          r.test.c_str(), r.mean, r.stddev, r.median, threads, quant.c_str(), kv.c_str());
      if (r.share) {
        std::printf(", \"bytes_per_step\": %.0f, \"read_bandwidth_gbs\": %.2f, \"bandwidth_fraction\": %.3f",
                    r.share->bytes_per_step, r.share->read_bandwidth / 1e9, r.share->fraction);
      }
      if (huge_pages) std::printf(", \"weights_in_huge_pages\": %.3f", *huge_pages);
      std::printf("}\n");
    }
    return;
  }
  // Before the table: scripts take its last line.
  if (huge_pages) std::printf("weights in transparent huge pages: %.1f%%\n\n", 100 * *huge_pages);
  std::printf("| model | size | params | backend | threads | quant | kv | test | t/s | median |\n");
  std::printf("| --- | ---: | ---: | --- | ---: | --- | --- | --- | ---: | ---: |\n");
  for (const Result& r : results) {
    std::printf("| qwen3 %lldL/%lld | %s | %s | %s | %d | %s | %s | %s | %.2f ± %.2f | %.2f |\n",
                static_cast<long long>(c.num_layers), static_cast<long long>(c.hidden_size),
                human_bytes(static_cast<std::int64_t>(model->weights().total_bytes())).c_str(),
                human_count(parameter_count(c)).c_str(), model->artifact().backend().c_str(), threads, quant.c_str(),
                kv.c_str(), r.test.c_str(), r.mean, r.stddev, r.median);
  }
  for (const Result& r : results) {
    if (!r.share) continue;
    std::printf("\n%s: %.3f GB read a step at %.2f GB/s (median); the read bandwidth of %d threads around the "
                "repetitions: %.2f GB/s (median); %.1f%% of it (median over the repetitions)\n",
                r.test.c_str(), r.share->bytes_per_step / 1e9, r.median / opts.batch * r.share->bytes_per_step / 1e9,
                threads, r.share->read_bandwidth / 1e9, 100 * r.share->fraction);
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prompt processing (pp) and generation (tg) speed");
  cmd->add_option("artifact", opts->artifact, "Compiled model (.q3c)")->required();
  add_device_option(cmd, opts->device);
  cmd->add_option("-p,--prompt", opts->prompt, "Prompt tokens for the pp test (0 skips it; default 512)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 20));
  cmd->add_option("-n,--generate", opts->generate, "Tokens for the tg test (0 skips it; default 128)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 20));
  cmd->add_option("-b,--batch", opts->batch,
                  "Sequences decoded together in the tg test, one batched step a token (default 1)")
      ->check(CLI::Range(std::int64_t{1}, Session::kMaxSlots));
  add_kv_type_flag(*cmd, opts->kv_type);
  cmd->add_option("-d,--depth", opts->depth,
                  "Tokens already in each sequence's cache before every test (filled once, untimed; default 0)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 24));
  cmd->add_option("--depth-fill", opts->depth_fill,
                  "How the depth is filled: compute (a real prefill) or copy (the first 512 tokens computed, "
                  "then copied on: the same cache size and reads, for speed at depths whose prefill would take hours)")
      ->check(CLI::IsMember({"compute", "copy"}));
  cmd->add_option("-c,--context", opts->context,
                  "Positions each sequence's cache holds (default: the depth and the tests' tokens)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 24));
  cmd->add_option("-t,--threads", opts->threads, "Threads (default: every core)")->check(CLI::Range(1, 1024));
  cmd->add_option("-r,--repetitions", opts->repetitions, "Measured runs of each test (default 5)")
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", opts->json, "One JSON object per test instead of the table");
  cmd->add_flag("--bandwidth", opts->bandwidth,
                "With a tg test: measure the threads' read bandwidth before and after each repetition and report "
                "the fraction of it the steps' bytes (weights and cache) reached");
  cmd->add_flag("--profile", opts->profile, "Time every kernel of one prompt step and of the decode steps (stderr)");
  cmd->add_flag("--profile-calls", opts->profile_calls,
                "As --profile, then every call of a step in order: its weights, their bytes and the rate it read "
                "them at (stderr)");
  cmd->callback([opts] { run_bench(*opts); });
}

}  // namespace qwen3c::cli
