// Arbitrary bytes through the real Qwen3 tokenizer: invalid UTF-8 is an Error; valid text
// must encode, and its decoding (the text after NFC normalisation) must encode and decode
// back to itself exactly.
#include <cstdlib>

#include "runtime/text/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const qwen3c::Tokenizer tokenizer = qwen3c::Tokenizer::load(QWEN3C_TEST_DATA "/models/qwen3-tiny");
  const std::string_view text = qwen3c::fuzz::as_text(data, size);
  std::vector<std::int64_t> ids;
  try {
    ids = tokenizer.encode(text);
  } catch (const qwen3c::Error&) {
    return 0;  // not UTF-8
  }
  const std::string normalised = tokenizer.decode(ids);
  if (tokenizer.decode(tokenizer.encode(normalised)) != normalised) std::abort();
  return 0;
}
