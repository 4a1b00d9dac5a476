#include "runtime/text/byte_level.h"

#include "runtime/text/utf8.h"

namespace qwen3c {

ByteLevelAlphabet::ByteLevelAlphabet() {
  bytes_.fill(-1);
  // Printable Latin-1 bytes stand for themselves; the other 68 map to U+0100 upwards.
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
    append_utf8(chars_[b], c);
    bytes_[c] = b;
  }
}

const ByteLevelAlphabet& byte_level_alphabet() {
  static const ByteLevelAlphabet alphabet;
  return alphabet;
}

}  // namespace qwen3c
