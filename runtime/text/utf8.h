#pragma once
// UTF-8 helpers for the tokenizer: validation, lossy decoding, complete-prefix length.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace qwen3c {

// The byte offset of the first invalid UTF-8 sequence in `text`, if any.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

// `bytes` with every maximal invalid subsequence replaced by U+FFFD (as Rust's
// String::from_utf8_lossy, which Hugging Face's decoder uses).
std::string utf8_lossy(std::string_view bytes);

// Length of the longest prefix of `bytes` that does not end inside an incomplete (but so
// far valid) multi-byte sequence: what a streaming decoder can emit now.
std::size_t utf8_complete_prefix(std::string_view bytes);

// Appends the UTF-8 encoding of `code_point`.
void append_utf8(std::string& out, char32_t code_point);

}  // namespace qwen3c
