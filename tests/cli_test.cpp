// The qwen3c binary end to end: help, usage errors, compile --emit ir, inspect.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

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

const char* const kCommands[] = {"compile", "inspect"};

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
      "compile " + config,                         // missing --emit
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
