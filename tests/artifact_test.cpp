// Artifacts: a compiled fixture loads; every kind of damage is refused with a message that
// says what is wrong (never a crash).

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>

#include "backends/cpu/runtime/cpu_manifest.h"
#include "runtime/artifact/artifact_format.h"
#include "runtime/core/cpu_features.h"
#include "runtime/core/error.h"
#include "runtime/execution/session.h"
#include "tests/artifact_edit.h"
#include "tests/compile_for_test.h"
#include "tests/run_process.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using namespace qwen3c::testing;
using nlohmann::json;

class ArtifactTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    compile_for_test(test_data("models/qwen3-small"), good());
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string good() { return dir_->file("good.q3c"); }

  // Writes `bytes` as an artifact and expects loading it to fail with `expected`.
  void expect_refused(const std::vector<std::uint8_t>& bytes, const std::string& expected) {
    const std::string path = dir_->file("bad.q3c");
    write_bytes(path, bytes);
    try {
      Model::load(path);
      ADD_FAILURE() << "loaded a damaged artifact; expected: " << expected;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
    // The same through the Status interface programs that embed the runtime use.
    absl::StatusOr<std::shared_ptr<Model>> opened = Model::open(path);
    EXPECT_TRUE(absl::IsInvalidArgument(opened.status())) << opened.status();
    EXPECT_NE(std::string(opened.status().message()).find(expected), std::string::npos) << opened.status();
    ProcessResult r = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c eval " + path +
                                  " --ids 1,2 --steps 1 --out " + dir_->file("out.safetensors"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
  }

  static TempDir* dir_;
};
TempDir* ArtifactTest::dir_ = nullptr;

TEST_F(ArtifactTest, GoodArtifactLoads) {
  ASSERT_TRUE(Model::open(good()).ok());
  auto model = Model::load(good());
  EXPECT_EQ(model->config().vocab_size, 512);
  EXPECT_EQ(model->artifact().backend(), "cpu");
  // -O2 stacks gate and up: 10 weights a layer, plus embedding, final norm and lm_head.
  EXPECT_EQ(model->artifact().tensors().size(), 4u * 10 + 3);
}

TEST_F(ArtifactTest, TruncatedIsRefused) {
  auto bytes = read_bytes(good());
  bytes.resize(bytes.size() - 100);
  expect_refused(bytes, "truncated");
  bytes.resize(40);
  expect_refused(bytes, "truncated");
}

TEST_F(ArtifactTest, WrongMagicIsRefused) {
  auto bytes = read_bytes(good());
  bytes[0] = 'X';
  expect_refused(bytes, "not a qwen3c artifact");
}

TEST_F(ArtifactTest, WrongVersionIsRefused) {
  auto bytes = read_bytes(good());
  ArtifactHeader h = header_of(bytes);
  h.version = 99;
  h.header_checksum = checksum(&h, offsetof(ArtifactHeader, header_checksum));
  std::memcpy(bytes.data(), &h, sizeof h);
  expect_refused(bytes, "artifact format version 99");
}

TEST_F(ArtifactTest, FlippedHeaderByteIsRefused) {
  auto bytes = read_bytes(good());
  bytes[20] ^= 0x01;
  expect_refused(bytes, "header checksum mismatch");
}

TEST_F(ArtifactTest, FlippedManifestByteIsRefused) {
  auto bytes = read_bytes(good());
  bytes[header_of(bytes).manifest_offset + 10] ^= 0x20;
  expect_refused(bytes, "manifest checksum mismatch");
}

TEST_F(ArtifactTest, FlippedWeightByteIsRefused) {
  auto bytes = read_bytes(good());
  bytes[kArtifactHeaderSize + 1000] ^= 0x40;  // inside the first tensor
  expect_refused(bytes, "checksum mismatch in tensor 'model.embed_tokens.weight'");
}

TEST_F(ArtifactTest, FlippedCodeByteIsRefused) {
  auto bytes = read_bytes(good());
  ArtifactHeader h = header_of(bytes);
  json manifest = json::parse(std::string(bytes.begin() + h.manifest_offset, bytes.end()));
  bytes[manifest["backend"]["code"]["offset"].get<std::size_t>() + 100] ^= 0x01;
  expect_refused(bytes, "checksum mismatch in code");
}

TEST_F(ArtifactTest, UnknownBackendIsRefused) {
  expect_refused(with_manifest(read_bytes(good()), [](json& m) { m["backend"]["name"] = "tpu"; }),
                 "built for backend 'tpu', which this runtime does not have");
}

TEST_F(ArtifactTest, MissingCpuFeatureIsRefused) {
  // A feature this machine lacks: AMD CPUs have no AMX, Intel CPUs no SSE4a.
  std::string lacking;
  for (const char* f : {"amx-tile", "sse4a", "avx512fp16", "avx512f"}) {
    if (!missing_cpu_features({f}).empty()) {
      lacking = f;
      break;
    }
  }
  ASSERT_FALSE(lacking.empty()) << "no x86 CPU has both AMX and SSE4a";
  expect_refused(with_manifest(read_bytes(good()),
                               [&](json& m) { m["backend"]["target_features"].push_back(lacking); }),
                 "features this machine lacks (" + lacking + ")");
}

TEST_F(ArtifactTest, TensorOutsideDataIsRefused) {
  expect_refused(with_manifest(read_bytes(good()), [](json& m) { m["tensors"][3]["offset"] = 1ull << 40; }),
                 "lies outside the data section");
}

TEST_F(ArtifactTest, TensorShapeMismatchIsRefused) {
  expect_refused(with_manifest(read_bytes(good()), [](json& m) { m["tensors"][0]["shape"] = {512, 64}; }),
                 "size does not match its shape");
}

// An artifact is code: a manifest rewritten with valid checksums must not steer it.
TEST_F(ArtifactTest, ManifestThatDisagreesWithTheCodeIsRefused) {
  const std::string mismatch = "the manifest does not match the code";
  const std::vector<std::function<void(json&)>> edits = {
      [](json& m) { m["tensors"].erase(m["tensors"].size() - 1); },           // a tensor dropped
      [](json& m) { m["model"]["num_hidden_layers"] = 2; },                   // fewer layers
      [](json& m) { m["model"]["vocab_size"] = 100000; },                     // another vocabulary
      [](json& m) { m["backend"]["arena_floats_per_token"] = 1; },            // a smaller arena
      [](json& m) { m["backend"]["kernel_tier"] = "amx"; },                   // another tier
      [](json& m) { m["precision"] = m["precision"] == "fast" ? "f32" : "fast"; },  // another precision
  };
  for (const auto& edit : edits) {
    const auto bytes = with_manifest(read_bytes(good()), edit);
    const std::string path = dir_->file("crafted.q3c");
    write_bytes(path, bytes);
    ProcessResult r = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c eval " + path +
                                  " --ids 1,2 --steps 1 --out " + dir_->file("out.safetensors"));
    EXPECT_EQ(r.exit_code, 1) << r.output;  // an error, never a signal
    EXPECT_NE(r.output.find("error"), std::string::npos) << r.output;
  }
  // Where the model configuration still validates, the fingerprint is what refuses it.
  expect_refused(with_manifest(read_bytes(good()), [](json& m) { m["backend"]["arena_floats_per_token"] = 1; }),
                 mismatch);
  expect_refused(
      with_manifest(read_bytes(good()), [](json& m) { m["precision"] = m["precision"] == "fast" ? "f32" : "fast"; }),
      mismatch);
}

// Each call's weights label `bench --profile-calls` and nothing else: a list that does not fit
// the tensor table leaves the calls unlabelled, the artifact still runs.
TEST_F(ArtifactTest, CallWeightListsAreOnlyProfileLabels) {
  const cpu::CpuManifest m = cpu::CpuManifest::from_json(Artifact::open(good()));
  ASSERT_EQ(m.kernel_weights.size(), m.kernels.size());
  const std::size_t tensors = Artifact::open(good()).tensors().size();
  std::size_t labelled = 0;
  for (const auto& list : m.kernel_weights) {
    labelled += list.empty() ? 0 : 1;
    for (std::int64_t i : list) EXPECT_LT(static_cast<std::size_t>(i), tensors);
  }
  EXPECT_GT(labelled, m.kernels.size() / 2);  // the products and norms name their weights

  const std::vector<std::function<void(json&)>> edits = {
      [](json& m) { m["backend"].erase("kernel_weights"); },                       // an older artifact
      [](json& m) { m["backend"]["kernel_weights"][1] = {1ull << 40}; },           // outside the table
      [](json& m) { m["backend"]["kernel_weights"][1] = {"q_proj"}; },             // not an index
      [](json& m) { m["backend"]["kernel_weights"].erase(0); },                    // one list short
      [](json& m) { m["backend"]["kernel_weights"] = "all"; },                     // not a list
  };
  for (const auto& edit : edits) {
    const std::string path = dir_->file("labels.q3c");
    write_bytes(path, with_manifest(read_bytes(good()), edit));
    const cpu::CpuManifest edited = cpu::CpuManifest::from_json(Artifact::open(path));
    ASSERT_EQ(edited.kernel_weights.size(), m.kernels.size());
    for (const auto& list : edited.kernel_weights) EXPECT_TRUE(list.empty());
    ProcessResult r = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c bench " + path +
                                  " -p 0 -n 1 -r 1 -t 1 --profile-calls");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.find(" q_proj"), std::string::npos) << r.output;
  }
}

// The CPU schedule runs each layer's q, k and v products as one call (compiler/lowering.cpp:
// one rounding of the activations, one barrier): the call reads exactly that layer's three
// matrices, in that order, and no other call reads any of them. (That its results are
// right, the golden and kernel reference tests show.) Packed weights only: f32 checkpoints'
// row-major products stay three calls.
TEST_F(ArtifactTest, EachLayersQueryKeyAndValueProductsAreOneCall) {
  const std::string path = dir_->file("q8_0.q3c");
  compile_for_test(test_data("models/qwen3-small"), path, target_options("cpu", "q8_0"));
  const Artifact artifact = Artifact::open(path);
  const cpu::CpuManifest m = cpu::CpuManifest::from_json(artifact);
  ASSERT_EQ(m.kernel_weights.size(), m.kernels.size());
  const auto& tensors = artifact.tensors();
  int merged = 0;
  for (std::size_t i = 0; i < m.kernels.size(); ++i) {
    std::vector<std::string> names;
    for (std::int64_t t : m.kernel_weights[i]) names.push_back(tensors[static_cast<std::size_t>(t)].name);
    const bool three = m.kernels[i].find("_linear3_") != std::string::npos;
    if (!three) {
      for (const std::string& n : names) {
        for (const char* p : {"q_proj", "k_proj", "v_proj"}) {
          EXPECT_EQ(n.find(p), std::string::npos) << m.kernels[i] << " reads " << n << " alone";
        }
      }
      continue;
    }
    ASSERT_GE(names.size(), 3u) << m.kernels[i];
    const std::string layer = "layers." + std::to_string(merged) + ".self_attn.";
    const char* projections[] = {"q_proj", "k_proj", "v_proj"};
    for (int p = 0; p < 3; ++p) {
      EXPECT_NE(names[names.size() - 3 + p].find(layer + projections[p]), std::string::npos)
          << m.kernels[i] << " call " << i;
    }
    ++merged;
  }
  EXPECT_EQ(merged, 4) << "one call a layer of qwen3-small";
}

TEST_F(ArtifactTest, EntryPointOtherThanTheGeneratedOneIsRefused) {
  expect_refused(with_manifest(read_bytes(good()), [](json& m) { m["backend"]["entry"] = "abort"; }),
                 "entry point 'abort' is not the generated 'q3_forward'");
}

}  // namespace
}  // namespace qwen3c
