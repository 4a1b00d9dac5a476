#include "runtime/text/reply_stream.h"

#include <algorithm>

#include "runtime/core/strict_json.h"
#include "runtime/core/error.h"

namespace qwen3c {

namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kCallOpen = "<tool_call>";
constexpr std::string_view kCallClose = "</tool_call>";

// The length of the longest suffix of `text` that is a proper prefix of `tag`.
std::size_t partial_tag(std::string_view text, std::string_view tag) {
  for (std::size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

bool parse_tool_call(std::string_view json_text, ChatToolCall* call) {
  try {
    parse_strict_json(json_text, "tool call");  // duplicate keys and depth refused
    const auto j = nlohmann::ordered_json::parse(json_text);
    if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) return false;
    call->name = j["name"].get<std::string>();
    const auto args = j.contains("arguments") ? j["arguments"] : nlohmann::ordered_json::object();
    call->arguments = args.is_string() ? args.get<std::string>() : args.dump();
    return true;
  } catch (const Error&) {
    return false;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

void ReplyStream::push(std::string_view text) {
  held_.append(text);
  run(false);
}

void ReplyStream::finish() {
  run(true);
  newlines_.clear();  // trailing newlines of the answer are dropped
}

void ReplyStream::emit_content(std::string_view text) {
  // Newlines are held until content follows: the answer's trailing newlines (before a
  // tool call or the end) are not part of it.
  std::size_t end = text.find_last_not_of('\n');
  if (end == std::string_view::npos) {
    newlines_.append(text);
    return;
  }
  std::string out = std::move(newlines_);
  newlines_.clear();
  out.append(text.substr(0, end + 1));
  newlines_.append(text.substr(end + 1));
  if (!out.empty() && events_.content) events_.content(out);
}

void ReplyStream::run(bool final) {
  while (true) {
    switch (state_) {
      case State::Start: {
        if (held_.rfind(kThinkOpen, 0) == 0) {
          held_.erase(0, kThinkOpen.size());
          state_ = State::Reasoning;
          continue;
        }
        if (!final && kThinkOpen.substr(0, held_.size()) == held_) return;  // maybe "<think>" still
        state_ = State::Content;
        continue;
      }
      case State::Reasoning: {
        if (held_.empty() && !final) return;
        const auto close = held_.find(kThinkClose);
        std::string_view text = held_;
        std::size_t consumed;
        if (close != std::string::npos) {
          text = text.substr(0, close);
          consumed = close + kThinkClose.size();
        } else if (final) {
          consumed = held_.size();
        } else {
          // Hold a possible "</think>" and trailing newlines (stripped before the tag).
          std::size_t keep = partial_tag(text, kThinkClose);
          text = text.substr(0, text.size() - keep);
          const auto last = text.find_last_not_of('\n');
          text = last == std::string_view::npos ? std::string_view() : text.substr(0, last + 1);
          consumed = text.size();
          // Leading newlines after "<think>" are dropped.
        }
        std::string out(text);
        if (!reasoning_started_) {
          out.erase(0, std::min(out.find_first_not_of('\n'), out.size()));
        }
        if (close != std::string::npos || final) out.erase(out.find_last_not_of('\n') + 1);
        if (!out.empty()) {
          reasoning_started_ = true;
          if (events_.reasoning) events_.reasoning(out);
        }
        held_.erase(0, consumed);
        if (close != std::string::npos) {
          state_ = State::AfterThink;
          continue;
        }
        return;
      }
      case State::AfterThink: {
        held_.erase(0, std::min(held_.find_first_not_of('\n'), held_.size()));
        if (held_.empty() && !final) return;
        state_ = State::Content;
        continue;
      }
      case State::Content: {
        const auto open = held_.find(kCallOpen);
        if (open != std::string::npos) {
          emit_content(std::string_view(held_).substr(0, open));
          held_.erase(0, open + kCallOpen.size());
          state_ = State::ToolCall;
          continue;
        }
        const std::size_t keep = final ? 0 : partial_tag(held_, kCallOpen);
        emit_content(std::string_view(held_).substr(0, held_.size() - keep));
        held_.erase(0, held_.size() - keep);
        return;
      }
      case State::ToolCall: {
        const auto close = held_.find(kCallClose);
        if (close == std::string::npos) {
          if (!final) return;
          emit_content(std::string(kCallOpen) + held_);  // never closed: it was text
          held_.clear();
          return;
        }
        ChatToolCall call;
        const std::string_view body = trim(std::string_view(held_).substr(0, close));
        if (parse_tool_call(body, &call)) {
          newlines_.clear();
          ++tool_calls_;
          if (events_.tool_call) events_.tool_call(call);
        } else {
          emit_content(std::string(kCallOpen) + held_.substr(0, close + kCallClose.size()));
        }
        held_.erase(0, close + kCallClose.size());
        state_ = State::Content;
        continue;
      }
    }
  }
}

ParsedReply parse_reply(std::string_view text) {
  ParsedReply reply;
  ReplyStream stream({[&](std::string_view t) {
                        reply.has_reasoning = true;
                        reply.reasoning += t;
                      },
                      [&](std::string_view t) { reply.content += t; },
                      [&](const ChatToolCall& c) { reply.tool_calls.push_back(c); }});
  if (text.rfind(kThinkOpen, 0) == 0) reply.has_reasoning = true;
  stream.push(text);
  stream.finish();
  return reply;
}

}  // namespace qwen3c
