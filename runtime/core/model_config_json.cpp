#include "runtime/core/model_config_json.h"

#include "runtime/core/error.h"

namespace qwen3c {

using nlohmann::json;

json model_config_to_json(const ModelConfig& c) {
  json j = {{"vocab_size", c.vocab_size},
          {"hidden_size", c.hidden_size},
          {"intermediate_size", c.intermediate_size},
          {"num_layers", c.num_layers},
          {"num_heads", c.num_heads},
          {"num_kv_heads", c.num_kv_heads},
          {"head_dim", c.head_dim},
          {"max_position_embeddings", c.max_position_embeddings},
          {"rms_norm_eps", c.rms_norm_eps},
          {"rope_theta", c.rope_theta},
          {"tie_word_embeddings", c.tie_word_embeddings},
          {"dtype", std::string(dtype_name(c.dtype))},
          {"bos_token_id", c.bos_token_id},
          {"eos_token_id", c.eos_token_id}};
  if (c.yarn) {
    j["yarn"] = {{"factor", c.yarn->factor},
                 {"original_context", c.yarn->original_context},
                 {"beta_fast", c.yarn->beta_fast},
                 {"beta_slow", c.yarn->beta_slow},
                 {"attention_factor", c.yarn->attention_factor},
                 {"truncate", c.yarn->truncate}};
  }
  return j;
}

ModelConfig model_config_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": model config is not an object");
  auto integer = [&](const char* key, std::int64_t min, std::int64_t max) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) {
      throw Error(where + ": model config field '" + key + "' is missing or not an integer");
    }
    auto v = it->get<std::int64_t>();
    if (v < min || v > max) throw Error(where + ": model config field '" + key + "' is out of range");
    return v;
  };
  auto number = [&](const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number() || !(it->get<double>() > 0)) {
      throw Error(where + ": model config field '" + key + "' is missing or not positive");
    }
    return it->get<double>();
  };
  ModelConfig c;
  c.vocab_size = integer("vocab_size", 1, 1 << 22);
  c.hidden_size = integer("hidden_size", 1, 1 << 17);
  c.intermediate_size = integer("intermediate_size", 1, 1 << 19);
  c.num_layers = integer("num_layers", 1, 1024);
  c.num_heads = integer("num_heads", 1, 1024);
  c.num_kv_heads = integer("num_kv_heads", 1, 1024);
  c.head_dim = integer("head_dim", 2, 1024);
  c.max_position_embeddings = integer("max_position_embeddings", 1, std::int64_t{1} << 24);
  c.bos_token_id = integer("bos_token_id", -1, (1 << 22) - 1);
  c.eos_token_id = integer("eos_token_id", -1, (1 << 22) - 1);
  c.rms_norm_eps = number("rms_norm_eps");
  c.rope_theta = number("rope_theta");
  if (auto it = j.find("yarn"); it != j.end()) {
    const json& y = *it;
    auto field = [&](const char* key) {
      if (!y.is_object() || !y.contains(key) || !y[key].is_number() || !(y[key].get<double>() > 0)) {
        throw Error(where + ": model config field 'yarn." + std::string(key) + "' is missing or not positive");
      }
      return y[key].get<double>();
    };
    YarnConfig yarn;
    yarn.factor = field("factor");
    yarn.original_context = static_cast<std::int64_t>(field("original_context"));
    yarn.beta_fast = field("beta_fast");
    yarn.beta_slow = field("beta_slow");
    yarn.attention_factor = field("attention_factor");
    if (!y.contains("truncate") || !y["truncate"].is_boolean()) {
      throw Error(where + ": model config field 'yarn.truncate' is missing");
    }
    yarn.truncate = y["truncate"].get<bool>();
    if (yarn.factor < 1) throw Error(where + ": model config field 'yarn.factor' is below 1");
    c.yarn = yarn;
  }
  auto tie = j.find("tie_word_embeddings");
  if (tie == j.end() || !tie->is_boolean()) throw Error(where + ": model config field 'tie_word_embeddings' is missing");
  c.tie_word_embeddings = tie->get<bool>();
  auto dtype = j.find("dtype");
  if (dtype == j.end() || !dtype->is_string() || !dtype_from_name(dtype->get<std::string>())) {
    throw Error(where + ": model config field 'dtype' is missing or unknown");
  }
  c.dtype = *dtype_from_name(dtype->get<std::string>());
  if (c.num_heads % c.num_kv_heads != 0 || c.head_dim % 2 != 0) {
    throw Error(where + ": model config has inconsistent head counts");
  }
  return c;
}

}  // namespace qwen3c
