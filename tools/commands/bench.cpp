// qwen3c bench ART [-p 512] [-n 128] [-b 1] [-d 0] [-t THREADS] [-r REPS] [--json]
//
// Like llama-bench: pp<N> is one forward over an N-token prompt (tokens/s = N / time),
// tg<N> generates N tokens one at a time after a fresh start (tokens/s = N / time). With
// --batch B, tg<N>xB generates N tokens in each of B sequences decoded together, one
// batched step a token for all of them (tokens/s = B * N / time), as llama-batched-bench's
// S_TG. With --depth D (llama-bench's -d), every test starts with D tokens already in each
// sequence's cache (filled once, untimed; each run rewinds to them): "tg128 @ d8192". Each
// test runs REPS times after one warm-up; mean, standard deviation and median are
// reported.

#include <chrono>
#include <cmath>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <numeric>

#include "runtime/core/error.h"
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
  std::int64_t context = 0;  // 0: what the tests need
  std::string kv_type;
  int threads = 0;
  int repetitions = 5;
  bool json = false;
  bool profile = false;
};

struct Result {
  std::string test;
  double mean = 0, stddev = 0, median = 0;
};

Result measure(const std::string& test, std::int64_t tokens, int repetitions, const std::function<double()>& run) {
  run();  // warm-up: first-touch of the arena and caches
  std::vector<double> rates;
  for (int i = 0; i < repetitions; ++i) rates.push_back(tokens / run());
  const double mean = std::accumulate(rates.begin(), rates.end(), 0.0) / rates.size();
  double var = 0;
  for (double r : rates) var += (r - mean) * (r - mean);
  std::vector<double> sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return {test, mean, n > 1 ? std::sqrt(var / (n - 1)) : 0.0, median};
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

// Fills every sequence of `session` to `depth` tokens (untimed), in prompt-sized steps.
void fill(Session& session, std::int64_t depth) {
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
  for (std::int64_t i = 0; i < steps; ++i) {
    for (std::int64_t s = 0; s < batch; ++s) chunks[s] = {s, std::span<const std::int64_t>(&tokens[s], 1)};
    const std::vector<float> logits = session.forward_batch(chunks);
    for (std::int64_t s = 0; s < batch; ++s) {
      const float* row = logits.data() + s * vocab;
      tokens[s] = std::max_element(row, row + vocab) - row;
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
  Session session(model, context, opts.batch, resolve_kv_type(opts.kv_type, *model));
  fill(session, opts.depth);
  const std::string at_depth = opts.depth > 0 ? " @ d" + std::to_string(opts.depth) : "";
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); };

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
    }));
  } else if (opts.generate > 0) {
    results.push_back(measure("tg" + std::to_string(opts.generate) + at_depth, opts.generate, opts.repetitions, [&] {
      rewind(session, opts.depth);
      std::int64_t token = 1;
      const auto t0 = Clock::now();
      for (std::int64_t i = 0; i < opts.generate; ++i) {
        token = session.forward_greedy(std::span<const std::int64_t>(&token, 1));
      }
      return seconds(t0);
    }));
  }
  if (opts.profile) print_profile(*model, session, opts);
  const std::string quant = quant_of(model->artifact());
  const std::string kv = kv_type_name(session.kv_type());
  const int threads = model->executor().threads();
  if (opts.json) {
    for (const Result& r : results) {
      std::printf(
          "{\"test\": \"%s\", \"tokens_per_s\": %.3f, \"stddev\": %.3f, \"median\": %.3f, \"threads\": %d, "
          "\"quant\": \"%s\", \"kv_type\": \"%s\"}\n",
          r.test.c_str(), r.mean, r.stddev, r.median, threads, quant.c_str(), kv.c_str());
    }
    return;
  }
  std::printf("| model | size | params | backend | threads | quant | kv | test | t/s | median |\n");
  std::printf("| --- | ---: | ---: | --- | ---: | --- | --- | --- | ---: | ---: |\n");
  for (const Result& r : results) {
    std::printf("| qwen3 %lldL/%lld | %s | %s | %s | %d | %s | %s | %s | %.2f ± %.2f | %.2f |\n",
                static_cast<long long>(c.num_layers), static_cast<long long>(c.hidden_size),
                human_bytes(static_cast<std::int64_t>(model->weights().total_bytes())).c_str(),
                human_count(parameter_count(c)).c_str(), model->artifact().backend().c_str(), threads, quant.c_str(),
                kv.c_str(), r.test.c_str(), r.mean, r.stddev, r.median);
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
  cmd->add_option("-c,--context", opts->context,
                  "Positions each sequence's cache holds (default: the depth and the tests' tokens)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 24));
  cmd->add_option("-t,--threads", opts->threads, "Threads (default: every core)")->check(CLI::Range(1, 1024));
  cmd->add_option("-r,--repetitions", opts->repetitions, "Measured runs of each test (default 5)")
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", opts->json, "One JSON object per test instead of the table");
  cmd->add_flag("--profile", opts->profile, "Time every kernel of one prompt step and of the decode steps (stderr)");
  cmd->callback([opts] { run_bench(*opts); });
}

}  // namespace qwen3c::cli
