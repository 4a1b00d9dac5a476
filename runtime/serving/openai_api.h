#pragma once
// The OpenAI API as `qwen3c serve` speaks it: requests parsed and checked into what the
// runtime needs (a rendered prompt, generation options), and the JSON of replies and
// errors. No I/O here: the HTTP side (tools/commands/serve.cpp) moves bytes, this decides
// what they mean, so it can be tested and fuzzed alone.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/generation/generator.h"
#include "runtime/text/chat_format.h"

namespace qwen3c::openai {

// An error as the API returns it: {"error": {"message", "type", "param", "code"}}.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string type, const std::string& message, std::string param = {}, std::string code = {})
      : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)),
        code(std::move(code)) {}
  int status;
  std::string type;  // invalid_request_error, authentication_error, not_found_error, ...
  std::string param;
  std::string code;
};
nlohmann::ordered_json error_body(const ApiError& e);

// A request body as a JSON object, keys in the client's order; ApiError (400) for
// malformed JSON, duplicate keys, deep nesting or anything but an object.
nlohmann::ordered_json parse_request_object(std::string_view body);

// Limits the server applies to every request.
struct Limits {
  std::int64_t context = 4096;           // a slot's positions
  std::int64_t default_max_tokens = 0;   // 0: as many as the context leaves
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  ChatOptions chat;  // tools and thinking
  GenerationOptions generation;
  bool stream = false;
  bool include_usage = false;
};

struct CompletionRequest {
  std::string model;
  std::string prompt;
  GenerationOptions generation;
  bool stream = false;
  bool include_usage = false;
};

// Throw ApiError (400) naming the field at fault: malformed JSON, a wrong type, a value
// out of range, or a field the server does not implement that would change the answer
// (n > 1, logprobs, a response_format schema, ...). Fields that change nothing are
// accepted and ignored.
ChatRequest parse_chat_request(std::string_view body, const Limits& limits);
CompletionRequest parse_completion_request(std::string_view body, const Limits& limits);

// The reply of a finished chat completion (message with content, reasoning_content and
// tool_calls split out of the generated text) and of a text completion.
struct Usage {
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
};
nlohmann::ordered_json chat_response(const std::string& id, std::int64_t created, const std::string& model,
                                     const std::string& text, const std::string& finish_reason, const Usage& usage);
nlohmann::ordered_json completion_response(const std::string& id, std::int64_t created, const std::string& model,
                                           const std::string& text, const std::string& finish_reason,
                                           const Usage& usage);
nlohmann::ordered_json usage_json(const Usage& usage);

}  // namespace qwen3c::openai
