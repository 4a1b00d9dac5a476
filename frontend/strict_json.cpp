#include "frontend/strict_json.h"

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "runtime/core/error.h"
#include "runtime/core/mapped_file.h"

namespace qwen3c {

namespace {
// Thrown from inside the parser callback; turned into qwen3c::Error by the caller.
struct StrictJsonViolation {
  std::string message;
};
}  // namespace

nlohmann::json parse_strict_json(std::string_view text, const std::string& what) {
  using json = nlohmann::json;
  // One entry per open container: the keys seen so far (arrays keep an empty set).
  std::vector<std::set<std::string>> open;
  auto check = [&](int /*depth*/, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (open.size() >= static_cast<std::size_t>(kMaxJsonDepth)) {
          throw StrictJsonViolation{"nesting deeper than " + std::to_string(kMaxJsonDepth) +
                                    " levels"};
        }
        open.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!open.empty() && !open.back().insert(key).second) {
          throw StrictJsonViolation{"duplicate key '" + key + "'"};
        }
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check);
  } catch (const StrictJsonViolation& v) {
    throw Error(what + ": invalid JSON: " + v.message);
  } catch (const json::exception& e) {
    throw Error(what + ": invalid JSON: " + e.what());
  }
}

nlohmann::json read_strict_json_file(const std::string& path, std::size_t max_bytes) {
  MappedFile file(path);
  if (file.size() > max_bytes) {
    throw Error(path + ": file is " + std::to_string(file.size()) +
                " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  return parse_strict_json(text, path);
}

}  // namespace qwen3c
