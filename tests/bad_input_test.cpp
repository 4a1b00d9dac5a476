// Table-driven bad-input suite: every malformed or hostile model folder is rejected with a
// message naming the problem, by the library and by the qwen3c binary (non-zero exit, no
// crash). CI also runs this suite under ASan+UBSan (the library half).

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "frontend/checkpoint.h"
#include "runtime/core/error.h"
#include "tests/run_process.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace qwen3c::testing;

struct BadInputCase {
  std::string label;
  std::function<void(const fs::path& dir)> make;  // writes a broken model folder
  std::string expected;                           // substring of the error message
};

// A valid model with one tensor spec or the config changed.
std::function<void(const fs::path&)> with_config(std::function<void(json&)> mutate) {
  return [mutate](const fs::path& dir) {
    json c = tiny_config();
    auto tensors = tiny_tensors(c);
    mutate(c);
    write_model(dir, c, tensors);
  };
}
std::function<void(const fs::path&)> with_tensors(
    std::function<void(std::vector<TensorSpec>&)> mutate) {
  return [mutate](const fs::path& dir) {
    json c = tiny_config();
    auto tensors = tiny_tensors(c);
    mutate(tensors);
    write_model(dir, c, tensors);
  };
}
// A valid config.json next to a model.safetensors with this header and data size.
std::function<void(const fs::path&)> with_header(std::string header, std::size_t data_bytes) {
  return [header, data_bytes](const fs::path& dir) {
    write_text((dir / "config.json").string(), tiny_config().dump());
    write_raw_safetensors((dir / "model.safetensors").string(), header, data_bytes);
  };
}
std::function<void(const fs::path&)> with_file_bytes(std::vector<std::uint8_t> bytes) {
  return [bytes](const fs::path& dir) {
    write_text((dir / "config.json").string(), tiny_config().dump());
    write_bytes((dir / "model.safetensors").string(), bytes);
  };
}
// A valid model split over two shards with an index; `mutate` edits the index.
std::function<void(const fs::path&)> sharded(std::function<void(json& index)> mutate) {
  return [mutate](const fs::path& dir) {
    json c = tiny_config();
    auto tensors = tiny_tensors(c);
    std::vector<TensorSpec> first(tensors.begin(), tensors.begin() + tensors.size() / 2);
    std::vector<TensorSpec> second(tensors.begin() + tensors.size() / 2, tensors.end());
    write_text((dir / "config.json").string(), c.dump());
    write_safetensors((dir / "model-00001-of-00002.safetensors").string(), first);
    write_safetensors((dir / "model-00002-of-00002.safetensors").string(), second);
    json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", json::object()}};
    for (const auto& t : first) index["weight_map"][t.name] = "model-00001-of-00002.safetensors";
    for (const auto& t : second) index["weight_map"][t.name] = "model-00002-of-00002.safetensors";
    mutate(index);
    write_text((dir / "model.safetensors.index.json").string(), index.dump(1));
  };
}

std::vector<std::uint8_t> length_prefix(std::uint64_t n) {
  std::vector<std::uint8_t> b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(n >> (8 * i));
  return b;
}

const std::vector<BadInputCase>& cases() {
  static const std::vector<BadInputCase> all = {
      // config.json
      {"config_invalid_json",
       [](const fs::path& d) { write_text((d / "config.json").string(), "{\"vocab_size\": 16,"); },
       "config.json: invalid JSON"},
      {"config_missing", [](const fs::path&) {}, "no config.json"},
      {"config_missing_field", with_config([](json& c) { c.erase("num_hidden_layers"); }),
       "field 'num_hidden_layers' is missing"},
      {"config_wrong_type", with_config([](json& c) { c["hidden_size"] = "8"; }),
       "field 'hidden_size' must be an integer"},
      {"config_odd_head_dim", with_config([](json& c) { c["head_dim"] = 3; }),
       "field 'head_dim' must be even"},
      {"config_heads_not_divisible", with_config([](json& c) { c["num_key_value_heads"] = 3; }),
       "must divide num_attention_heads"},
      {"config_not_qwen3", with_config([](json& c) { c["model_type"] = "qwen2"; }),
       "field 'model_type' is 'qwen2'"},
      {"config_rope_longrope",
       with_config([](json& c) { c["rope_scaling"] = {{"rope_type", "longrope"}, {"factor", 4}}; }),
       "unsupported rope scaling 'longrope'"},
      {"config_yarn_factor_below_one",
       with_config([](json& c) { c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 0.5}}; }),
       "field 'rope_scaling.factor' must be at least 1"},
      {"config_sliding_window", with_config([](json& c) { c["use_sliding_window"] = true; }),
       "sliding-window attention is not supported"},
      {"config_duplicate_key",
       [](const fs::path& d) {
         std::string text = tiny_config().dump();
         text.insert(1, "\"hidden_size\": 4096, ");
         write_text((d / "config.json").string(), text);
       },
       "duplicate key 'hidden_size'"},
      {"config_deep_nesting",
       [](const fs::path& d) {
         write_text((d / "config.json").string(), "{\"a\":" + std::string(100000, '['));
       },
       "nesting deeper than"},
      // safetensors framing
      {"st_shorter_than_length", with_file_bytes({1, 2, 3}), "truncated"},
      {"st_empty_file", with_file_bytes({}), "truncated"},
      {"st_header_past_end",
       [](const fs::path& d) {
         auto b = length_prefix(5000);
         b.insert(b.end(), {'{', '}'});
         write_text((d / "config.json").string(), tiny_config().dump());
         write_bytes((d / "model.safetensors").string(), b);
       },
       "runs past the end of the file"},
      {"st_header_over_100mb",
       [](const fs::path& d) {
         auto b = length_prefix(200ull << 20);
         b.insert(b.end(), 64, ' ');
         write_text((d / "config.json").string(), tiny_config().dump());
         write_bytes((d / "model.safetensors").string(), b);
       },
       "exceeds the 100 MB limit"},
      {"st_header_length_2_pow_64",
       [](const fs::path& d) {
         auto b = length_prefix(~0ull);
         write_text((d / "config.json").string(), tiny_config().dump());
         write_bytes((d / "model.safetensors").string(), b);
       },
       "exceeds the 100 MB limit"},
      {"st_invalid_json", with_header("{\"a\": {\"dtype\": ", 0), "invalid JSON"},
      {"st_header_not_object", with_header("[1, 2, 3]", 0), "header is not a JSON object"},
      {"st_entry_not_object", with_header(R"({"a": 5})", 0), "header entry must be an object"},
      {"st_unsupported_dtype",
       with_header(R"({"a":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}})", 4),
       "unsupported dtype 'I8'"},
      {"st_missing_dtype", with_header(R"({"a":{"shape":[4],"data_offsets":[0,16]}})", 16),
       "missing or non-string 'dtype'"},
      {"st_negative_dim",
       with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
       "non-negative integers"},
      {"st_shape_overflow",
       with_header(
           R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4),
       "is too large"},
      {"st_bad_offsets_arity", with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
       "'data_offsets' must be a list of two"},
      {"st_offsets_reversed",
       with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8),
       "is before begin"},
      {"st_length_mismatch",
       with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
       "does not match shape [3] x F32"},
      {"st_out_of_bounds",
       with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
       "out of bounds"},
      {"st_offset_huge",
       with_header(
           R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551610,18446744073709551614]}})",
           8),
       "out of bounds"},
      {"st_overlap",
       with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                   R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                   12),
       "overlaps"},
      {"st_gap",
       with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                   12),
       "are not covered by any tensor"},
      {"st_trailing_bytes",
       with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12),
       "are not covered by any tensor"},
      {"st_duplicate_name",
       with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                   R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                   8),
       "duplicate key 'a'"},
      // sharded checkpoints
      {"index_invalid_json",
       [](const fs::path& d) {
         sharded([](json&) {})(d);
         write_text((d / "model.safetensors.index.json").string(), "{\"weight_map\": ");
       },
       "model.safetensors.index.json: invalid JSON"},
      {"index_no_weight_map", sharded([](json& i) { i.erase("weight_map"); }),
       "field 'weight_map' is missing"},
      {"index_missing_shard",
       sharded([](json& i) { i["weight_map"]["model.norm.weight"] = "model-00003-of-00003.safetensors"; }),
       "names shard 'model-00003-of-00003.safetensors', which does not exist"},
      {"index_path_traversal",
       sharded([](json& i) { i["weight_map"]["model.norm.weight"] = "../../etc/passwd"; }),
       "is not a plain file name"},
      {"index_wrong_shard",
       sharded([](json& i) {
         i["weight_map"]["model.norm.weight"] = "model-00001-of-00002.safetensors";
       }),
       "maps tensor 'model.norm.weight' to shard 'model-00001-of-00002.safetensors', which does not contain it"},
      {"index_names_missing_tensor",
       sharded([](json& i) { i["weight_map"]["model.layers.9.mlp.up_proj.weight"] = "model-00001-of-00002.safetensors"; }),
       "maps tensor 'model.layers.9.mlp.up_proj.weight'"},
      {"index_omits_tensor", sharded([](json& i) { i["weight_map"].erase("model.norm.weight"); }),
       "holds tensor 'model.norm.weight', which"},
      {"tensor_in_two_shards",
       [](const fs::path& d) {
         sharded([](json&) {})(d);
         // Rewrite shard 2 so it also holds a tensor of shard 1.
         json c = tiny_config();
         auto tensors = tiny_tensors(c);
         std::vector<TensorSpec> second(tensors.begin() + tensors.size() / 2, tensors.end());
         second.push_back(tensors.front());
         write_safetensors((d / "model-00002-of-00002.safetensors").string(), second);
       },
       "is also in"},
      {"no_weights",
       [](const fs::path& d) { write_text((d / "config.json").string(), tiny_config().dump()); },
       "no model.safetensors or model.safetensors.index.json"},
      // tensors against the config
      {"missing_tensor",
       with_tensors([](std::vector<TensorSpec>& t) {
         std::erase_if(t, [](const TensorSpec& s) { return s.name == "model.layers.1.mlp.up_proj.weight"; });
       }),
       "missing tensor 'model.layers.1.mlp.up_proj.weight'"},
      {"untied_without_lm_head",
       [](const fs::path& d) {
         json c = tiny_config(/*tied=*/false);
         auto tensors = tiny_tensors(tiny_config(/*tied=*/true));
         write_model(d, c, tensors);
       },
       "missing tensor 'lm_head.weight'"},
      {"unexpected_tensor",
       with_tensors([](std::vector<TensorSpec>& t) { t.push_back({"model.layers.7.extra", "F32", {2}}); }),
       "unexpected tensor 'model.layers.7.extra'"},
      {"wrong_shape",
       with_tensors([](std::vector<TensorSpec>& t) {
         for (auto& s : t) if (s.name == "model.layers.0.self_attn.k_proj.weight") s.shape = {8, 8};
       }),
       "'model.layers.0.self_attn.k_proj.weight' has shape [8, 8], config.json implies [4, 8]"},
      {"tied_lm_head_wrong_shape",
       with_tensors([](std::vector<TensorSpec>& t) { t.push_back({"lm_head.weight", "F32", {15, 8}}); }),
       "'lm_head.weight' has shape [15, 8]"},
  };
  return all;
}

void PrintTo(const BadInputCase& c, std::ostream* os) { *os << c.label; }

class BadInput : public ::testing::TestWithParam<BadInputCase> {
 protected:
  void SetUp() override { GetParam().make(dir_.path()); }
  TempDir dir_;
};

TEST_P(BadInput, LibraryRejectsWithMessage) {
  try {
    open_model_source(dir_.path().string());
    FAIL() << "accepted bad input " << GetParam().label;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().expected), std::string::npos)
        << "message: " << e.what();
  }
}

#ifdef QWEN3C_CLI
TEST_P(BadInput, CliExitsNonZeroWithMessage) {
  const std::string qwen3c = std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c";
  for (const char* command : {"inspect", "compile --emit ir -o /dev/null"}) {
    ProcessResult r = run_process(qwen3c + " " + command + " " + quoted(dir_.path().string()));
    EXPECT_EQ(r.exit_code, 1) << command << ": " << r.output;
    EXPECT_NE(r.output.find("qwen3c: error: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(GetParam().expected), std::string::npos) << r.output;
  }
}
#endif

INSTANTIATE_TEST_SUITE_P(Frontend, BadInput, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<BadInputCase>& info) {
                           return info.param.label;
                         });

}  // namespace
}  // namespace qwen3c
