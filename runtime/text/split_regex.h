#pragma once
// The pre-tokenizer's split: a PCRE2 (JIT-compiled, Unicode) regex whose matches, and the
// text between them, become the pieces BPE encodes separately ("Isolated" behaviour).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qwen3c {

class SplitRegex {
 public:
  // Throws qwen3c::Error when the pattern does not compile.
  explicit SplitRegex(const std::string& pattern);
  ~SplitRegex();
  SplitRegex(SplitRegex&&) noexcept;
  SplitRegex& operator=(SplitRegex&&) noexcept;

  // Calls `piece` for each piece of `text` (valid UTF-8), in order.
  template <class F>
  void split(std::string_view text, F&& piece) const {
    std::vector<std::string_view> pieces;
    split_into(text, pieces);
    for (std::string_view p : pieces) piece(p);
  }
  void split_into(std::string_view text, std::vector<std::string_view>& pieces) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qwen3c
