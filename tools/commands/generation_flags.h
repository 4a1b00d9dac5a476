#pragma once
// Flags shared by `run` and `chat`: sampling, limits, context, KV cache type.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "runtime/generation/generator.h"
#include "tools/commands/kv_type_flag.h"
#include "tools/commands/validators.h"

namespace qwen3c::cli {

struct GenerationFlags {
  GenerationOptions generation;
  std::int64_t context = 4096;
  std::string kv_type;  // empty: kv_type_flag.h's default
  bool greedy = false;
};

inline void add_generation_flags(CLI::App& cmd, GenerationFlags& f) {
  SamplingOptions& s = f.generation.sampling;
  cmd.add_option("-n,--max-tokens", f.generation.max_tokens, "Most tokens to generate (default 256)")
      ->check(count_in(1, std::int64_t{1} << 24));
  cmd.add_option("--temperature", s.temperature, "Sampling temperature; 0 is greedy (default 0.7)")
      ->check(number_in(0.0, 100.0));
  cmd.add_option("--top-k", s.top_k, "Keep the k most likely tokens; 0 disables (default 20)")
      ->check(count_in(0, std::int64_t{1} << 24));
  cmd.add_option("--top-p", s.top_p, "Nucleus sampling mass (default 0.8; 1 disables)")
      ->check(number_in(0.0, 1.0));
  cmd.add_option("--min-p", s.min_p, "Drop tokens below min-p x the top probability (default 0)")
      ->check(number_in(0.0, 0.999));
  cmd.add_option("--repeat-penalty", s.repetition_penalty, "Penalty for tokens already seen (default 1: off)")
      ->check(number_in(0.01, 100.0));
  cmd.add_option("--seed", s.seed, "Random seed (same seed, same text)")
      ->check(count_in(0, std::numeric_limits<std::int64_t>::max()));
  cmd.add_flag("--greedy", f.greedy, "Same as --temperature 0");
  cmd.add_option("--stop", f.generation.stop_strings, "Stop before this text (repeatable)");
  cmd.add_option("-c,--context", f.context, "Context length in tokens (default 4096, at most the model's)")
      ->check(count_in(1, std::int64_t{1} << 24));
  add_kv_type_flag(cmd, f.kv_type);
}

}  // namespace qwen3c::cli
