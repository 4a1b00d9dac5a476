// Each pass on its own keeps the model's logits (the reference evaluator runs the module
// before and after it), the reference evaluator itself matches Hugging Face, and the CPU
// backend's quantised kernels match the evaluator on the quantised module.

#include <gtest/gtest.h>

#include <cstring>

#include "frontend/checkpoint.h"
#include "frontend/graph_builder.h"
#include "ir/reference_evaluator.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "passes/Passes.h"
#include "passes/registration.h"
#include "runtime/core/half.h"
#include "runtime/execution/session.h"
#include "tests/golden.h"
#include "tests/ir_test_util.h"
#include "tests/run_process.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using namespace qwen3c::testing;

// Checkpoint tensors as f32, for the evaluator.
q3::ReferenceEvaluator::TensorSource f32_source(const Checkpoint& ckpt) {
  return [&ckpt](const std::string& name) {
    const TensorView& t = ckpt.tensor(name);
    std::vector<float> out(static_cast<std::size_t>(element_count(t.shape)));
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::uint16_t h;
      if (t.dtype == DType::F32) {
        std::memcpy(&out[i], t.bytes.data() + 4 * i, 4);
      } else {
        std::memcpy(&h, t.bytes.data() + 2 * i, 2);
        out[i] = t.dtype == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
      }
    }
    return out;
  };
}

class PassNumerics : public ::testing::TestWithParam<std::string>, public IrTest {
 protected:
  void SetUp() override {
    register_passes();
    source_ = open_model_source(test_data("models/" + GetParam()));
    std::map<std::string, DType> dtypes;
    for (const auto& [name, view] : source_.checkpoint->tensors()) dtypes[name] = view.dtype;
    module_ = build_qwen3_module(context(), source_.config, dtypes);
    Goldens g(test_data("models/" + GetParam() + "/goldens.safetensors"));
    prompt_ = g.ints("seq0.input_ids");
    auto steps = g.ints("seq0.greedy.tokens");
    steps_ = {steps[0], steps[1]};
    last_logits_ = g.floats("seq0.prefill.last_logits");
  }

  // Prefill then two single-token steps: every row of logits, concatenated.
  std::vector<float> evaluate(mlir::ModuleOp module) {
    q3::ReferenceEvaluator eval(module, f32_source(*source_.checkpoint));
    std::vector<float> all = eval.forward(prompt_);
    for (std::int64_t t : steps_) {
      auto step = eval.forward({t});
      all.insert(all.end(), step.begin(), step.end());
    }
    return all;
  }

  mlir::OwningOpRef<mlir::ModuleOp> run(const std::string& pipeline) {
    mlir::OwningOpRef<mlir::ModuleOp> copy = module_->clone();
    mlir::PassManager pm(&context());
    pm.enableVerifier(true);
    std::string errors;
    llvm::raw_string_ostream es(errors);
    EXPECT_TRUE(mlir::succeeded(mlir::parsePassPipeline(pipeline, pm, es))) << errors;
    EXPECT_TRUE(mlir::succeeded(pm.run(*copy))) << pipeline;
    EXPECT_TRUE(mlir::succeeded(mlir::verify(*copy)));
    return copy;
  }

  ModelSource source_;
  mlir::OwningOpRef<mlir::ModuleOp> module_;
  std::vector<std::int64_t> prompt_, steps_;
  std::vector<float> last_logits_;
};

TEST_P(PassNumerics, EvaluatorMatchesHuggingFace) {
  std::vector<float> logits = evaluate(*module_);
  const std::int64_t vocab = source_.config.vocab_size;
  const float* last = logits.data() + (prompt_.size() - 1) * vocab;
  EXPECT_LE(relative_error(last, last_logits_.data(), vocab), 1e-4);
}

TEST_P(PassNumerics, EveryPassKeepsTheLogits) {
  const std::vector<float> before = evaluate(*module_);
  for (const std::string pass : {"q3-fuse-swiglu", "q3-fuse-qk-norm-rope", "q3-fuse-add-rms-norm", "q3-fold-rms-norm",
                                 "q3-pack-weights{target=cpu}", "q3-plan-memory", "cse", "q3-O2"}) {
    auto after = run(pass);
    const std::vector<float> logits = evaluate(*after);
    ASSERT_EQ(logits.size(), before.size()) << pass;
    EXPECT_LE(relative_error(logits.data(), before.data(), before.size()), 1e-5) << pass;
  }
}

// One step may hold rows of several sequences, in any order: each row's logits equal those
// of its sequence run alone, before and after fusion (where the attention op splits in two).
TEST_P(PassNumerics, EvaluatorRowsOfSeveralSequencesMatchEachAlone) {
  const std::int64_t vocab = source_.config.vocab_size;
  std::vector<std::int64_t> other(prompt_.rbegin(), prompt_.rend());
  for (std::int64_t id : {5, 9, 2, 7, 11}) other.push_back(id % vocab);
  for (const std::string pipeline : {"cse", "q3-O2"}) {
    auto module = run(pipeline);
    q3::ReferenceEvaluator alone_a(*module, f32_source(*source_.checkpoint));
    q3::ReferenceEvaluator alone_b(*module, f32_source(*source_.checkpoint));
    std::vector<float> a = alone_a.forward(prompt_), b = alone_b.forward(other);
    auto a_step = alone_a.forward({steps_[0]});
    a.insert(a.end(), a_step.begin(), a_step.end());

    // Step 1: B's first three tokens, then all of A's prompt. Step 2: A's next token
    // among B's remaining ones.
    q3::ReferenceEvaluator together(*module, f32_source(*source_.checkpoint));
    q3::ReferenceEvaluator::StepRows first, second;
    for (std::int64_t i = 0; i < 3; ++i) {
      first.ids.push_back(other[i]);
      first.positions.push_back(i);
      first.slots.push_back(1);
    }
    for (std::size_t i = 0; i < prompt_.size(); ++i) {
      first.ids.push_back(prompt_[i]);
      first.positions.push_back(static_cast<std::int64_t>(i));
      first.slots.push_back(0);
    }
    const auto b_rest = static_cast<std::int64_t>(other.size()) - 3;
    const std::int64_t a_row = std::min<std::int64_t>(1, b_rest);  // A's row among B's
    for (std::int64_t i = 0; i < b_rest; ++i) {
      second.ids.push_back(other[3 + i]);
      second.positions.push_back(3 + i);
      second.slots.push_back(1);
    }
    second.ids.insert(second.ids.begin() + a_row, steps_[0]);
    second.positions.insert(second.positions.begin() + a_row, static_cast<std::int64_t>(prompt_.size()));
    second.slots.insert(second.slots.begin() + a_row, 0);
    const std::vector<float> x = together.forward(first), y = together.forward(second);
    ASSERT_EQ(x.size(), first.ids.size() * vocab) << pipeline;
    ASSERT_EQ(a.size(), (prompt_.size() + 1) * vocab) << pipeline;
    ASSERT_EQ(b.size(), other.size() * vocab) << pipeline;
    ASSERT_EQ(y.size(), second.ids.size() * vocab) << pipeline;
    auto row = [&](const std::vector<float>& v, std::size_t r) { return v.data() + r * vocab; };
    double worst = 0;
    for (std::size_t i = 0; i < 3; ++i) worst = std::max(worst, relative_error(row(x, i), row(b, i), vocab));
    for (std::size_t i = 0; i < prompt_.size(); ++i) {
      worst = std::max(worst, relative_error(row(x, 3 + i), row(a, i), vocab));
    }
    worst = std::max(worst, relative_error(row(y, a_row), row(a, prompt_.size()), vocab));
    for (std::int64_t i = 0; i < b_rest; ++i) {
      worst = std::max(worst, relative_error(row(y, i < a_row ? i : i + 1), row(b, 3 + i), vocab));
    }
    EXPECT_LE(worst, 1e-6) << pipeline;
  }
}

TEST_P(PassNumerics, QuantisedKernelsMatchTheEvaluator) {
  for (const std::string quant : {"q8_0", "q4_0"}) {
    auto quantised = run("q3-O2,q3-quantize-weights{quant=" + quant + "}");
    const std::vector<float> reference = evaluate(*quantised);
    TempDir dir;
    const std::string artifact = dir.file("q.q3c");
    ProcessResult r = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c compile " +
                                  test_data("models/" + GetParam()) + " --quant " + quant + " --precision f32 -o " + artifact);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto model = Model::load(artifact);
    Session session(model, static_cast<std::int64_t>(prompt_.size() + steps_.size()));
    std::vector<float> ours = session.forward(prompt_, /*all_logits=*/true);
    for (std::int64_t t : steps_) {
      auto step = session.forward(std::span<const std::int64_t>(&t, 1));
      ours.insert(ours.end(), step.begin(), step.end());
    }
    ASSERT_EQ(ours.size(), reference.size());
    EXPECT_LE(relative_error(ours.data(), reference.data(), ours.size()), 1e-4) << quant;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PassNumerics, ::testing::Values("qwen3-small", "qwen3-tiny", "qwen3-hd128"),
                         [](const auto& info) { return test_name(info.param); });

}  // namespace
}  // namespace qwen3c
