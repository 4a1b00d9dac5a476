#pragma once
// The Qwen3 tokenizer: byte-level BPE as described by a Hugging Face tokenizer.json.
//
// Encoding: added tokens (special or not) are matched in the raw text first; the text
// between them is NFC-normalised, split by the pre-tokenizer regex, mapped to the
// byte-level alphabet and BPE-encoded. Decoding maps tokens back to bytes and those to
// UTF-8 (invalid sequences become U+FFFD, as in Hugging Face).

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "runtime/text/bpe.h"
#include "runtime/text/split_regex.h"

namespace qwen3c {

class Tokenizer {
 public:
  // Parses tokenizer.json text; `source` names it in errors.
  static Tokenizer from_json(std::string_view json_text, const std::string& source);
  // A tokenizer.json, a model folder holding one, or a .q3c artifact that embeds one.
  static Tokenizer load(const std::string& path);
  Tokenizer(Tokenizer&& other) noexcept;

  // Throws qwen3c::Error when `text` is not valid UTF-8 (naming the byte offset) or is
  // longer than kMaxEncodeBytes (far beyond any context: 262,144 tokens are about 1 MiB).
  std::vector<std::int64_t> encode(std::string_view text) const;
  static constexpr std::size_t kMaxEncodeBytes = std::size_t{16} << 20;
  // Throws qwen3c::Error naming an id outside the vocabulary.
  std::string decode(std::span<const std::int64_t> ids) const;
  // The raw bytes a token stands for (may be part of a UTF-8 character).
  const std::string& token_bytes(std::int64_t id) const;

  std::optional<std::int64_t> token_id(std::string_view token) const;
  bool is_special(std::int64_t id) const;
  // Whether decode() accepts `id`: a model's vocabulary is often larger than its
  // tokenizer's (Qwen3: 151,936 rows, 151,669 tokens), and the extra rows are never text.
  bool can_decode(std::int64_t id) const {
    return id >= 0 && id < size() && !bytes_[static_cast<std::size_t>(id)].empty();
  }
  // One past the largest token id.
  std::int64_t size() const { return static_cast<std::int64_t>(bytes_.size()); }

 private:
  Tokenizer() = default;
  void encode_piece(std::string_view piece, std::vector<std::int64_t>& out) const;
  void encode_segment(std::string_view text, std::vector<std::int64_t>& out) const;
  void check_id(std::int64_t id) const;

  std::unique_ptr<BpeModel> bpe_;
  std::unique_ptr<SplitRegex> split_;
  std::vector<std::string> bytes_;  // id -> bytes ("" for holes in the id space)
  std::vector<bool> special_;
  absl::flat_hash_map<std::string, std::int64_t> vocab_;  // token string (byte-level) -> id
  struct AddedToken {
    std::string content;
    std::int64_t id;
  };
  std::vector<AddedToken> added_;  // longest first
  std::array<bool, 256> added_first_byte_{};  // bytes an added token can start with
  bool nfc_ = false;
  // BPE results of short pieces: words repeat, merging them again is most of the work.
  static constexpr std::size_t kCachedPieceBytes = 32;
  static constexpr std::size_t kCacheEntries = 1 << 16;
  mutable std::mutex cache_mutex_;
  mutable absl::flat_hash_map<std::string, std::vector<std::int64_t>> cache_;
};

// Turns a stream of token ids into text without ever emitting half a UTF-8 character.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  // The text that became complete with `id` (possibly empty).
  std::string push(std::int64_t id);
  // Whatever is left (an unfinished character becomes U+FFFD).
  std::string flush();

 private:
  const Tokenizer& tokenizer_;
  std::string pending_;
};

}  // namespace qwen3c
