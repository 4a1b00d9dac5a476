#include "runtime/generation/generator.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "runtime/core/error.h"
#include "runtime/generation/reply.h"

namespace qwen3c {

std::vector<std::int64_t> end_of_turn_tokens(const Tokenizer& tokenizer, const ModelConfig& config) {
  std::vector<std::int64_t> ids;
  for (const char* token : {"<|im_end|>", "<|endoftext|>"}) {
    if (auto id = tokenizer.token_id(token)) ids.push_back(*id);
  }
  if (config.eos_token_id >= 0 && std::find(ids.begin(), ids.end(), config.eos_token_id) == ids.end()) {
    ids.push_back(config.eos_token_id);
  }
  return ids;
}

std::vector<std::int64_t> undecodable_ids(const Tokenizer& tokenizer, const ModelConfig& config) {
  std::vector<std::int64_t> ids;
  for (std::int64_t id = 0; id < config.vocab_size; ++id) {
    if (!tokenizer.can_decode(id)) ids.push_back(id);
  }
  return ids;
}

void mask_ids(std::span<float> logits, std::span<const std::int64_t> ids) {
  for (std::int64_t id : ids) logits[static_cast<std::size_t>(id)] = -INFINITY;
}

Generator::Generator(Session& session, const Tokenizer& tokenizer)
    : session_(session), tokenizer_(tokenizer),
      end_tokens_(end_of_turn_tokens(tokenizer, session.model().config())),
      undecodable_(undecodable_ids(tokenizer, session.model().config())) {}

GenerationResult Generator::generate(std::span<const std::int64_t> prompt, const GenerationOptions& options,
                                     const std::function<void(std::string_view)>& on_text) {
  const std::int64_t position = session_.position();
  const std::size_t history = history_.size();
  try {
    return generate_or_throw(prompt, options, on_text);
  } catch (...) {
    session_.truncate(position);
    history_.resize(history);
    throw;
  }
}

GenerationResult Generator::generate_or_throw(std::span<const std::int64_t> prompt,
                                              const GenerationOptions& options,
                                              const std::function<void(std::string_view)>& on_text) {
  using Clock = std::chrono::steady_clock;
  GenerationResult result;
  result.prompt_tokens = static_cast<std::int64_t>(prompt.size());
  if (prompt.empty()) throw Error("the prompt is empty");
  const std::int64_t room = session_.max_context() - session_.position();
  if (static_cast<std::int64_t>(prompt.size()) > room) {
    throw Error("the prompt is " + std::to_string(prompt.size()) + " tokens, but only " + std::to_string(room) +
                " of the context's " + std::to_string(session_.max_context()) +
                " positions are free (raise --context or shorten the prompt)");
  }
  Sampler sampler(options.sampling);
  Reply reply(tokenizer_, options.stop_strings, options.max_tokens, end_tokens_);
  auto emit = [&](const std::string& text) {
    if (text.empty()) return;
    result.text += text;
    on_text(text);
  };

  // Greedy decoding needs only the argmax: the session computes it on the device where the
  // backend can, and no logits are read back. Not when some rows are undecodable: their
  // logits must be masked first.
  const bool greedy = sampler.is_plain_argmax() && undecodable_.empty();
  std::vector<float> logits;
  std::int64_t greedy_next = -1;
  auto forward = [&](std::span<const std::int64_t> ids) {
    if (greedy) {
      greedy_next = session_.forward_greedy(ids);
    } else {
      logits = session_.forward(ids);
      mask_ids(logits, undecodable_);
    }
  };

  const auto t0 = Clock::now();
  forward(prompt);
  history_.insert(history_.end(), prompt.begin(), prompt.end());
  const auto t1 = Clock::now();
  result.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();

  while (true) {
    const std::int64_t next = greedy ? greedy_next : sampler.sample(logits, history_);
    result.unfed = next;
    std::string text;
    const Reply::End end = reply.take(next, text);
    emit(text);
    if (end == Reply::End::EndOfTurn) result.stop = GenerationResult::Stop::EndOfTurn;
    if (end == Reply::End::StopString) result.stop = GenerationResult::Stop::StopString;
    if (end == Reply::End::MaxTokens) result.stop = GenerationResult::Stop::MaxTokens;
    if (end != Reply::End::None) break;
    if (session_.position() >= session_.max_context()) {
      result.stop = GenerationResult::Stop::ContextFull;
      emit(reply.flush());
      break;
    }
    forward(std::span<const std::int64_t>(&next, 1));
    history_.push_back(next);
  }
  result.tokens = reply.tokens();
  result.decode_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return result;
}

}  // namespace qwen3c
