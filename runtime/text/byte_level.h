#pragma once
// GPT-2's byte-level alphabet: each of the 256 byte values is written as one printable
// Unicode character, so that BPE vocabularies can spell arbitrary bytes.

#include <array>
#include <cstdint>
#include <string>

namespace qwen3c {

class ByteLevelAlphabet {
 public:
  ByteLevelAlphabet();
  // The character (as UTF-8) standing for byte `b`.
  const std::string& encode(std::uint8_t b) const { return chars_[b]; }
  // The byte a code point stands for, or -1 for a code point outside the alphabet.
  int decode(char32_t code_point) const { return code_point < 324 ? bytes_[code_point] : -1; }

 private:
  std::array<std::string, 256> chars_;
  std::array<int, 324> bytes_;  // every alphabet code point is below 324
};

const ByteLevelAlphabet& byte_level_alphabet();

}  // namespace qwen3c
