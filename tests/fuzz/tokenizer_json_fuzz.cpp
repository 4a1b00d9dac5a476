// Loading a tokenizer.json: vocabulary, merges, added tokens, the pre-tokenizer's split
// regex; a tokenizer that loads must then encode and decode.
#include "runtime/text/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  qwen3c::fuzz::expect_only_errors([&] {
    qwen3c::Tokenizer t = qwen3c::Tokenizer::from_json(qwen3c::fuzz::as_text(data, size), "tokenizer.json");
    const std::vector<std::int64_t> ids = t.encode("Hello, world! 你好 <|im_end|>  \n\n 123");
    (void)t.decode(ids);
  });
  return 0;
}
