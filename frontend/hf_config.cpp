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

// The rope_type (or legacy "type") of a rope_scaling / rope_parameters object: "default"
// when it names none.
std::string rope_type(const FieldReader& r, const json& obj, const std::string& field) {
  if (!obj.is_object()) r.fail(field, "must be an object or null, got " + FieldReader::describe(obj));
  for (const char* key : {"rope_type", "type"}) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) continue;
    if (!it->is_string()) r.fail(field + "." + key, "must be a string");
    const std::string& type = it->get_ref<const std::string&>();
    if (type != "default" && type != "yarn") {
      throw Error(r.source() + ": field '" + field + "." + key + "': unsupported rope scaling '" + type +
                  "' (qwen3c reads default and yarn)");
    }
    return type;
  }
  return "default";
}

// YaRN's parameters with transformers' defaults: original_max_position_embeddings falls back
// to max_position_embeddings, factor to their ratio, beta_fast / beta_slow to 32 / 1, the
// attention factor to 0.1 ln(factor) + 1 (or mscale / mscale_all_dim's ratio of those).
YarnConfig parse_yarn(const FieldReader& r, const json& obj, const std::string& field, std::int64_t max_positions) {
  auto number = [&](const char* key) -> std::optional<double> {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    return r.positive_number(*it, field + "." + key);
  };
  YarnConfig y;
  y.original_context = max_positions;
  if (auto it = obj.find("original_max_position_embeddings"); it != obj.end() && !it->is_null()) {
    y.original_context = r.checked_integer(*it, field + ".original_max_position_embeddings", 1, kMaxPositions);
  }
  y.factor = number("factor").value_or(static_cast<double>(max_positions) / static_cast<double>(y.original_context));
  if (y.factor < 1) r.fail(field + ".factor", "must be at least 1 for YaRN");
  y.beta_fast = number("beta_fast").value_or(32);
  y.beta_slow = number("beta_slow").value_or(1);
  if (auto it = obj.find("truncate"); it != obj.end() && !it->is_null()) {
    if (!it->is_boolean()) r.fail(field + ".truncate", "must be true or false");
    y.truncate = it->get<bool>();
  }
  const auto mscale = [](double scale, double m) { return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; };
  if (auto given = number("attention_factor")) {
    y.attention_factor = *given;
  } else if (auto m = number("mscale"), all = number("mscale_all_dim"); m && all) {
    y.attention_factor = mscale(y.factor, *m) / mscale(y.factor, *all);
  } else {
    y.attention_factor = mscale(y.factor, 1);
  }
  return y;
}

struct Rope {
  double theta = 0;
  std::optional<YarnConfig> yarn;
};

// rope_theta and any scaling, from either layout: rope_theta + rope_scaling (published
// checkpoints) or rope_parameters (newer transformers).
Rope parse_rope(const FieldReader& r, std::int64_t max_positions) {
  Rope rope;
  const json* params = r.find_non_null("rope_parameters");
  const json* scaling = params != nullptr ? params : r.find_non_null("rope_scaling");
  const std::string field = params != nullptr ? "rope_parameters" : "rope_scaling";
  if (scaling != nullptr && rope_type(r, *scaling, field) == "yarn") {
    rope.yarn = parse_yarn(r, *scaling, field, max_positions);
  }
  if (params != nullptr) {
    auto it = params->find("rope_theta");
    if (it == params->end() || it->is_null()) r.fail("rope_parameters.rope_theta", "is missing");
    rope.theta = r.positive_number(*it, "rope_parameters.rope_theta");
    return rope;
  }
  const json* theta = r.find_non_null("rope_theta");
  if (theta == nullptr) r.fail("rope_theta", "is missing (nor is there 'rope_parameters')");
  rope.theta = r.positive_number(*theta, "rope_theta");
  return rope;
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
  const Rope rope = parse_rope(r, c.max_position_embeddings);
  c.rope_theta = rope.theta;
  c.yarn = rope.yarn;
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
