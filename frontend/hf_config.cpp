#include "frontend/hf_config.h"

#include <cmath>
#include <optional>

#include "runtime/core/strict_json.h"
#include "runtime/core/error.h"

namespace qwen3c {

namespace {

using nlohmann::json;

// Upper bounds keep every size computed from the config far from int64 overflow and
// reject absurd values before anything is allocated for them.
constexpr std::int64_t kMaxVocab = 1 << 22;
constexpr std::int64_t kMaxHidden = 1 << 17;
constexpr std::int64_t kMaxIntermediate = 1 << 19;
constexpr std::int64_t kMaxLayers = 1024;
constexpr std::int64_t kMaxHeads = 1024;
constexpr std::int64_t kMaxHeadDim = 1024;
constexpr std::int64_t kMaxPositions = std::int64_t{1} << 24;

class FieldReader {
 public:
  FieldReader(const json& root, const std::string& source) : root_(root), source_(source) {
    if (!root_.is_object()) throw Error(source_ + ": expected a JSON object at the top level");
  }

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(source_ + ": field '" + field + "' " + what);
  }

  const json* find(const std::string& field) const {
    auto it = root_.find(field);
    return it == root_.end() ? nullptr : &*it;
  }
  // Absent and null are the same thing in these configs.
  const json* find_non_null(const std::string& field) const {
    const json* v = find(field);
    return (v == nullptr || v->is_null()) ? nullptr : v;
  }

  std::int64_t integer(const std::string& field, std::int64_t min, std::int64_t max) const {
    const json* v = find_non_null(field);
    if (v == nullptr) fail(field, "is missing");
    return checked_integer(*v, field, min, max);
  }

  std::int64_t checked_integer(const json& v, const std::string& field, std::int64_t min,
                               std::int64_t max) const {
    if (!v.is_number_integer()) fail(field, "must be an integer, got " + describe(v));
    std::int64_t value;
    if (v.is_number_unsigned()) {
      auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(max)) fail(field, "is out of range: " + v.dump());
      value = static_cast<std::int64_t>(u);
    } else {
      value = v.get<std::int64_t>();
    }
    if (value < min || value > max) {
      fail(field, "is out of range: " + std::to_string(value) + " (allowed " +
                      std::to_string(min) + ".." + std::to_string(max) + ")");
    }
    return value;
  }

  double positive_number(const json& v, const std::string& field) const {
    if (!v.is_number()) fail(field, "must be a number, got " + describe(v));
    double d = v.get<double>();
    if (!std::isfinite(d) || d <= 0) fail(field, "must be a positive finite number, got " + v.dump());
    return d;
  }

  bool boolean(const std::string& field, bool fallback) const {
    const json* v = find_non_null(field);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) fail(field, "must be true or false, got " + describe(*v));
    return v->get<bool>();
  }

  std::optional<std::string> string(const std::string& field) const {
    const json* v = find_non_null(field);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) fail(field, "must be a string, got " + describe(*v));
    return v->get<std::string>();
  }

  static std::string describe(const json& v) {
    return std::string(v.type_name()) + " " + v.dump();
  }

  const std::string& source() const { return source_; }

 private:
  const json& root_;
  const std::string& source_;
};

DType parse_dtype(const FieldReader& r) {
  std::string field = "torch_dtype";
  std::optional<std::string> name = r.string(field);
  if (!name) {
    field = "dtype";
    name = r.string(field);
  }
  if (!name) r.fail("torch_dtype", "is missing (nor is there a 'dtype' field)");
  if (*name == "bfloat16") return DType::BF16;
  if (*name == "float16") return DType::F16;
  if (*name == "float32") return DType::F32;
  r.fail(field, "has unsupported value '" + *name + "' (expected bfloat16, float16 or float32)");
}

// A rope_type (or legacy "type") inside a rope_scaling / rope_parameters object.
void require_default_rope(const FieldReader& r, const json& obj, const std::string& field) {
  if (!obj.is_object()) r.fail(field, "must be an object or null, got " + FieldReader::describe(obj));
  for (const char* key : {"rope_type", "type"}) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) continue;
    if (!it->is_string()) r.fail(field + "." + key, "must be a string");
    const std::string& type = it->get_ref<const std::string&>();
    if (type != "default") {
      throw Error(r.source() + ": field '" + field + "." + key + "': unsupported rope scaling '" +
                  type + "'");
    }
  }
}

double parse_rope_theta(const FieldReader& r) {
  if (const json* scaling = r.find_non_null("rope_scaling")) {
    require_default_rope(r, *scaling, "rope_scaling");
  }
  if (const json* params = r.find_non_null("rope_parameters")) {
    require_default_rope(r, *params, "rope_parameters");
    auto it = params->find("rope_theta");
    if (it == params->end() || it->is_null()) r.fail("rope_parameters.rope_theta", "is missing");
    return r.positive_number(*it, "rope_parameters.rope_theta");
  }
  const json* theta = r.find_non_null("rope_theta");
  if (theta == nullptr) r.fail("rope_theta", "is missing (nor is there 'rope_parameters')");
  return r.positive_number(*theta, "rope_theta");
}

std::int64_t parse_token_id(const FieldReader& r, const std::string& field) {
  const json* v = r.find_non_null(field);
  if (v == nullptr) return -1;
  // eos_token_id may be a list; the first entry is the primary one.
  if (v->is_array()) {
    if (v->empty()) return -1;
    return r.checked_integer(v->front(), field + "[0]", 0, kMaxVocab - 1);
  }
  return r.checked_integer(*v, field, 0, kMaxVocab - 1);
}

}  // namespace

ModelConfig parse_hf_config(const json& root, const std::string& source) {
  FieldReader r(root, source);
  ModelConfig c;

  std::optional<std::string> model_type = r.string("model_type");
  if (!model_type) r.fail("model_type", "is missing");
  if (*model_type != "qwen3") {
    r.fail("model_type", "is '" + *model_type + "', but only 'qwen3' (dense Qwen3) is supported");
  }

  c.vocab_size = r.integer("vocab_size", 1, kMaxVocab);
  c.hidden_size = r.integer("hidden_size", 1, kMaxHidden);
  c.intermediate_size = r.integer("intermediate_size", 1, kMaxIntermediate);
  c.num_layers = r.integer("num_hidden_layers", 1, kMaxLayers);
  c.num_heads = r.integer("num_attention_heads", 1, kMaxHeads);
  c.num_kv_heads = r.integer("num_key_value_heads", 1, kMaxHeads);
  if (c.num_heads % c.num_kv_heads != 0) {
    r.fail("num_key_value_heads", "(" + std::to_string(c.num_kv_heads) +
                                      ") must divide num_attention_heads (" +
                                      std::to_string(c.num_heads) + ")");
  }
  if (r.find_non_null("head_dim") != nullptr) {
    c.head_dim = r.integer("head_dim", 1, kMaxHeadDim);
  } else {
    // transformers' default when the field is absent.
    if (c.hidden_size % c.num_heads != 0) {
      r.fail("head_dim", "is missing and hidden_size is not a multiple of num_attention_heads");
    }
    c.head_dim = c.hidden_size / c.num_heads;
    if (c.head_dim > kMaxHeadDim) r.fail("head_dim", "is out of range");
  }
  if (c.head_dim % 2 != 0) {
    r.fail("head_dim", "must be even for rotary embeddings, got " + std::to_string(c.head_dim));
  }
  c.max_position_embeddings = r.integer("max_position_embeddings", 1, kMaxPositions);

  const json* eps = r.find_non_null("rms_norm_eps");
  if (eps == nullptr) r.fail("rms_norm_eps", "is missing");
  c.rms_norm_eps = r.positive_number(*eps, "rms_norm_eps");
  c.rope_theta = parse_rope_theta(r);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
  c.dtype = parse_dtype(r);

  std::string act = r.string("hidden_act").value_or("silu");
  if (act != "silu") r.fail("hidden_act", "is '" + act + "', but only 'silu' is supported");
  if (r.boolean("attention_bias", false)) {
    r.fail("attention_bias", "is true, but Qwen3 attention has no bias (unsupported)");
  }
  if (r.boolean("use_sliding_window", false)) {
    r.fail("use_sliding_window", "is true, but sliding-window attention is not supported");
  }
  if (const json* types = r.find_non_null("layer_types")) {
    if (!types->is_array()) r.fail("layer_types", "must be a list");
    if (static_cast<std::int64_t>(types->size()) != c.num_layers) {
      r.fail("layer_types", "has " + std::to_string(types->size()) + " entries, expected " +
                                std::to_string(c.num_layers) + " (num_hidden_layers)");
    }
    for (std::size_t i = 0; i < types->size(); ++i) {
      const json& t = (*types)[i];
      if (!t.is_string() || t.get_ref<const std::string&>() != "full_attention") {
        r.fail("layer_types[" + std::to_string(i) + "]",
               "is " + t.dump() + ", but only \"full_attention\" is supported");
      }
    }
  }

  c.bos_token_id = parse_token_id(r, "bos_token_id");
  c.eos_token_id = parse_token_id(r, "eos_token_id");
  return c;
}

ModelConfig load_hf_config(const std::string& path) {
  constexpr std::size_t kMaxConfigBytes = 16 << 20;
  return parse_hf_config(read_strict_json_file(path, kMaxConfigBytes), path);
}

}  // namespace qwen3c
