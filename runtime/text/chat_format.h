#pragma once
// The Qwen3 chat format, implemented natively (no Jinja engine): what the chat template in
// Qwen3's tokenizer_config.json renders for system, user, assistant and tool turns, tool
// definitions and an assistant's tool calls, with the generation prompt and
// enable_thinking.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace qwen3c {

// A function call an assistant made: its name and its arguments as JSON text.
struct ChatToolCall {
  std::string name;
  std::string arguments;  // a JSON object, rendered as it is
};

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" or "tool"
  std::string content;
  std::optional<std::string> reasoning_content;  // an assistant's thinking, when kept apart
  std::vector<ChatToolCall> tool_calls;          // an assistant's calls, after its content
};

struct ChatOptions {
  bool add_generation_prompt = true;
  bool enable_thinking = true;  // false: the prompt ends with an empty think block
  // Tool definitions, each as JSON text the way the template's `tojson` writes it
  // (python_json below): when present they go into the system turn.
  std::vector<std::string> tools;
};

// Throws qwen3c::Error on an unknown role.
std::string render_chat(const std::vector<ChatMessage>& messages, const ChatOptions& options);

// JSON as Python's json.dumps(ensure_ascii=False) writes it, which is what the template's
// `tojson` gives: ", " and ": " separators, keys in their given order.
std::string python_json(const nlohmann::ordered_json& value);

}  // namespace qwen3c
