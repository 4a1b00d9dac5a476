#pragma once
// Picks the next token from logits: repetition penalty, then temperature (0 = greedy),
// then top-k, top-p and min-p filtering, then a draw from a seeded generator, so the same
// seed gives the same tokens.

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace qwen3c {

struct SamplingOptions {
  float temperature = 0.7f;   // 0: greedy (argmax)
  std::int64_t top_k = 20;    // 0: off
  float top_p = 0.8f;         // 1: off
  float min_p = 0.0f;         // 0: off; keeps tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f;  // 1: off; > 1 discourages tokens already seen
  std::uint64_t seed = 0;
  // OpenAI's: subtracted from a seen token's logit once (presence) and once per time it
  // was seen (frequency); 0: off. In [-2, 2].
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
};

class Sampler {
 public:
  // Throws qwen3c::Error on out-of-range options.
  explicit Sampler(const SamplingOptions& options);

  // `history`: tokens so far (for the repetition penalty). `logits` is not modified.
  std::int64_t sample(std::span<const float> logits, std::span<const std::int64_t> history);
  // True when sample() is the argmax of the logits as they are (temperature 0, no
  // repetition penalty): a caller may then ask the backend for the argmax alone.
  bool is_plain_argmax() const {
    return options_.temperature == 0.0f && options_.repetition_penalty == 1.0f && options_.presence_penalty == 0.0f &&
           options_.frequency_penalty == 0.0f;
  }

  // The candidates and probabilities the next draw would use (after every filter), for
  // tests and for callers who want them.
  struct Candidate {
    std::int64_t id;
    float probability;
  };
  std::vector<Candidate> distribution(std::span<const float> logits,
                                      std::span<const std::int64_t> history) const;

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace qwen3c
