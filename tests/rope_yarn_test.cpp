// YaRN against an independent computation: tests/yarn/yarn_reference.py derives the
// frequencies from the YaRN paper's definition in float64 NumPy, and rotates a vector at
// positions past the original context with the f32 arithmetic transformers uses. Checked
// here: qwen3c's frequencies (runtime/core/rope_frequencies.h, which every backend and the
// reference evaluator compute with) and the reference evaluator's q3.rope output. The
// backends are held to the evaluator by the conformance suite's rope_yarn cases.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <fstream>

#include "backends/compiler.h"
#include "ir/reference_evaluator.h"
#include "mlir/Parser/Parser.h"
#include "runtime/core/rope_frequencies.h"
#include "tests/run_process.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using nlohmann::json;
using namespace qwen3c::testing;

json numpy_reference() {
  TempDir dir;
  const std::string out = dir.file("yarn.json");
  const ProcessResult r = run_process("/usr/bin/python3 " + quoted(std::string(QWEN3C_TEST_DATA) +
                                      "/../yarn/yarn_reference.py") + " " + quoted(out));
  if (r.exit_code != 0) {
    ADD_FAILURE() << "the NumPy reference did not run (python3-numpy is in scripts/install-deps.sh): " << r.output;
    return json::array();
  }
  std::ifstream in(out);
  return json::parse(in);
}

YarnConfig yarn_of(const json& c) {
  YarnConfig y;
  y.factor = c["factor"].get<double>();
  y.original_context = c["original"].get<std::int64_t>();
  y.beta_fast = c["beta_fast"].get<double>();
  y.beta_slow = c["beta_slow"].get<double>();
  y.attention_factor = 0.1 * std::log(y.factor) + 1;
  y.truncate = c["truncate"].get<bool>();
  return y;
}

std::string real(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17e", v);
  return buf;
}

TEST(RopeYarn, FrequenciesMatchNumPy) {
  const json cases = numpy_reference();
  ASSERT_EQ(cases.size(), 3u);
  for (const json& c : cases) {
    const std::int64_t head_dim = c["head_dim"].get<std::int64_t>();
    const double theta = c["theta"].get<double>();
    const YarnConfig y = yarn_of(c);
    EXPECT_NEAR(y.attention_factor, c["attention_factor"].get<double>(), 1e-12) << c["name"];
    const RopeScaling s = yarn_scaling(head_dim, theta, y);
    for (std::int64_t i = 0; i < head_dim / 2; ++i) {
      const double expected = c["inv_freq"][i].get<double>();
      const double ours = rope_inv_freq(head_dim, static_cast<float>(theta), s, i);
      EXPECT_NEAR(ours, expected, 2e-6 * expected) << c["name"] << " frequency " << i;
    }
  }
}

// One head of the NumPy input at each position through q3.rope {yarn}.
TEST(RopeYarn, ReferenceEvaluatorMatchesNumPyPastTheOriginalContext) {
  const json cases = numpy_reference();
  ASSERT_EQ(cases.size(), 3u);
  for (const json& c : cases) {
    const std::int64_t d = c["head_dim"].get<std::int64_t>();
    const YarnConfig y = yarn_of(c);
    const std::string act = "tensor<?x" + std::to_string(d) + "xf32>", table = "tensor<1x" + std::to_string(d) + "xf32>";
    const std::string cache = "!q3.kv_cache<layers = 1, kv_heads = 1, head_dim = " + std::to_string(d) +
                              ", element_type = f32>";
    const std::string yarn = "#q3.yarn<factor = " + real(y.factor) + " : f64, original_context = " +
                             std::to_string(y.original_context) + ", beta_fast = " + real(y.beta_fast) +
                             " : f64, beta_slow = " + real(y.beta_slow) + " : f64, attention_factor = " +
                             real(y.attention_factor) + " : f64, truncate = " + (y.truncate ? "true" : "false") + ">";
    const std::string text =
        "module {\n  q3.weight @x : " + table + "\n  func.func @forward(%ids: tensor<?xi64>, %positions: tensor<?xi64>, "
        "%slots: tensor<?xi64>, %cache: " + cache + ") -> " + act + " {\n"
        "    %t = q3.get_weight @x : " + table + "\n"
        "    %x = q3.embedding %t[%ids] : " + table + ", tensor<?xi64> -> " + act + "\n"
        "    %r = q3.rope %x, %positions {head_dim = " + std::to_string(d) + " : i64, theta = " +
        real(c["theta"].get<double>()) + " : f64, yarn = " + yarn + "} : " + act + ", tensor<?xi64>\n"
        "    return %r : " + act + "\n  }\n}\n";
    auto context = make_compiler_context();
    mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(text, context.get());
    ASSERT_TRUE(module) << text;
    std::vector<float> input;
    for (const json& v : c["input"]) input.push_back(v.get<float>());
    q3::ReferenceEvaluator eval(*module, [&](const std::string&) { return input; });
    q3::ReferenceEvaluator::StepRows rows;
    for (const json& p : c["positions"]) {
      rows.ids.push_back(0);
      rows.positions.push_back(p.get<std::int64_t>());
      rows.slots.push_back(0);
    }
    const std::vector<float> ours = eval.forward(rows);
    for (std::size_t r = 0; r < rows.ids.size(); ++r) {
      for (std::int64_t i = 0; i < d; ++i) {
        const double expected = c["rotated"][r][i].get<double>();
        // f32 frequencies may differ in their last bit (FMA contraction, libm): an angle of
        // position x frequency then moves by up to position x 2^-23 x frequency.
        const double pair = std::fabs(input[i % (d / 2)]) + std::fabs(input[i % (d / 2) + d / 2]);
        EXPECT_NEAR(ours[r * d + i], expected, 2e-5 + 3e-7 * rows.positions[r] * pair)
            << c["name"] << " position " << rows.positions[r] << " element " << i;
      }
    }
  }
}

}  // namespace
}  // namespace qwen3c
