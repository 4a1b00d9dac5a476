#pragma once
// The Qwen3 chat format, implemented natively (no Jinja engine): what the chat template in
// Qwen3's tokenizer_config.json renders for system, user, assistant and tool turns, with
// the generation prompt and enable_thinking. Tool definitions and tool calls are not
// rendered.

#include <optional>
#include <string>
#include <vector>

namespace qwen3c {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" or "tool"
  std::string content;
  std::optional<std::string> reasoning_content;  // an assistant's thinking, when kept apart
};

struct ChatOptions {
  bool add_generation_prompt = true;
  bool enable_thinking = true;  // false: the prompt ends with an empty think block
};

// Throws qwen3c::Error on an unknown role.
std::string render_chat(const std::vector<ChatMessage>& messages, const ChatOptions& options);

}  // namespace qwen3c
