#pragma once
// Splits a Qwen3 reply, as it streams, into what an OpenAI client expects apart: the
// thinking (`<think>...</think>`, reasoning_content), the answer (content) and tool calls
// (`<tool_call>{"name": ..., "arguments": {...}}</tool_call>`, returned as structured
// calls). Text that might be the start of a tag is held back until it is known not to be.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/text/chat_format.h"

namespace qwen3c {

class ReplyStream {
 public:
  struct Events {
    std::function<void(std::string_view)> reasoning;
    std::function<void(std::string_view)> content;
    std::function<void(const ChatToolCall&)> tool_call;
  };
  explicit ReplyStream(Events events) : events_(std::move(events)) {}

  void push(std::string_view text);
  // The end of the reply: whatever was held back is given out (an unfinished tool call
  // as content, an unfinished thought as reasoning).
  void finish();
  int tool_calls() const { return tool_calls_; }

 private:
  enum class State { Start, Reasoning, AfterThink, Content, ToolCall };
  void run(bool final);
  void emit_content(std::string_view text);

  Events events_;
  State state_ = State::Start;
  std::string held_;
  std::string newlines_;  // content newlines held until more content follows them
  bool reasoning_started_ = false;
  int tool_calls_ = 0;
};

// A whole reply at once.
struct ParsedReply {
  std::string reasoning;
  bool has_reasoning = false;
  std::string content;
  std::vector<ChatToolCall> tool_calls;
};
ParsedReply parse_reply(std::string_view text);

// `<tool_call>` JSON -> a call; false when it is not {"name": string, "arguments": ...}.
bool parse_tool_call(std::string_view json_text, ChatToolCall* call);

}  // namespace qwen3c
