#pragma once
// JSON parsing for untrusted files: duplicate keys and deep nesting are errors, not
// silently accepted (nlohmann keeps the last duplicate; deep nesting costs stack).

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace qwen3c {

inline constexpr int kMaxJsonDepth = 64;

// Parses `text`; throws qwen3c::Error starting with `what` on invalid JSON, a duplicate
// key in any object, or nesting deeper than kMaxJsonDepth.
nlohmann::json parse_strict_json(std::string_view text, const std::string& what);

// Reads and parses a JSON file of at most `max_bytes`.
nlohmann::json read_strict_json_file(const std::string& path, std::size_t max_bytes);

}  // namespace qwen3c
