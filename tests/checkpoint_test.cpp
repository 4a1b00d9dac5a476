// Model folders: the fixture models load completely, tied models with and without a stored
// lm_head both load.

#include "frontend/checkpoint.h"

#include <gtest/gtest.h>

#include "runtime/core/error.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using testing::TempDir;
using testing::test_data;

void expect_every_tensor(const ModelSource& source, DType dtype) {
  ASSERT_NE(source.checkpoint, nullptr);
  const auto specs = expected_weights(source.config);
  for (const WeightSpec& spec : specs) {
    ASSERT_TRUE(source.checkpoint->has(spec.name)) << spec.name;
    const TensorView& t = source.checkpoint->tensor(spec.name);
    EXPECT_EQ(t.shape, spec.shape) << spec.name;
    EXPECT_EQ(t.dtype, dtype) << spec.name;
    EXPECT_EQ(t.bytes.size(), element_count(spec.shape) * dtype_size(dtype)) << spec.name;
  }
  EXPECT_EQ(source.checkpoint->tensors().size(), specs.size());
}

TEST(Checkpoint, TinyFixtureLoadsFromTwoBf16Shards) {
  ModelSource source = open_model_source(test_data("models/qwen3-tiny"));
  EXPECT_TRUE(source.config.tie_word_embeddings);
  EXPECT_EQ(source.config.vocab_size, 151936);
  EXPECT_EQ(source.config.head_dim, 16);
  EXPECT_EQ(source.checkpoint->files().size(), 2u);
  EXPECT_FALSE(source.checkpoint->has("lm_head.weight"));
  expect_every_tensor(source, DType::BF16);
}

TEST(Checkpoint, SmallFixtureLoadsUntiedF32) {
  ModelSource source = open_model_source(test_data("models/qwen3-small"));
  EXPECT_FALSE(source.config.tie_word_embeddings);
  EXPECT_EQ(source.checkpoint->files().size(), 1u);
  EXPECT_TRUE(source.checkpoint->has("lm_head.weight"));
  expect_every_tensor(source, DType::F32);
}

TEST(Checkpoint, Hd128FixtureLoads) {
  ModelSource source = open_model_source(test_data("models/qwen3-hd128"));
  EXPECT_EQ(source.config.head_dim, 128);
  expect_every_tensor(source, DType::BF16);
}

TEST(Checkpoint, TiedModelWithoutLmHeadLoads) {
  TempDir dir;
  auto config = testing::tiny_config(/*tied=*/true);
  testing::write_model(dir.path(), config, testing::tiny_tensors(config));
  ModelSource source = open_model_source(dir.path().string());
  EXPECT_FALSE(source.checkpoint->has("lm_head.weight"));
}

TEST(Checkpoint, TiedModelWithStoredLmHeadLoads) {
  TempDir dir;
  auto config = testing::tiny_config(/*tied=*/true);
  auto tensors = testing::tiny_tensors(config);
  tensors.push_back({"lm_head.weight", "F32", {16, 8}});
  testing::write_model(dir.path(), config, tensors);
  ModelSource source = open_model_source(dir.path().string());
  EXPECT_TRUE(source.checkpoint->has("lm_head.weight"));
}

TEST(Checkpoint, BareConfigHasNoWeights) {
  ModelSource source = open_model_source(test_data("configs/Qwen3-0.6B.json"));
  EXPECT_EQ(source.checkpoint, nullptr);
  EXPECT_EQ(source.config.num_layers, 28);
}

TEST(Checkpoint, MixedDtypesAreKeptPerTensor) {
  TempDir dir;
  auto config = testing::tiny_config();
  auto tensors = testing::tiny_tensors(config);
  tensors[1].dtype = "BF16";
  tensors[2].dtype = "F16";
  testing::write_model(dir.path(), config, tensors);
  ModelSource source = open_model_source(dir.path().string());
  EXPECT_EQ(source.checkpoint->tensor(tensors[1].name).dtype, DType::BF16);
  EXPECT_EQ(source.checkpoint->tensor(tensors[2].name).dtype, DType::F16);
  EXPECT_EQ(source.checkpoint->tensor(tensors[3].name).dtype, DType::F32);
}

}  // namespace
}  // namespace qwen3c
