#pragma once
// Byte-pair encoding by merge rank (the model of a Hugging Face "BPE" tokenizer): a word's
// bytes start as single-byte tokens, then the adjacent pair with the lowest merge rank is
// merged, leftmost first, until no mergeable pair is left. O(n log n) in the word length.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace qwen3c {

class BpeModel {
 public:
  // `byte_tokens[b]`: the token id of the single byte b. `merges[r]` merges the pair
  // (left, right) into `result`, rank r.
  struct Merge {
    std::int32_t left, right, result;
  };
  BpeModel(std::vector<std::int32_t> byte_tokens, const std::vector<Merge>& merges);

  // Appends the tokens of `word` (raw bytes) to `out`.
  void encode_word(std::string_view word, std::vector<std::int64_t>& out) const;

 private:
  static std::uint64_t key(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
  }
  struct Rule {
    std::int32_t rank, result;
  };
  std::vector<std::int32_t> byte_tokens_;
  absl::flat_hash_map<std::uint64_t, Rule> rules_;  // by key(left, right): the hot lookup
};

}  // namespace qwen3c
