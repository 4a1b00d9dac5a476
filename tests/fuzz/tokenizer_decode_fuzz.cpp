// Arbitrary token ids (any 32-bit value, so negative and out-of-range ones too) through
// decode and the streaming decoder that `run` and `chat` use.
#include <cstring>

#include "runtime/text/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const qwen3c::Tokenizer tokenizer = qwen3c::Tokenizer::load(QWEN3C_TEST_DATA "/models/qwen3-tiny");
  std::vector<std::int64_t> ids(size / 4);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::int32_t v;
    std::memcpy(&v, data + 4 * i, 4);
    ids[i] = v;
  }
  qwen3c::fuzz::expect_only_errors([&] { (void)tokenizer.decode(ids); });
  qwen3c::fuzz::expect_only_errors([&] {
    qwen3c::StreamingDecoder decoder(tokenizer);
    std::string text;
    for (std::int64_t id : ids) text += decoder.push(id);
    text += decoder.flush();
  });
  return 0;
}
