// The graph builder: every published config gives a verified graph whose weights add up to
// the published parameter count; both config layouts give identical IR; the 4B graph
// survives print -> parse -> print unchanged.

#include "frontend/graph_builder.h"

#include <gtest/gtest.h>

#include "frontend/checkpoint.h"
#include "frontend/hf_config.h"
#include "runtime/core/strict_json.h"
#include "ir/Q3.h"
#include "ir/module_info.h"
#include "mlir/IR/Verifier.h"
#include "tests/ir_test_util.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using testing::IrTest;
using testing::test_data;

struct PublishedModel {
  std::string name;
  std::int64_t parameters;
};

class PublishedConfig : public ::testing::TestWithParam<PublishedModel>, public IrTest {};

TEST_P(PublishedConfig, GraphVerifiesAndWeightsSumToPublishedCount) {
  ModelConfig config = load_hf_config(test_data("configs/" + GetParam().name + ".json"));
  auto module = build_qwen3_module(context(), config);
  ASSERT_TRUE(mlir::succeeded(mlir::verify(*module)));
  q3::ModuleInfo info = q3::summarize(*module);
  EXPECT_EQ(info.parameter_count, GetParam().parameters);
  EXPECT_EQ(info.op_counts["q3.attention"], config.num_layers);
  EXPECT_EQ(info.op_counts["q3.linear"], 7 * config.num_layers + 1);
  EXPECT_EQ(info.op_counts["q3.rms_norm"], 2 * config.num_layers + 1);
  EXPECT_EQ(info.op_counts["q3.head_rms_norm"], 2 * config.num_layers);
  EXPECT_EQ(info.op_counts["q3.rope"], 2 * config.num_layers);
  EXPECT_EQ(info.op_counts["q3.add"], 2 * config.num_layers);
  EXPECT_EQ(info.bytes_by_dtype["bf16"], 2 * GetParam().parameters);
}

INSTANTIATE_TEST_SUITE_P(
    Qwen3, PublishedConfig,
    ::testing::Values(PublishedModel{"Qwen3-0.6B", 596049920},
                      PublishedModel{"Qwen3-1.7B", 1720574976},
                      PublishedModel{"Qwen3-4B", 4022468096},
                      PublishedModel{"Qwen3-4B-Instruct-2507", 4022468096},
                      PublishedModel{"Qwen3-8B", 8190735360},
                      PublishedModel{"Qwen3-14B", 14768307200},
                      PublishedModel{"Qwen3-32B", 32762123264}),
    [](const ::testing::TestParamInfo<PublishedModel>& info) { return testing::test_name(info.param.name); });

class GraphBuilder : public ::testing::Test, public IrTest {};

// Qwen's YaRN instructions: every rope carries the scaling, which survives print -> parse.
TEST_F(GraphBuilder, YarnScalingReachesEveryRope) {
  nlohmann::json config = read_strict_json_file(test_data("configs/Qwen3-4B.json"), 1 << 20);
  config["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}};
  config["max_position_embeddings"] = 131072;
  auto module = build_qwen3_module(context(), parse_hf_config(config, "yarn.json"));
  ASSERT_TRUE(mlir::succeeded(mlir::verify(*module)));
  int scaled = 0;
  module->walk([&](q3::RopeOp rope) {
    ASSERT_TRUE(rope.getYarnAttr());
    EXPECT_EQ(rope.getYarnAttr().getOriginalContext(), 32768);
    EXPECT_DOUBLE_EQ(rope.getYarnAttr().getFactor().getValueAsDouble(), 4.0);
    ++scaled;
  });
  EXPECT_EQ(scaled, 72);
  const std::string text = print(*module);
  EXPECT_NE(text.find("#q3.yarn<factor = 4.000000e+00 : f64, original_context = 32768"), std::string::npos);
  std::string diagnostics;
  auto reparsed = parse(text, &diagnostics);
  ASSERT_TRUE(reparsed) << diagnostics;
  EXPECT_EQ(print(*reparsed), text);
}

TEST_F(GraphBuilder, BothConfigLayoutsGiveIdenticalIr) {
  nlohmann::json published = read_strict_json_file(test_data("configs/Qwen3-4B.json"), 1 << 20);
  nlohmann::json newer = published;
  newer.erase("rope_theta");
  newer.erase("torch_dtype");
  newer.erase("rope_scaling");
  newer["rope_parameters"] = {{"rope_theta", 1000000.0}, {"rope_type", "default"}};
  newer["dtype"] = "bfloat16";
  newer["layer_types"] = std::vector<std::string>(36, "full_attention");
  auto a = build_qwen3_module(context(), parse_hf_config(published, "a/config.json"));
  auto b = build_qwen3_module(context(), parse_hf_config(newer, "b/config.json"));
  EXPECT_EQ(print(*a), print(*b));
}

TEST_F(GraphBuilder, PrintParsePrintOf4BIsIdentical) {
  ModelConfig config = load_hf_config(test_data("configs/Qwen3-4B.json"));
  auto module = build_qwen3_module(context(), config);
  std::string first = print(*module);
  std::string diagnostics;
  auto reparsed = parse(first, &diagnostics);
  ASSERT_TRUE(reparsed) << diagnostics;
  ASSERT_TRUE(mlir::succeeded(mlir::verify(*reparsed)));
  EXPECT_EQ(print(*reparsed), first);
  // Weights are referenced, not copied: the whole 36-layer graph stays small.
  EXPECT_LT(first.size(), 400u * 1024u);
}

TEST_F(GraphBuilder, UsesCheckpointDtypesAndTiesLmHead) {
  ModelSource tiny = open_model_source(test_data("models/qwen3-tiny"));
  std::map<std::string, DType> dtypes;
  for (const auto& [name, view] : tiny.checkpoint->tensors()) dtypes[name] = view.dtype;
  auto module = build_qwen3_module(context(), tiny.config, dtypes);
  ASSERT_TRUE(mlir::succeeded(mlir::verify(*module)));
  std::string text = print(*module);
  EXPECT_NE(text.find("q3.weight @model.embed_tokens.weight : tensor<151936x32xbf16>"),
            std::string::npos);
  EXPECT_EQ(text.find("lm_head.weight"), std::string::npos);
  // The final linear reads the embedding table.
  EXPECT_NE(text.find("q3.get_weight @model.embed_tokens.weight : tensor<151936x32xbf16>\n"
                      "    %"),
            std::string::npos);
  EXPECT_NE(text.find("-> tensor<?x151936xf32>"), std::string::npos);
  EXPECT_NE(text.find("!q3.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, element_type = f32>"),
            std::string::npos);
}

TEST_F(GraphBuilder, UntiedModelDeclaresLmHead) {
  ModelSource small = open_model_source(test_data("models/qwen3-small"));
  std::map<std::string, DType> dtypes;
  for (const auto& [name, view] : small.checkpoint->tensors()) dtypes[name] = view.dtype;
  auto module = build_qwen3_module(context(), small.config, dtypes);
  ASSERT_TRUE(mlir::succeeded(mlir::verify(*module)));
  std::string text = print(*module);
  EXPECT_NE(text.find("q3.weight @lm_head.weight : tensor<512x128xf32>"), std::string::npos);
  EXPECT_NE(text.find("q3.get_weight @lm_head.weight"), std::string::npos);
  EXPECT_EQ(q3::summarize(*module).parameter_count, parameter_count(small.config));
}

}  // namespace
}  // namespace qwen3c
