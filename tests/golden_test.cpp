// Golden tests of every registered backend: each fixture model is compiled to an artifact
// with the compiler library for a target (vulkan runs on whatever Vulkan device the machine has,
// Mesa's lavapipe in CI, and fails when there is none), run through the runtime API, and
// compared with Hugging Face's own logits and greedy tokens. Bars: relative L2 error <= 1e-4
// for prefill logits and every greedy step's logits; greedy tokens identical.

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "runtime/execution/session.h"
#include "tests/golden.h"
#include "tests/compile_for_test.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using namespace qwen3c::testing;

constexpr double kMaxRelativeError = 1e-4;

// Compiles each fixture model once per optimisation level for the whole suite.
class Golden : public ::testing::TestWithParam<std::tuple<std::string, std::string, std::string>> {
 protected:
  static void SetUpTestSuite() { dir_ = new TempDir(); }
  static void TearDownTestSuite() {
    artifacts_.clear();
    delete dir_;
  }

  static std::shared_ptr<Model> model(const std::string& name, const std::string& level, const std::string& target) {
    const std::string key = name + level + target;
    auto it = artifacts_.find(key);
    if (it != artifacts_.end()) return it->second;
    const std::string out = dir_->file(key + ".q3c");
    compile_for_test(test_data("models/" + name), out, target_options(target, "bf16", level == "-O0" ? 0 : 2));
    return artifacts_[key] = Model::load(out);
  }

  static TempDir* dir_;
  static std::map<std::string, std::shared_ptr<Model>> artifacts_;
};
TempDir* Golden::dir_ = nullptr;
std::map<std::string, std::shared_ptr<Model>> Golden::artifacts_;

// Checks our logits row against a golden row given in full, or (for the real-vocabulary
// model, whose goldens keep only the top 16 and the logsumexp) against those.
void expect_row_matches(const float* ours, std::int64_t vocab, const Goldens& g,
                        const std::string& prefix, std::int64_t row, const std::string& what) {
  if (g.has(prefix + "logits")) {
    std::vector<float> ref = g.floats(prefix + "logits");
    EXPECT_LE(relative_error(ours, ref.data() + row * vocab, vocab), kMaxRelativeError) << what;
    return;
  }
  std::vector<float> values = g.floats(prefix + "top16_values");
  std::vector<std::int64_t> indices = g.ints(prefix + "top16_indices");
  std::vector<float> picked(16), ref(values.begin() + row * 16, values.begin() + row * 16 + 16);
  for (int i = 0; i < 16; ++i) picked[i] = ours[indices[row * 16 + i]];
  EXPECT_LE(relative_error(picked.data(), ref.data(), 16), kMaxRelativeError) << what << " (top 16)";
  const double lse = g.floats(prefix + "logsumexp")[row];
  EXPECT_NEAR(logsumexp(ours, vocab), lse, kMaxRelativeError * std::max(1.0, std::abs(lse))) << what;
}

TEST_P(Golden, PrefillAndGreedyMatchHuggingFace) {
  const auto& [name, level, target] = GetParam();
  Goldens g(test_data("models/" + name + "/goldens.safetensors"));
  auto m = model(name, level, target);
  ASSERT_NE(m, nullptr);
  const std::int64_t vocab = m->config().vocab_size;
  ASSERT_GT(g.sequences(), 0);
  for (int seq = 0; seq < g.sequences(); ++seq) {
    const std::string s = "seq" + std::to_string(seq) + ".";
    std::vector<std::int64_t> ids = g.ints(s + "input_ids");
    std::vector<std::int64_t> tokens = g.ints(s + "greedy.tokens");
    const auto prompt = static_cast<std::int64_t>(ids.size());
    Session session(m, prompt + static_cast<std::int64_t>(tokens.size()));

    std::vector<float> prefill = session.forward(ids, /*all_logits=*/true);
    ASSERT_EQ(prefill.size(), static_cast<std::size_t>(prompt * vocab));
    for (std::int64_t t = 0; t < prompt; ++t) {
      expect_row_matches(prefill.data() + t * vocab, vocab, g, s + "prefill.", t,
                         name + " " + s + " prefill row " + std::to_string(t));
    }
    std::vector<float> last = g.floats(s + "prefill.last_logits");
    EXPECT_LE(relative_error(prefill.data() + (prompt - 1) * vocab, last.data(), vocab), kMaxRelativeError);

    std::int64_t next = std::max_element(prefill.end() - vocab, prefill.end()) - (prefill.end() - vocab);
    for (std::size_t step = 0; step < tokens.size(); ++step) {
      ASSERT_EQ(next, tokens[step]) << name << " " << s << "greedy step " << step;
      std::vector<float> logits = session.forward(std::span<const std::int64_t>(&next, 1));
      expect_row_matches(logits.data(), vocab, g, s + "greedy.step_", static_cast<std::int64_t>(step),
                         name + " " + s + " step " + std::to_string(step));
      next = std::max_element(logits.begin(), logits.end()) - logits.begin();
    }
    EXPECT_EQ(session.position(), prompt + static_cast<std::int64_t>(tokens.size()));
  }
}

TEST_P(Golden, LastLogitsOnlyEqualsLastRowOfAll) {
  auto m = model(std::get<0>(GetParam()), std::get<1>(GetParam()), std::get<2>(GetParam()));
  ASSERT_NE(m, nullptr);
  const std::int64_t vocab = m->config().vocab_size;
  std::vector<std::int64_t> ids = {1, 5, 9, 2, 7};
  Session a(m, 16), b(m, 16);
  std::vector<float> all = a.forward(ids, true);
  std::vector<float> last = b.forward(ids, false);
  ASSERT_EQ(last.size(), static_cast<std::size_t>(vocab));
  EXPECT_LE(relative_error(last.data(), all.data() + 4 * vocab, vocab), 1e-6);
}

// A weight larger than one Vulkan binding may span (lavapipe: 128 MiB, so Qwen3-4B's
// 741 MiB embedding) is bound a slice of rows at a time. Pretending the limit is 6 MB
// slices the tiny model's 9.7 MB tied embedding / lm_head in two, for both the lookup and
// the matmul; the logits still match Hugging Face's. The logits buffer is one binding too:
// 6 MB hold 9 rows of the 151,936-token vocabulary, so the 16-token prompt's logits (as
// `eval` asks for them) come from two steps.
TEST(VulkanSlicedWeights, MatchHuggingFace) {
  TempDir dir;
  const std::string out = dir.file("tiny.q3c");
  compile_for_test(test_data("models/qwen3-tiny"), out, target_options("vulkan"));
  ::setenv("QWEN3C_VULKAN_MAX_BINDING_BYTES", "6000000", 1);
  auto m = Model::load(out);
  ::unsetenv("QWEN3C_VULKAN_MAX_BINDING_BYTES");
  Goldens g(test_data("models/qwen3-tiny/goldens.safetensors"));
  const std::int64_t vocab = m->config().vocab_size;
  EXPECT_EQ(m->executor().max_logit_rows(), 9);
  bool cut = false;
  for (int seq = 0; seq < g.sequences(); ++seq) {
    const std::string s = "seq" + std::to_string(seq) + ".";
    std::vector<std::int64_t> ids = g.ints(s + "input_ids");
    cut = cut || static_cast<std::int64_t>(ids.size()) > m->executor().max_logit_rows();
    Session session(m, 32);
    std::vector<float> prefill = session.forward(ids, /*all_logits=*/true);
    ASSERT_EQ(prefill.size(), ids.size() * static_cast<std::size_t>(vocab));
    EXPECT_EQ(session.position(), static_cast<std::int64_t>(ids.size()));
    for (std::size_t t = 0; t < ids.size(); ++t) {
      expect_row_matches(prefill.data() + t * vocab, vocab, g, s + "prefill.", static_cast<std::int64_t>(t),
                         "sliced " + s + " prefill row " + std::to_string(t));
    }
    const std::int64_t first = g.ints(s + "greedy.tokens")[0];
    EXPECT_EQ(std::max_element(prefill.end() - vocab, prefill.end()) - (prefill.end() - vocab), first);
  }
  EXPECT_TRUE(cut) << "no prompt needed more than one step's logits";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden,
                         ::testing::Combine(::testing::Values("qwen3-tiny", "qwen3-small", "qwen3-hd128"),
                                            ::testing::Values("-O0", "-O2"),
                                            ::testing::ValuesIn(registered_backends())),
                         [](const auto& info) {
                           std::string name =
                               std::get<2>(info.param) + "_" + std::get<0>(info.param) + std::get<1>(info.param);
                           for (char& c : name) if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace qwen3c
