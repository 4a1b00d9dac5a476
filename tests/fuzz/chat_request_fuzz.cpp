// A /v1/chat/completions body through the request parser (fields, types, limits, the
// unimplemented ones refused) and, when it parses, the Qwen3 chat template.
#include "runtime/serving/openai_api.h"
#include "runtime/text/chat_format.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const qwen3c::openai::ChatRequest r =
        qwen3c::openai::parse_chat_request(qwen3c::fuzz::as_text(data, size), qwen3c::openai::Limits{4096, 0});
    (void)qwen3c::render_chat(r.messages, r.chat);
  } catch (const qwen3c::openai::ApiError& e) {
    if (e.status != 400) std::abort();  // bad requests are 400s, nothing else
  } catch (const qwen3c::Error&) {
  }
  return 0;
}
