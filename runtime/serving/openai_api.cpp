#include "runtime/serving/openai_api.h"

#include <cmath>
#include <limits>

#include "runtime/core/error.h"
#include "runtime/core/strict_json.h"
#include "runtime/text/reply_stream.h"

namespace qwen3c::openai {

using ojson = nlohmann::ordered_json;

namespace {

ApiError bad(const std::string& message, const std::string& param = {}) {
  return ApiError(400, "invalid_request_error", message, param);
}

const ojson* field(const ojson& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

double number(const ojson& j, const char* key, double lo, double hi, double fallback) {
  const ojson* v = field(j, key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) throw bad(std::string("'") + key + "' must be a number", key);
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi)) {
    throw bad(std::string("'") + key + "' must be between " + ojson(lo).dump() + " and " + ojson(hi).dump(), key);
  }
  return x;
}

std::int64_t integer(const ojson& j, const char* key, std::int64_t lo, std::int64_t hi, std::int64_t fallback) {
  const ojson* v = field(j, key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer()) throw bad(std::string("'") + key + "' must be an integer", key);
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) {
    throw bad(std::string("'") + key + "' must be at most " + std::to_string(hi), key);
  }
  const std::int64_t x = v->get<std::int64_t>();
  if (x < lo || x > hi) {
    throw bad(std::string("'") + key + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi), key);
  }
  return x;
}

bool boolean(const ojson& j, const char* key, bool fallback) {
  const ojson* v = field(j, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) throw bad(std::string("'") + key + "' must be true or false", key);
  return v->get<bool>();
}

std::string model_of(const ojson& j) {
  const ojson* v = field(j, "model");
  if (v == nullptr) throw bad("you must provide a model parameter", "model");
  if (!v->is_string()) throw bad("'model' must be a string", "model");
  return v->get<std::string>();
}

// Fields the server does not implement that would change the answer: refused by name.
void refuse_unimplemented(const ojson& j) {
  if (const ojson* n = field(j, "n"); n && !(n->is_number_integer() && n->get<std::int64_t>() == 1)) {
    throw bad("'n' other than 1 is not supported: one choice per request", "n");
  }
  if (const ojson* v = field(j, "best_of"); v && !(v->is_number_integer() && v->get<std::int64_t>() == 1)) {
    throw bad("'best_of' other than 1 is not supported", "best_of");
  }
  if (const ojson* v = field(j, "logprobs"); v && !(v->is_boolean() && !v->get<bool>())) {
    throw bad("'logprobs' is not supported", "logprobs");
  }
  if (field(j, "top_logprobs")) throw bad("'top_logprobs' is not supported", "top_logprobs");
  if (const ojson* v = field(j, "logit_bias"); v && !(v->is_object() && v->empty())) {
    throw bad("'logit_bias' is not supported", "logit_bias");
  }
  if (const ojson* v = field(j, "response_format")) {
    const ojson* type = v->is_object() ? field(*v, "type") : nullptr;
    if (!(type && type->is_string() && type->get<std::string>() == "text")) {
      throw bad("'response_format' other than {\"type\": \"text\"} is not supported (no constrained decoding)",
                "response_format");
    }
  }
  if (const ojson* v = field(j, "echo"); v && !(v->is_boolean() && !v->get<bool>())) {
    throw bad("'echo' is not supported", "echo");
  }
  if (const ojson* v = field(j, "suffix"); v && !(v->is_string() && v->get<std::string>().empty())) {
    throw bad("'suffix' is not supported", "suffix");
  }
}

GenerationOptions generation_options(const ojson& j, const Limits& limits) {
  GenerationOptions g;
  SamplingOptions& s = g.sampling;
  // OpenAI's defaults (temperature 1, top_p 1, no top-k), not the command line's.
  s.temperature = static_cast<float>(number(j, "temperature", 0, 2, 1.0));
  s.top_p = static_cast<float>(number(j, "top_p", 0, 1, 1.0));
  if (s.top_p == 0) s.temperature = 0;  // top_p 0: the most likely token only
  if (s.top_p == 0) s.top_p = 1;
  s.top_k = integer(j, "top_k", 0, std::int64_t{1} << 24, 0);
  s.min_p = static_cast<float>(number(j, "min_p", 0, 0.999, 0.0));
  s.presence_penalty = static_cast<float>(number(j, "presence_penalty", -2, 2, 0.0));
  s.frequency_penalty = static_cast<float>(number(j, "frequency_penalty", -2, 2, 0.0));
  s.repetition_penalty = static_cast<float>(number(j, "repetition_penalty", 0.01, 10, 1.0));
  s.seed = static_cast<std::uint64_t>(integer(j, "seed", std::numeric_limits<std::int64_t>::min(),
                                              std::numeric_limits<std::int64_t>::max(), 0));
  const std::int64_t room = limits.context - 1;
  const std::int64_t fallback = limits.default_max_tokens > 0 ? std::min(limits.default_max_tokens, room) : room;
  g.max_tokens = integer(j, "max_completion_tokens", 1, std::numeric_limits<std::int64_t>::max(),
                         integer(j, "max_tokens", 1, std::numeric_limits<std::int64_t>::max(), fallback));
  if (const ojson* stop = field(j, "stop")) {
    auto add = [&](const ojson& v) {
      if (!v.is_string()) throw bad("'stop' must be a string or an array of strings", "stop");
      if (v.get<std::string>().empty()) throw bad("'stop' strings must not be empty", "stop");
      g.stop_strings.push_back(v.get<std::string>());
    };
    if (stop->is_array()) {
      if (stop->size() > 4) throw bad("'stop' takes at most 4 strings", "stop");
      for (const ojson& v : *stop) add(v);
    } else {
      add(*stop);
    }
  }
  return g;
}

void stream_options(const ojson& j, bool stream, bool* include_usage) {
  *include_usage = false;
  if (const ojson* o = field(j, "stream_options")) {
    if (!o->is_object()) throw bad("'stream_options' must be an object", "stream_options");
    if (!stream) throw bad("'stream_options' is only allowed with 'stream': true", "stream_options");
    *include_usage = boolean(*o, "include_usage", false);
  }
}

// A message's content: a string, or an array of text parts.
std::string content_text(const ojson& m, const std::string& where, bool may_be_empty) {
  const ojson* c = field(m, "content");
  if (c == nullptr) {
    if (may_be_empty) return {};
    throw bad(where + ".content is missing", where + ".content");
  }
  if (c->is_string()) return c->get<std::string>();
  if (!c->is_array()) throw bad(where + ".content must be a string or an array of parts", where + ".content");
  std::string text;
  for (const ojson& part : *c) {
    const ojson* type = part.is_object() ? field(part, "type") : nullptr;
    if (!type || !type->is_string() || type->get<std::string>() != "text" || !part.contains("text") ||
        !part["text"].is_string()) {
      throw bad(where + ".content: only text parts are supported (this model reads text)", where + ".content");
    }
    text += part["text"].get<std::string>();
  }
  return text;
}

std::vector<ChatMessage> messages_of(const ojson& j) {
  const ojson* list = field(j, "messages");
  if (list == nullptr || !list->is_array() || list->empty()) {
    throw bad("'messages' must be a non-empty array", "messages");
  }
  std::vector<ChatMessage> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const ojson& m = (*list)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw bad(where + " must be an object", where);
    const ojson* role = field(m, "role");
    if (!role || !role->is_string()) throw bad(where + ".role must be a string", where + ".role");
    ChatMessage message;
    message.role = role->get<std::string>();
    if (message.role == "developer") message.role = "system";
    if (message.role != "system" && message.role != "user" && message.role != "assistant" && message.role != "tool") {
      throw bad(where + ".role '" + message.role + "' is not one of system, user, assistant, tool", where + ".role");
    }
    const bool assistant = message.role == "assistant";
    message.content = content_text(m, where, assistant);
    if (assistant) {
      if (const ojson* r = field(m, "reasoning_content")) {
        if (!r->is_string()) throw bad(where + ".reasoning_content must be a string", where + ".reasoning_content");
        message.reasoning_content = r->get<std::string>();
      }
      if (const ojson* calls = field(m, "tool_calls")) {
        if (!calls->is_array()) throw bad(where + ".tool_calls must be an array", where + ".tool_calls");
        for (const ojson& call : *calls) {
          const ojson* fn = call.is_object() ? field(call, "function") : nullptr;
          if (!fn || !fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string()) {
            throw bad(where + ".tool_calls: each needs function.name", where + ".tool_calls");
          }
          ChatToolCall c;
          c.name = (*fn)["name"].get<std::string>();
          const ojson* args = field(*fn, "arguments");
          c.arguments = args == nullptr ? "{}" : args->is_string() ? args->get<std::string>() : python_json(*args);
          message.tool_calls.push_back(std::move(c));
        }
      }
    }
    out.push_back(std::move(message));
  }
  return out;
}

std::vector<std::string> tools_of(const ojson& j) {
  std::vector<std::string> tools;
  bool none = false;
  if (const ojson* choice = field(j, "tool_choice")) {
    const bool plain = choice->is_string() && (choice->get<std::string>() == "auto" || choice->get<std::string>() == "none");
    if (!plain) throw bad("'tool_choice' other than \"auto\" or \"none\" is not supported", "tool_choice");
    none = choice->get<std::string>() == "none";
  }
  const ojson* list = field(j, "tools");
  if (list == nullptr) return tools;
  if (!list->is_array()) throw bad("'tools' must be an array", "tools");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const ojson& t = (*list)[i];
    const ojson* fn = t.is_object() ? field(t, "function") : nullptr;
    if (!fn || !fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string()) {
      throw bad("tools[" + std::to_string(i) + "] must be {\"type\": \"function\", \"function\": {\"name\": ...}}",
                "tools");
    }
    tools.push_back(python_json(t));
  }
  if (none) tools.clear();
  return tools;
}

}  // namespace

// Keys stay in the client's order: tool definitions are rendered in it.
ojson parse_request_object(std::string_view body) {
  try {
    parse_strict_json(body, "request body");  // duplicates, depth
  } catch (const Error& e) {
    throw bad(e.what());
  }
  ojson j = ojson::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw bad("the request body must be a JSON object");
  return j;
}

ojson error_body(const ApiError& e) {
  return {{"error",
           {{"message", e.what()},
            {"type", e.type},
            {"param", e.param.empty() ? ojson(nullptr) : ojson(e.param)},
            {"code", e.code.empty() ? ojson(nullptr) : ojson(e.code)}}}};
}

ChatRequest parse_chat_request(std::string_view body, const Limits& limits) {
  const ojson j = parse_request_object(body);
  ChatRequest r;
  r.model = model_of(j);
  refuse_unimplemented(j);
  r.messages = messages_of(j);
  r.chat.tools = tools_of(j);
  if (const ojson* kwargs = field(j, "chat_template_kwargs")) {
    if (!kwargs->is_object()) throw bad("'chat_template_kwargs' must be an object", "chat_template_kwargs");
    r.chat.enable_thinking = boolean(*kwargs, "enable_thinking", true);
  }
  r.generation = generation_options(j, limits);
  r.stream = boolean(j, "stream", false);
  stream_options(j, r.stream, &r.include_usage);
  return r;
}

CompletionRequest parse_completion_request(std::string_view body, const Limits& limits) {
  const ojson j = parse_request_object(body);
  CompletionRequest r;
  r.model = model_of(j);
  refuse_unimplemented(j);
  const ojson* prompt = field(j, "prompt");
  if (prompt && prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) prompt = &(*prompt)[0];
  if (!prompt || !prompt->is_string()) throw bad("'prompt' must be a string (one prompt per request)", "prompt");
  r.prompt = prompt->get<std::string>();
  if (r.prompt.empty()) throw bad("'prompt' must not be empty", "prompt");
  r.generation = generation_options(j, limits);
  // The completions endpoint's own default: 16 tokens.
  if (!field(j, "max_tokens") && !field(j, "max_completion_tokens")) {
    r.generation.max_tokens = std::min<std::int64_t>(16, r.generation.max_tokens);
  }
  r.stream = boolean(j, "stream", false);
  stream_options(j, r.stream, &r.include_usage);
  return r;
}

ojson usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

ojson chat_response(const std::string& id, std::int64_t created, const std::string& model, const std::string& text,
                    const std::string& finish_reason, const Usage& usage) {
  const ParsedReply reply = parse_reply(text);
  ojson message = {{"role", "assistant"}, {"content", reply.content}};
  if (reply.has_reasoning) message["reasoning_content"] = reply.reasoning;
  std::string finish = finish_reason;
  if (!reply.tool_calls.empty()) {
    ojson calls = ojson::array();
    for (std::size_t i = 0; i < reply.tool_calls.size(); ++i) {
      calls.push_back({{"id", id + "-call-" + std::to_string(i)},
                       {"type", "function"},
                       {"function", {{"name", reply.tool_calls[i].name}, {"arguments", reply.tool_calls[i].arguments}}}});
    }
    message["tool_calls"] = calls;
    if (reply.content.empty()) message["content"] = nullptr;
    if (finish == "stop") finish = "tool_calls";
  }
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", model},
          {"choices", ojson::array({{{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", finish}}})},
          {"usage", usage_json(usage)}};
}

ojson completion_response(const std::string& id, std::int64_t created, const std::string& model,
                          const std::string& text, const std::string& finish_reason, const Usage& usage) {
  return {{"id", id},
          {"object", "text_completion"},
          {"created", created},
          {"model", model},
          {"choices",
           ojson::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", finish_reason}}})},
          {"usage", usage_json(usage)}};
}

}  // namespace qwen3c::openai
