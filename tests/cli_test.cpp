// The qwen3c binary end to end: help, usage errors, compile --emit ir, inspect.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/golden.h"
#include "tests/run_process.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using namespace qwen3c::testing;

const std::string& qwen3c_bin() {
  static const std::string path = std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c";
  return path;
}
const std::string& opt_bin() {
  static const std::string path = std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c-opt";
  return path;
}

ProcessResult qwen3c(const std::string& args) { return run_process(qwen3c_bin() + " " + args); }

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

const char* const kCommands[] = {"compile", "inspect", "eval"};

TEST(Cli, HelpOnEveryCommand) {
  ProcessResult top = qwen3c("--help");
  EXPECT_EQ(top.exit_code, 0);
  for (const char* command : kCommands) {
    EXPECT_NE(top.output.find(command), std::string::npos) << command;
    ProcessResult r = qwen3c(std::string(command) + " --help");
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_NE(r.output.find("Usage: qwen3c " + std::string(command)), std::string::npos) << r.output;
  }
}

TEST(Cli, UsageErrorsExitWithTwo) {
  const std::string config = test_data("configs/Qwen3-0.6B.json");
  const std::vector<std::string> bad = {
      "",                                          // no command
      "frobnicate",                                // unknown command
      "compile",                                   // missing model
      "compile " + config + " --emit",             // --emit without its value
      "compile " + config + " --emit llvm",        // unknown --emit value
      "compile " + config + " --emit ir --bogus",  // unknown flag
      "inspect",                                   // missing model
      "inspect " + config + " --bogus",            // unknown flag
      "inspect " + config + " extra",              // extra positional
  };
  for (const std::string& args : bad) {
    ProcessResult r = qwen3c(args);
    EXPECT_EQ(r.exit_code, 2) << "qwen3c " << args << "\n" << r.output;
    EXPECT_NE(r.output.find("--help"), std::string::npos) << r.output;
  }
}

TEST(Cli, CompileBareConfigPrintsWholeGraph) {
  ProcessResult r = qwen3c("compile " + test_data("configs/Qwen3-4B.json") + " --emit ir");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count(r.output, "q3.attention "), 36u);
  EXPECT_EQ(count(r.output, "q3.weight @"), 36u * 11 + 2);
  EXPECT_NE(r.output.find("4022468096 parameters"), std::string::npos);
}

TEST(Cli, CompiledIrOfFixtureParsesBackUnchanged) {
  TempDir dir;
  const std::string ir = dir.file("tiny.mlir");
  ProcessResult r = qwen3c("compile " + test_data("models/qwen3-tiny") + " --emit ir -o " + ir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("written to " + ir), std::string::npos);
  std::ifstream in(ir);
  std::stringstream original;
  original << in.rdbuf();
  EXPECT_NE(original.str().find("tensor<151936x32xbf16>"), std::string::npos);
  ProcessResult round = run_process(opt_bin() + " " + quoted(ir));
  ASSERT_EQ(round.exit_code, 0) << round.output;
  EXPECT_EQ(round.output, original.str());
}

TEST(Cli, InspectReportsParametersAndBytes) {
  ProcessResult r = qwen3c("inspect " + test_data("configs/Qwen3-4B.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("parameters:   4022468096 (4.02B)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("BF16: 8044936192 bytes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("head_dim 128"), std::string::npos) << r.output;

  ProcessResult small = qwen3c("inspect " + test_data("models/qwen3-small"));
  ASSERT_EQ(small.exit_code, 0) << small.output;
  EXPECT_NE(small.output.find("tied lm_head: no"), std::string::npos) << small.output;
  EXPECT_NE(small.output.find("F32: "), std::string::npos) << small.output;
  EXPECT_NE(small.output.find("1 safetensors file(s)"), std::string::npos) << small.output;
}

TEST(Cli, MissingPathIsAClearError) {
  ProcessResult r = qwen3c("inspect /nonexistent/model");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/model: no such model folder or config file"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace qwen3c

namespace qwen3c {
namespace {

// `qwen3c eval` end to end: its output file matches the Hugging Face goldens exactly as the
// in-process golden tests do.
TEST(CliEval, MatchesGoldensOfEveryFixture) {
  for (const std::string name : {"qwen3-small", "qwen3-hd128", "qwen3-tiny"}) {
    TempDir dir;
    const std::string artifact = dir.file(name + ".q3c");
    ProcessResult c = qwen3c("compile " + test_data("models/" + name) + " -o " + artifact);
    ASSERT_EQ(c.exit_code, 0) << c.output;
    Goldens g(test_data("models/" + name + "/goldens.safetensors"));
    for (int seq = 0; seq < g.sequences(); ++seq) {
      const std::string s = "seq" + std::to_string(seq) + ".";
      std::string ids;
      for (std::int64_t id : g.ints(s + "input_ids")) ids += (ids.empty() ? "" : ",") + std::to_string(id);
      const std::vector<std::int64_t> tokens = g.ints(s + "greedy.tokens");
      const std::string out = dir.file("eval.safetensors");
      ProcessResult r = qwen3c("eval " + artifact + " --ids " + ids + " --steps " +
                               std::to_string(tokens.size()) + " --out " + out);
      ASSERT_EQ(r.exit_code, 0) << r.output;
      Goldens ours(out);
      EXPECT_EQ(ours.ints("greedy.tokens"), tokens) << name << " " << s;
      const std::vector<float> prefill = ours.floats("prefill.logits");
      const std::vector<float> steps = ours.floats("greedy.step_logits");
      const std::int64_t vocab = ours.shape("prefill.logits")[1];
      EXPECT_EQ(ours.shape("prefill.logits")[0], static_cast<std::int64_t>(g.ints(s + "input_ids").size()));
      EXPECT_EQ(ours.shape("greedy.step_logits"), (std::vector<std::int64_t>{static_cast<std::int64_t>(tokens.size()), vocab}));
      if (g.has(s + "prefill.logits")) {
        EXPECT_LE(relative_error(prefill.data(), g.floats(s + "prefill.logits").data(), prefill.size()), 1e-4);
        EXPECT_LE(relative_error(steps.data(), g.floats(s + "greedy.step_logits").data(), steps.size()), 1e-4);
      } else {
        const std::vector<float> last = g.floats(s + "prefill.last_logits");
        EXPECT_LE(relative_error(prefill.data() + prefill.size() - vocab, last.data(), vocab), 1e-4);
        const std::vector<float> lse = g.floats(s + "greedy.step_logsumexp");
        for (std::size_t i = 0; i < tokens.size(); ++i) {
          EXPECT_NEAR(logsumexp(steps.data() + i * vocab, vocab), lse[i], 1e-4 * std::max(1.0f, std::abs(lse[i])));
        }
      }
    }
  }
}

TEST(CliEval, BadRequestsAreClearErrors) {
  TempDir dir;
  const std::string artifact = dir.file("small.q3c");
  ASSERT_EQ(qwen3c("compile " + test_data("models/qwen3-small") + " -o " + artifact).exit_code, 0);
  const std::string out = " --out " + dir.file("o.safetensors");
  ProcessResult r = qwen3c("eval " + artifact + " --ids 1,2,512 --steps 1" + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("token id 512 is outside the vocabulary (0..511)"), std::string::npos) << r.output;
  r = qwen3c("eval " + artifact + " --ids 1,x,3 --steps 1" + out);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = qwen3c("eval " + dir.file("missing.q3c") + " --ids 1 --steps 1" + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot open"), std::string::npos) << r.output;
}

TEST(CliCompile, RandomWeightArtifactsAreSmallAndDeterministic) {
  TempDir dir;
  const std::string config = test_data("models/qwen3-small/config.json");
  const std::string a = dir.file("a.q3c"), b = dir.file("b.q3c"), c = dir.file("c.q3c");
  ASSERT_EQ(qwen3c("compile " + config + " --random-weights --seed 7 -o " + a).exit_code, 0);
  ASSERT_EQ(qwen3c("compile " + config + " --random-weights --seed 7 --dtype f32 -o " + b).exit_code, 0);
  ASSERT_EQ(qwen3c("compile " + config + " --random-weights --seed 8 -o " + c).exit_code, 0);
  auto eval = [&](const std::string& artifact) {
    const std::string out = artifact + ".safetensors";
    ProcessResult r = qwen3c("eval " + artifact + " --ids 1,2,3 --steps 4 --out " + out);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return Goldens(out).floats("greedy.step_logits");
  };
  const std::vector<float> first = eval(a), again = eval(a), f32 = eval(b), other = eval(c);
  EXPECT_EQ(first, again);
  for (float x : first) ASSERT_TRUE(std::isfinite(x));
  // bf16 and f32 hold the same draws, rounded: close but not equal.
  EXPECT_LT(relative_error(first.data(), f32.data(), first.size()), 0.05);
  EXPECT_GT(relative_error(first.data(), other.data(), first.size()), 0.1);
  // The seed is stored, not the weights.
  ProcessResult check = run_process("stat -c %s " + a);
  EXPECT_LT(std::stoll(check.output), 200000) << "random-weight artifact stores its weights";
}

TEST(CliCompile, PortableCpuTargetRunsHere) {
  TempDir dir;
  const std::string artifact = dir.file("v3.q3c");
  ProcessResult r = qwen3c("compile " + test_data("models/qwen3-small") + " --cpu x86-64-v3 -o " + artifact);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ProcessResult info = qwen3c("inspect " + artifact);
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("x86-64-v3"), std::string::npos) << info.output;
  EXPECT_EQ(info.output.find("avx512f"), std::string::npos) << info.output;
  ProcessResult e = qwen3c("eval " + artifact + " --ids 1,2 --steps 2 --out " + dir.file("o.safetensors"));
  EXPECT_EQ(e.exit_code, 0) << e.output;
}

TEST(CliCompile, BadCompileRequestsAreClearErrors) {
  TempDir dir;
  ProcessResult r = qwen3c("compile " + test_data("configs/Qwen3-4B.json") + " -o " + dir.file("x.q3c"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("use --random-weights"), std::string::npos) << r.output;
  r = qwen3c("compile " + test_data("models/qwen3-small") + " --target tpu -o " + dir.file("x.q3c"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("unknown target 'tpu'"), std::string::npos) << r.output;
  r = qwen3c("compile " + test_data("models/qwen3-small") + " --cpu pentium9000 -o " + dir.file("x.q3c"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("unknown CPU 'pentium9000'"), std::string::npos) << r.output;
  r = qwen3c("compile " + test_data("models/qwen3-small"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("-o FILE is required"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.q3c")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.q3c.partial")));
}

}  // namespace
}  // namespace qwen3c
