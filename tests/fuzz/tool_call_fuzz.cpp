// Model output through the reply splitter: thinking, content and <tool_call> JSON. The
// reply streamed in pieces must split exactly as the whole reply does.
#include <cstdlib>

#include "runtime/text/reply_stream.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 7;
  const std::string_view text = qwen3c::fuzz::as_text(data + 1, size - 1);
  const qwen3c::ParsedReply whole = qwen3c::parse_reply(text);
  std::string reasoning, content;
  std::size_t calls = 0;
  qwen3c::ReplyStream stream({[&](std::string_view t) { reasoning += t; }, [&](std::string_view t) { content += t; },
                              [&](const qwen3c::ChatToolCall&) { ++calls; }});
  for (std::size_t i = 0; i < text.size(); i += piece) stream.push(text.substr(i, piece));
  stream.finish();
  if (reasoning != whole.reasoning || content != whole.content || calls != whole.tool_calls.size()) std::abort();
  return 0;
}
