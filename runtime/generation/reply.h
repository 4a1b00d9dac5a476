#pragma once
// One reply being generated, token by token: the text each sampled token completes (held
// back while it may still be the start of a stop string) and whether the reply ends there.
// Shared by the single-sequence Generator and the server's slot scheduler, which differ
// only in how they get each token.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/generation/stop_strings.h"
#include "runtime/text/tokenizer.h"

namespace qwen3c {

class Reply {
 public:
  enum class End { None, EndOfTurn, StopString, MaxTokens };

  // Ends at any of `end_tokens` (not part of the reply), before any of `stop_strings`, or
  // after `max_tokens` tokens. The references must outlive the reply.
  Reply(const Tokenizer& tokenizer, const std::vector<std::string>& stop_strings, std::int64_t max_tokens,
        std::span<const std::int64_t> end_tokens)
      : decoder_(tokenizer), stops_(stop_strings), max_tokens_(max_tokens), end_tokens_(end_tokens) {}

  // Takes the next sampled token; appends the text that became final to `text`. Returns how
  // the reply ended with it (None: it goes on). Text held back is flushed into `text` when
  // the reply ends, but at a stop string (which drops what follows it).
  End take(std::int64_t token, std::string& text) {
    for (std::int64_t end : end_tokens_) {
      if (token == end) {
        text += flush();
        return End::EndOfTurn;
      }
    }
    tokens_.push_back(token);
    bool stopped = false;
    text += stops_.push(decoder_.push(token), &stopped);
    if (stopped) return End::StopString;
    if (static_cast<std::int64_t>(tokens_.size()) >= max_tokens_) {
      text += flush();
      return End::MaxTokens;
    }
    return End::None;
  }

  // The text held back: for a reply that ends for another reason (a full context).
  std::string flush() { return stops_.flush() + decoder_.flush(); }

  // The reply's tokens (an end-of-turn token excluded).
  const std::vector<std::int64_t>& tokens() const { return tokens_; }

 private:
  StreamingDecoder decoder_;
  StopStringFilter stops_;
  std::int64_t max_tokens_;
  std::span<const std::int64_t> end_tokens_;
  std::vector<std::int64_t> tokens_;
};

}  // namespace qwen3c
