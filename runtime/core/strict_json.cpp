#include "runtime/core/strict_json.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "runtime/core/error.h"
#include "runtime/core/mapped_file.h"

namespace qwen3c {

namespace {

using json = nlohmann::json;

// Thrown from inside the SAX handler; turned into qwen3c::Error by the caller.
struct StrictJsonViolation {
  std::string message;
};

// Builds the document from SAX events, refusing duplicate keys and deep nesting as it
// goes. (nlohmann's callback parser rescans the whole parent object after every nested
// value, which is quadratic: 100k empty objects took 100 s. Here every step is a map
// lookup or insert.)
class StrictDomBuilder : public nlohmann::json_sax<json> {
 public:
  json take() { return std::move(root_); }
  const std::string& error() const { return error_; }

  bool null() override { insert(nullptr); return true; }
  bool boolean(bool v) override { insert(v); return true; }
  bool number_integer(number_integer_t v) override { insert(v); return true; }
  bool number_unsigned(number_unsigned_t v) override { insert(v); return true; }
  bool number_float(number_float_t v, const string_t&) override { insert(v); return true; }
  bool string(string_t& v) override { insert(std::move(v)); return true; }
  bool binary(binary_t& v) override { insert(json::binary(std::move(v))); return true; }
  bool start_object(std::size_t) override { open(json::object()); return true; }
  bool start_array(std::size_t) override { open(json::array()); return true; }
  bool end_object() override { open_.pop_back(); return true; }
  bool end_array() override { open_.pop_back(); return true; }
  bool key(string_t& k) override {
    if (open_.back()->contains(k)) throw StrictJsonViolation{"duplicate key '" + k + "'"};
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = e.what();
    return false;
  }

 private:
  json* insert(json&& value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    return &parent.get_ref<json::object_t&>().emplace(std::move(key_), std::move(value)).first->second;
  }
  void open(json&& container) {
    if (open_.size() >= static_cast<std::size_t>(kMaxJsonDepth)) {
      throw StrictJsonViolation{"nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
    }
    // Pointers into the tree stay valid: a container only grows after its children close.
    open_.push_back(insert(std::move(container)));
  }

  json root_;
  std::vector<json*> open_;
  std::string key_;
  std::string error_;
};

}  // namespace

nlohmann::json parse_strict_json(std::string_view text, const std::string& what) {
  StrictDomBuilder builder;
  try {
    if (!json::sax_parse(text.begin(), text.end(), &builder)) {
      throw Error(what + ": invalid JSON: " + builder.error());
    }
  } catch (const StrictJsonViolation& v) {
    throw Error(what + ": invalid JSON: " + v.message);
  } catch (const json::exception& e) {
    throw Error(what + ": invalid JSON: " + e.what());
  }
  return builder.take();
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
