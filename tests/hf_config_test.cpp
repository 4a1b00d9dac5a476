// config.json parsing: both layouts, the published configs, and every validation rule.

#include "frontend/hf_config.h"

#include <gtest/gtest.h>

#include <cmath>

#include "runtime/core/strict_json.h"
#include "runtime/core/error.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using nlohmann::json;
using testing::test_data;

// The layout newer transformers versions write for the same model.
json to_new_layout(json config) {
  json rope = {{"rope_theta", config["rope_theta"]}, {"rope_type", "default"}};
  config.erase("rope_theta");
  config.erase("rope_scaling");
  config["rope_parameters"] = rope;
  config["dtype"] = config["torch_dtype"];
  config.erase("torch_dtype");
  config["layer_types"] = json::array();
  for (int i = 0; i < config["num_hidden_layers"].get<int>(); ++i) {
    config["layer_types"].push_back("full_attention");
  }
  return config;
}

json read_json(const std::string& path) { return read_strict_json_file(path, 1 << 20); }

TEST(HfConfig, ReadsPublishedQwen3_4B) {
  ModelConfig c = load_hf_config(test_data("configs/Qwen3-4B.json"));
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_EQ(c.hidden_size, 2560);
  EXPECT_EQ(c.intermediate_size, 9728);
  EXPECT_EQ(c.num_layers, 36);
  EXPECT_EQ(c.num_heads, 32);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 128);  // not hidden / heads = 80
  EXPECT_EQ(c.max_position_embeddings, 40960);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.dtype, DType::BF16);
  EXPECT_EQ(c.bos_token_id, 151643);
  EXPECT_EQ(c.eos_token_id, 151645);
}

TEST(HfConfig, Reads2507WithItsLongContext) {
  ModelConfig c = load_hf_config(test_data("configs/Qwen3-4B-Instruct-2507.json"));
  EXPECT_EQ(c.max_position_embeddings, 262144);
  EXPECT_DOUBLE_EQ(c.rope_theta, 5e6);
  EXPECT_FALSE(c.yarn.has_value());
}

// Qwen's instructions for 131,072 tokens: rope_scaling {"rope_type": "yarn", "factor": 4.0,
// "original_max_position_embeddings": 32768}. transformers 5 uses the explicit factor and
// derives the attention factor 0.1 ln(4) + 1.
TEST(HfConfig, ReadsYarnAsQwenDocumentsIt) {
  json config = read_json(test_data("configs/Qwen3-4B.json"));
  config["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}};
  config["max_position_embeddings"] = 131072;
  const ModelConfig c = parse_hf_config(config, "yarn.json");
  ASSERT_TRUE(c.yarn.has_value());
  EXPECT_DOUBLE_EQ(c.yarn->factor, 4.0);
  EXPECT_EQ(c.yarn->original_context, 32768);
  EXPECT_DOUBLE_EQ(c.yarn->beta_fast, 32);
  EXPECT_DOUBLE_EQ(c.yarn->beta_slow, 1);
  EXPECT_NEAR(c.yarn->attention_factor, 1.1386294361119891, 1e-15);
  EXPECT_TRUE(c.yarn->truncate);
  EXPECT_EQ(c.max_position_embeddings, 131072);
  // The newer layout says the same inside rope_parameters.
  json newer = config;
  newer.erase("rope_scaling");
  newer.erase("rope_theta");
  newer["rope_parameters"] = {{"rope_type", "yarn"}, {"rope_theta", 1e6}, {"factor", 4.0},
                              {"original_max_position_embeddings", 32768}};
  EXPECT_EQ(parse_hf_config(newer, "new.json"), c);
}

TEST(HfConfig, YarnDefaultsAreTransformers) {
  json config = read_json(test_data("configs/Qwen3-4B.json"));
  // No original length: it is max_position_embeddings; no factor: their ratio (1 here).
  config["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", nullptr}};
  ModelConfig c = parse_hf_config(config, "yarn.json");
  ASSERT_TRUE(c.yarn.has_value());
  EXPECT_EQ(c.yarn->original_context, 40960);
  EXPECT_DOUBLE_EQ(c.yarn->factor, 1.0);
  EXPECT_DOUBLE_EQ(c.yarn->attention_factor, 1.0);
  // mscale / mscale_all_dim set the attention factor as their ratio; an explicit one wins.
  config["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 8.0}, {"mscale", 2.0}, {"mscale_all_dim", 1.0},
                            {"truncate", false}};
  c = parse_hf_config(config, "yarn.json");
  EXPECT_NEAR(c.yarn->attention_factor, (0.2 * std::log(8.0) + 1) / (0.1 * std::log(8.0) + 1), 1e-12);
  EXPECT_FALSE(c.yarn->truncate);
  config["rope_scaling"]["attention_factor"] = 1.5;
  EXPECT_DOUBLE_EQ(parse_hf_config(config, "yarn.json").yarn->attention_factor, 1.5);
}

TEST(HfConfig, ParameterCountsOfPublishedConfigs) {
  const std::vector<std::pair<std::string, std::int64_t>> expected = {
      {"Qwen3-0.6B", 596049920},     {"Qwen3-1.7B", 1720574976},
      {"Qwen3-4B", 4022468096},      {"Qwen3-4B-Instruct-2507", 4022468096},
      {"Qwen3-8B", 8190735360},      {"Qwen3-14B", 14768307200},
      {"Qwen3-32B", 32762123264}};
  for (const auto& [name, params] : expected) {
    ModelConfig c = load_hf_config(test_data("configs/" + name + ".json"));
    EXPECT_EQ(parameter_count(c), params) << name;
  }
}

TEST(HfConfig, BothLayoutsGiveTheSameConfig) {
  for (const char* name : {"Qwen3-0.6B", "Qwen3-4B", "Qwen3-4B-Instruct-2507", "Qwen3-32B"}) {
    json published = read_json(test_data(std::string("configs/") + name + ".json"));
    ModelConfig a = parse_hf_config(published, "published.json");
    ModelConfig b = parse_hf_config(to_new_layout(published), "new.json");
    EXPECT_EQ(a, b) << name;
  }
}

TEST(HfConfig, HeadDimDefaultsToHiddenOverHeads) {
  json c = testing::tiny_config();
  c.erase("head_dim");
  EXPECT_EQ(parse_hf_config(c, "config.json").head_dim, 4);
}

TEST(HfConfig, EosListTakesFirst) {
  json c = testing::tiny_config();
  c["eos_token_id"] = {7, 3};
  EXPECT_EQ(parse_hf_config(c, "config.json").eos_token_id, 7);
}

TEST(HfConfig, DefaultRopeScalingIsAccepted) {
  json c = testing::tiny_config();
  c["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_NO_THROW(parse_hf_config(c, "config.json"));
}

struct BadConfigCase {
  std::string label;
  std::function<void(json&)> mutate;
  std::string expected;  // substring of the error
};

void PrintTo(const BadConfigCase& c, std::ostream* os) { *os << c.label; }

class BadConfig : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(BadConfig, IsRejectedNamingFileAndField) {
  json c = testing::tiny_config();
  GetParam().mutate(c);
  try {
    parse_hf_config(c, "some/config.json");
    FAIL() << "accepted a bad config: " << GetParam().label;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("some/config.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(GetParam().expected), std::string::npos) << msg;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Validation, BadConfig,
    ::testing::Values(
        BadConfigCase{"missing_hidden", [](json& c) { c.erase("hidden_size"); },
                      "field 'hidden_size' is missing"},
        BadConfigCase{"string_hidden", [](json& c) { c["hidden_size"] = "8"; },
                      "field 'hidden_size' must be an integer"},
        BadConfigCase{"float_layers", [](json& c) { c["num_hidden_layers"] = 2.5; },
                      "field 'num_hidden_layers' must be an integer"},
        BadConfigCase{"zero_vocab", [](json& c) { c["vocab_size"] = 0; },
                      "field 'vocab_size' is out of range"},
        BadConfigCase{"huge_vocab", [](json& c) { c["vocab_size"] = 1ll << 40; },
                      "field 'vocab_size' is out of range"},
        BadConfigCase{"negative_heads", [](json& c) { c["num_attention_heads"] = -2; },
                      "field 'num_attention_heads' is out of range"},
        BadConfigCase{"odd_head_dim", [](json& c) { c["head_dim"] = 5; },
                      "field 'head_dim' must be even"},
        BadConfigCase{"gqa_not_divisible", [](json& c) { c["num_key_value_heads"] = 3; },
                      "field 'num_key_value_heads' (3) must divide"},
        BadConfigCase{"not_qwen3", [](json& c) { c["model_type"] = "llama"; },
                      "field 'model_type' is 'llama'"},
        BadConfigCase{"missing_model_type", [](json& c) { c.erase("model_type"); },
                      "field 'model_type' is missing"},
        BadConfigCase{"gelu", [](json& c) { c["hidden_act"] = "gelu"; },
                      "field 'hidden_act' is 'gelu'"},
        BadConfigCase{"attention_bias", [](json& c) { c["attention_bias"] = true; },
                      "field 'attention_bias' is true"},
        BadConfigCase{"attention_bias_type", [](json& c) { c["attention_bias"] = "no"; },
                      "field 'attention_bias' must be true or false"},
        BadConfigCase{"sliding_window", [](json& c) { c["use_sliding_window"] = true; },
                      "field 'use_sliding_window' is true"},
        BadConfigCase{"dynamic", [](json& c) { c["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 4.0}}; },
                      "unsupported rope scaling 'dynamic'"},
        BadConfigCase{"yarn_negative_beta",
                      [](json& c) { c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"beta_fast", -1}}; },
                      "field 'rope_scaling.beta_fast'"},
        BadConfigCase{"legacy_type_linear", [](json& c) { c["rope_scaling"] = {{"type", "linear"}}; },
                      "unsupported rope scaling 'linear'"},
        BadConfigCase{"rope_parameters_dynamic",
                      [](json& c) {
                        c.erase("rope_theta");
                        c["rope_parameters"] = {{"rope_theta", 1e6}, {"rope_type", "dynamic"}};
                      },
                      "unsupported rope scaling 'dynamic'"},
        BadConfigCase{"rope_parameters_no_theta",
                      [](json& c) {
                        c.erase("rope_theta");
                        c["rope_parameters"] = {{"rope_type", "default"}};
                      },
                      "field 'rope_parameters.rope_theta' is missing"},
        BadConfigCase{"missing_theta", [](json& c) { c.erase("rope_theta"); },
                      "field 'rope_theta' is missing"},
        BadConfigCase{"negative_theta", [](json& c) { c["rope_theta"] = -1.0; },
                      "field 'rope_theta' must be a positive"},
        BadConfigCase{"eps_string", [](json& c) { c["rms_norm_eps"] = "1e-6"; },
                      "field 'rms_norm_eps' must be a number"},
        BadConfigCase{"bad_dtype", [](json& c) { c["torch_dtype"] = "int8"; },
                      "field 'torch_dtype' has unsupported value 'int8'"},
        BadConfigCase{"no_dtype", [](json& c) { c.erase("torch_dtype"); },
                      "field 'torch_dtype' is missing"},
        BadConfigCase{"tie_string", [](json& c) { c["tie_word_embeddings"] = "yes"; },
                      "field 'tie_word_embeddings' must be true or false"},
        BadConfigCase{"layer_types_sliding",
                      [](json& c) { c["layer_types"] = {"full_attention", "sliding_attention"}; },
                      "field 'layer_types[1]'"},
        BadConfigCase{"layer_types_length", [](json& c) { c["layer_types"] = {"full_attention"}; },
                      "field 'layer_types' has 1 entries, expected 2"},
        BadConfigCase{"top_level_array", [](json& c) { c = json::array(); },
                      "expected a JSON object"}),
    [](const ::testing::TestParamInfo<BadConfigCase>& info) { return info.param.label; });

TEST(StrictJson, RejectsDuplicateKeysAtAnyDepth) {
  EXPECT_THROW(parse_strict_json(R"({"a": 1, "a": 2})", "x"), Error);
  EXPECT_THROW(parse_strict_json(R"({"a": {"b": 1, "b": 1}})", "x"), Error);
  EXPECT_NO_THROW(parse_strict_json(R"({"a": {"b": 1}, "c": {"b": 1}})", "x"));
}

TEST(StrictJson, RejectsDeepNestingWithoutRecursing) {
  std::string deep(100000, '[');
  try {
    parse_strict_json(deep, "deep.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nesting deeper than"), std::string::npos);
  }
}

}  // namespace
}  // namespace qwen3c
