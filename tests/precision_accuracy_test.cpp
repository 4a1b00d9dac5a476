// What --precision fast costs (activations rounded to bf16, or to int8 blocks for q8_0 /
// q4_0 weights, before each matrix product), on every fixture model: the next-token
// distributions against --precision f32 on the same weights, over the prompts and their
// greedy continuations (teacher forcing). The bars: bf16-fast stays below the error
// q8_0 weights already cause; q8_0/q4_0-fast add no more than the weights' own quantisation
// error again (at most double it). Absolute bounds are the measured values with headroom
// (BENCHMARKS.md), tight enough that a kernel with a wrong block scale fails them.

#include <gtest/gtest.h>

#include <map>

#include "tests/accuracy.h"
#include "tests/compile_for_test.h"
#include "tests/golden.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using namespace qwen3c::testing;

class PrecisionAccuracy : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { dir_ = new TempDir(); }
  static void TearDownTestSuite() { delete dir_; }
  std::shared_ptr<Model> compile(const std::string& model, const std::string& quant, const std::string& precision) {
    const std::string out = dir_->file(model + "-" + quant + "-" + precision + ".q3c");
    compile_for_test(test_data("models/" + model), out, target_options("cpu", quant, 2, precision));
    return Model::load(out);
  }
  static TempDir* dir_;
};
TempDir* PrecisionAccuracy::dir_ = nullptr;

// Every position's logits of every golden sequence (prompt + greedy continuation).
std::vector<float> logits(const std::shared_ptr<Model>& m, const Goldens& g) {
  std::vector<float> all;
  for (int seq = 0; seq < g.sequences(); ++seq) {
    const std::string s = "seq" + std::to_string(seq) + ".";
    std::vector<std::int64_t> ids = g.ints(s + "input_ids");
    for (std::int64_t t : g.ints(s + "greedy.tokens")) ids.push_back(t);
    const std::vector<float> x = all_logits(m, ids);
    all.insert(all.end(), x.begin(), x.end());
  }
  return all;
}

TEST_P(PrecisionAccuracy, FastCostsLessThanTheWeightsOwnQuantisation) {
  const std::string name = GetParam();
  // Mean KL of fast against f32 on the same weights, measured 2026-11-30 (BENCHMARKS.md):
  // tiny 0.000038 / 0.00047 / 0.00042, small 0 (f32 weights: nothing to round) / 0.00030 /
  // 0.00027, hd128 0.000022 / 0.00030 / 0.00030. Bounds: about 1.6x that.
  const std::map<std::string, std::map<std::string, double>> max_kl = {
      {"qwen3-tiny", {{"bf16", 0.00006}, {"q8_0", 0.00075}, {"q4_0", 0.00068}}},
      {"qwen3-small", {{"bf16", 0.000001}, {"q8_0", 0.00048}, {"q4_0", 0.00044}}},
      {"qwen3-hd128", {{"bf16", 0.000036}, {"q8_0", 0.00048}, {"q4_0", 0.00048}}},
  };
  Goldens g(test_data("models/" + name + "/goldens.safetensors"));
  const std::vector<float> reference = logits(compile(name, "bf16", "f32"), g);
  const std::int64_t vocab = compile(name, "bf16", "f32")->config().vocab_size;
  std::map<std::string, Accuracy> weights_error;  // f32 precision, quantised weights vs bf16
  for (const std::string quant : {"q8_0", "q4_0"}) {
    weights_error[quant] = compare(logits(compile(name, quant, "f32"), g), reference, vocab);
  }
  for (const std::string quant : {"bf16", "q8_0", "q4_0"}) {
    const std::vector<float> exact = logits(compile(name, quant, "f32"), g);
    const std::vector<float> fast = logits(compile(name, quant, "fast"), g);
    const Accuracy added = compare(fast, exact, vocab);      // what the rounding alone costs
    const Accuracy total = compare(fast, reference, vocab);  // weights and rounding together
    std::printf("%s %s: fast vs f32: KL %.6f, top-1 %.4f, rel. error %.5f; vs bf16-f32: KL %.6f", name.c_str(),
                quant.c_str(), added.mean_kl, added.top1_agreement, added.relative_error, total.mean_kl);
    if (quant != "bf16") std::printf(" (the weights alone: KL %.6f)", weights_error[quant].mean_kl);
    std::printf("\n");
    if (quant == "bf16") {
      EXPECT_LT(added.mean_kl, weights_error["q8_0"].mean_kl) << "bf16-fast costs more than q8_0 weights";
    } else {
      EXPECT_LE(total.mean_kl, 2 * weights_error[quant].mean_kl) << quant << "-fast more than doubles the weights' error";
    }
    EXPECT_LE(added.mean_kl, max_kl.at(name).at(quant)) << quant;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PrecisionAccuracy, ::testing::Values("qwen3-tiny", "qwen3-small", "qwen3-hd128"),
                         [](const auto& info) { return test_name(info.param); });

}  // namespace
}  // namespace qwen3c
