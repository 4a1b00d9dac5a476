#pragma once
// Text generation over a session: prefill a prompt, then sample token by token, streaming
// text as it becomes complete, until an end-of-turn token, a stop string, the token limit
// or a full context.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/generation/sampler.h"
#include "runtime/execution/session.h"
#include "runtime/text/tokenizer.h"

namespace qwen3c {

struct GenerationOptions {
  std::int64_t max_tokens = 256;
  std::vector<std::string> stop_strings;  // generation ends before any of these
  SamplingOptions sampling;
};

struct GenerationResult {
  enum class Stop { EndOfTurn, StopString, MaxTokens, ContextFull };
  Stop stop = Stop::MaxTokens;
  std::string text;  // everything streamed
  std::vector<std::int64_t> tokens;  // generated tokens (the end-of-turn token excluded)
  // The last sampled token (the end-of-turn token, or the last of `tokens`) is not in the
  // session yet: whoever continues the conversation feeds it first.
  std::int64_t unfed = -1;
  std::int64_t prompt_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

// The token ids that end a turn for this tokenizer and model: <|im_end|>, <|endoftext|> and
// the config's eos_token_id.
std::vector<std::int64_t> end_of_turn_tokens(const Tokenizer& tokenizer, const ModelConfig& config);

// The model's rows the tokenizer cannot decode (padding rows of the embedding: Qwen3 has
// 151,936 rows for 151,669 tokens). They must never be sampled: mask_ids sets their logits
// to -inf.
std::vector<std::int64_t> undecodable_ids(const Tokenizer& tokenizer, const ModelConfig& config);
void mask_ids(std::span<float> logits, std::span<const std::int64_t> ids);

class Generator {
 public:
  Generator(Session& session, const Tokenizer& tokenizer);

  // Appends `prompt` to the session and generates. `on_text` receives each streamed piece.
  // Only ids the tokenizer can decode are ever sampled. Throws qwen3c::Error when the prompt
  // itself does not fit in the context; on any error the session and the history are left
  // as they were before the call, so a conversation can go on.
  GenerationResult generate(std::span<const std::int64_t> prompt, const GenerationOptions& options,
                            const std::function<void(std::string_view)>& on_text);

 private:
  GenerationResult generate_or_throw(std::span<const std::int64_t> prompt, const GenerationOptions& options,
                                     const std::function<void(std::string_view)>& on_text);

  Session& session_;
  const Tokenizer& tokenizer_;
  std::vector<std::int64_t> end_tokens_;
  std::vector<std::int64_t> undecodable_;  // never sampled (see undecodable_ids)
  std::vector<std::int64_t> history_;  // every token fed, for the repetition penalty
};

}  // namespace qwen3c
