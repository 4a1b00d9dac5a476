// The qwen3c binary end to end: help, usage errors, compile --emit ir, inspect.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "runtime/artifact/artifact.h"

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

const char* const kCommands[] = {"compile", "inspect", "eval", "run", "chat", "tokenize", "detokenize", "bench", "devices"};

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

// Every backend folder registers itself; `compile --help` lists them for --target.
TEST(Cli, CompileHelpListsEveryBackend) {
  ProcessResult r = qwen3c("compile --help");
  for (const char* backend : {"cpu: ", "vulkan: ", "portable: "}) {
    EXPECT_NE(r.output.find(backend), std::string::npos) << backend << " missing from:\n" << r.output;
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
  ProcessResult r = qwen3c("compile " + test_data("configs/Qwen3-4B.json") + " --emit ir -O0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count(r.output, "q3.attention "), 36u);
  EXPECT_EQ(count(r.output, "q3.weight @"), 36u * 11 + 2);
  EXPECT_NE(r.output.find("4022468096 parameters"), std::string::npos);
  // -O2 (the default): every layer fused.
  ProcessResult o2 = qwen3c("compile " + test_data("configs/Qwen3-4B.json") + " --emit ir");
  ASSERT_EQ(o2.exit_code, 0) << o2.output;
  EXPECT_EQ(count(o2.output, "q3.attention "), 0u);
  EXPECT_EQ(count(o2.output, "q3.qk_norm_rope_append "), 36u);
  EXPECT_EQ(count(o2.output, "q3.cached_attention "), 36u);
  EXPECT_EQ(count(o2.output, "q3.swiglu "), 36u);
  EXPECT_EQ(count(o2.output, "q3.add_rms_norm "), 2u * 36);
  EXPECT_EQ(count(o2.output, "q3.rms_norm_linear "), 3u);  // layer 0's q/k/v: its norm follows the embedding
  EXPECT_EQ(count(o2.output, "q3.weight @"), 36u * 10 + 2);
  EXPECT_NE(o2.output.find("q3.arena_floats_per_token = "), std::string::npos);
  // The fast precision (the CPU's default) scores a q8_0 cache by int8 dot products; f32 does not.
  EXPECT_EQ(count(o2.output, "integer_products"), 36u);
  EXPECT_EQ(count(r.output, "integer_products"), 36u);
  ProcessResult f32 = qwen3c("compile " + test_data("configs/Qwen3-4B.json") + " --emit ir --precision f32");
  ASSERT_EQ(f32.exit_code, 0) << f32.output;
  EXPECT_EQ(count(f32.output, "integer_products"), 0u);
}

TEST(Cli, CompiledIrOfFixtureParsesBackUnchanged) {
  TempDir dir;
  const std::string ir = dir.file("tiny.mlir");
  ProcessResult r = qwen3c("compile " + test_data("models/qwen3-tiny") + " --emit ir -o " + ir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("written to " + ir), std::string::npos);
  const std::string original = read_text(ir);
  EXPECT_NE(original.find("tensor<151936x32xbf16>"), std::string::npos);
  ProcessResult round = run_process(opt_bin() + " " + quoted(ir));
  ASSERT_EQ(round.exit_code, 0) << round.output;
  EXPECT_EQ(round.output, original);
}

TEST(Cli, PrintIrAfterAllShowsEveryPass) {
  ProcessResult r = qwen3c("compile " + test_data("configs/Qwen3-4B.json") +
                           " --emit ir --quant q4_0 --print-ir-after-all -o /dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* pass : {"q3-fuse-swiglu", "q3-fuse-qk-norm-rope", "q3-fuse-add-rms-norm", "q3-fold-rms-norm",
                           "q3-quantize-weights", "q3-pack-weights", "q3-plan-memory"}) {
    EXPECT_NE(r.output.find(std::string("IR Dump After ") ), std::string::npos);
    EXPECT_NE(r.output.find("(" + std::string(pass) + ")"), std::string::npos) << pass;
  }
  ProcessResult one = qwen3c("compile " + test_data("configs/Qwen3-0.6B.json") +
                             " --emit ir --print-ir-after=q3-fuse-swiglu -o /dev/null");
  EXPECT_EQ(count(one.output, "IR Dump After"), 1u) << one.output.substr(0, 2000);
  ProcessResult custom = qwen3c("compile " + test_data("configs/Qwen3-0.6B.json") +
                                " --emit ir --passes=q3-fuse-swiglu");
  ASSERT_EQ(custom.exit_code, 0) << custom.output.substr(0, 2000);
  EXPECT_EQ(count(custom.output, "q3.swiglu "), 28u);
  EXPECT_EQ(count(custom.output, "q3.attention "), 28u);  // only the named pass ran
  ProcessResult bad = qwen3c("compile " + test_data("configs/Qwen3-0.6B.json") + " --emit ir --passes=q3-nonsense");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("q3-nonsense"), std::string::npos) << bad.output;
}

TEST(Cli, InspectReportsTheMemoryPlan) {
  TempDir dir;
  ASSERT_EQ(qwen3c("compile " + test_data("configs/Qwen3-4B.json") + " --random-weights -o " + dir.file("a.q3c")).exit_code, 0);
  ProcessResult r = qwen3c("inspect " + dir.file("a.q3c"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("arena_floats_per_token: 21504"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("activation arena: 352321536 bytes"), std::string::npos) << r.output;  // 21504 x 4096 x 4
  // 36 layers x keys and values x 1024 elements a position, in each KV type.
  EXPECT_NE(r.output.find("KV cache at context 4096 (one sequence):"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("f32:     1207959552 bytes"), std::string::npos) << r.output;  // 4 bytes an element
  EXPECT_NE(r.output.find("f16:     603979776 bytes"), std::string::npos) << r.output;   // 2
  EXPECT_NE(r.output.find("bf16:    603979776 bytes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("q8_0:    320864256 bytes"), std::string::npos) << r.output;   // 34 bytes a 32
  // The reference model's YaRN context: 131,072 positions in q8_0 fit this machine's 24 GiB.
  ProcessResult long_context = qwen3c("inspect " + dir.file("a.q3c") + " --context 131072");
  EXPECT_NE(long_context.output.find("q8_0:    10267656192 bytes (9.56 GiB)"), std::string::npos) << long_context.output;
}

// --kv-type on the commands that run a model: a bad name is a usage error, and what the
// backend cannot keep is refused naming the type.
TEST(Cli, KvTypeIsChosenWhenRunning) {
  TempDir dir;
  ASSERT_EQ(qwen3c("compile " + test_data("models/qwen3-small") + " -o " + dir.file("s.q3c")).exit_code, 0);
  for (const std::string type : {"f32", "f16", "bf16", "q8_0"}) {
    ProcessResult r = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c bench " + dir.file("s.q3c") +
                                  " -p 8 -n 2 -r 1 -t 1 --json --kv-type " + type, /*merge_stderr=*/false);
    ASSERT_EQ(r.exit_code, 0) << type << ": " << r.output;
    EXPECT_EQ(nlohmann::json::parse(r.output.substr(0, r.output.find('\n')))["kv_type"], type);
  }
  EXPECT_EQ(qwen3c("bench " + dir.file("s.q3c") + " --kv-type q4_0").exit_code, 2);
  EXPECT_EQ(qwen3c("run " + dir.file("s.q3c") + " -p hi -n 2 --kv-type f8").exit_code, 2);
  ProcessResult eval = qwen3c("eval " + dir.file("s.q3c") + " --ids 1,2,3 --steps 2 --kv-type q8_0 --out " +
                              dir.file("e.safetensors"));
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
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
    ProcessResult c = qwen3c("compile " + test_data("models/" + name) + " --precision f32 -o " + artifact);
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
  // The seed is stored, not the weights: the artifact is its compiled code (about 200 KB)
  // and tables, well under the 1.9 MB its 952K weights take in bf16.
  ProcessResult check = run_process("stat -c %s " + a);
  EXPECT_LT(std::stoll(check.output), 500000) << "random-weight artifact stores its weights";
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

// Code generation succeeds for every kernel tier's CPUs, whatever this machine runs: an
// AVX2 CPU, an AVX-512 one with BF16 and VNNI, an AMX one.
TEST(CliCompile, EveryKernelTierCompilesOnAnyMachine) {
  TempDir dir;
  for (const auto& [cpu, tier] : std::vector<std::pair<std::string, std::string>>{
           {"x86-64", "generic"}, {"x86-64-v3", "avx2"}, {"znver4", "avx512"}, {"sapphirerapids", "amx"}}) {
    const std::string artifact = dir.file(cpu + ".q3c");
    ProcessResult r = qwen3c("compile " + test_data("models/qwen3-small") + " --cpu " + cpu + " -o " + artifact);
    ASSERT_EQ(r.exit_code, 0) << cpu << ": " << r.output;
    ProcessResult info = qwen3c("inspect " + artifact);
    EXPECT_NE(info.output.find("kernel_tier: " + tier), std::string::npos) << cpu << ":\n" << info.output;
  }
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
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ADD_FAILURE() << "a failed compile left " << entry.path();
  }
}

// `-o` never replaces what is not a regular file of its own, and never writes through a
// symlink planted where it puts its temporary.
TEST(CliCompile, OutputRefusesWhatItMustNotReplace) {
  namespace fs = std::filesystem;
  TempDir dir;
  const std::string model = test_data("configs/Qwen3-0.6B.json") + " --random-weights";
  const std::string precious = dir.file("precious");
  write_text(precious, "keep me");

  const std::string link = dir.file("link.q3c");
  fs::create_symlink(precious, link);
  ProcessResult r = qwen3c("compile " + model + " -o " + link);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(link + ": is a symbolic link"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_symlink(link));

  const std::string fifo = dir.file("fifo.q3c");
  ASSERT_EQ(run_process("mkfifo " + fifo).exit_code, 0);
  r = qwen3c("compile " + model + " -o " + fifo);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(fifo + ": is a FIFO"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_fifo(fifo));

  const std::string hard = dir.file("hard.q3c");
  fs::create_hard_link(precious, hard);
  r = qwen3c("compile " + model + " -o " + hard);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(hard + ": has 2 hard links"), std::string::npos) << r.output;

  r = qwen3c("compile " + model + " -o " + dir.path().string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("is a directory"), std::string::npos) << r.output;

  // A symlink where the old writer put its temporary: followed no more.
  const std::string out = dir.file("out.q3c");
  fs::create_symlink(precious, out + ".partial");
  r = qwen3c("compile " + model + " -o " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(out)));
  // Replacing a regular file of its own is what -o is for; the permissions are a new file's.
  r = qwen3c("compile " + model + " -o " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(fs::status(out).permissions() & fs::perms::others_read, fs::perms::none);

  EXPECT_EQ(read_text(precious), "keep me");
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().string().find(".partial."), std::string::npos) << "left behind: " << entry.path();
  }
}

}  // namespace
}  // namespace qwen3c

namespace qwen3c {
namespace {

using namespace qwen3c::testing;

// The tiny fixture compiled once for kTarget, with its tokenizer embedded.
template <const char* kTarget>
class CompiledTiny : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ProcessResult r =
        qwen3c("compile " + test_data("models/qwen3-tiny") + " --target " + kTarget + " --precision f32 -o " + artifact());
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string artifact() { return dir_->file(std::string("tiny-") + kTarget + ".q3c"); }
  static inline TempDir* dir_ = nullptr;
};
constexpr char kCpu[] = "cpu";
constexpr char kVulkan[] = "vulkan";
using CliText = CompiledTiny<kCpu>;
// The Vulkan backend through the command line, on whatever device the machine has (Mesa's
// lavapipe in CI): a test finding no device fails.
using CliVulkan = CompiledTiny<kVulkan>;

TEST_F(CliText, TokenizeAndDetokenizeFromEverySource) {
  for (const std::string source : {artifact(), test_data("models/qwen3-tiny"),
                                   test_data("models/qwen3-tiny/tokenizer.json")}) {
    ProcessResult r = qwen3c("tokenize " + source + " --text 'Hello, world!'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, "[9707, 11, 1879, 0]\n");
    ProcessResult d = qwen3c("detokenize " + source + " --ids 9707,11,1879,0");
    EXPECT_EQ(d.exit_code, 0) << d.output;
    EXPECT_EQ(d.output, "Hello, world!");
  }
  TempDir dir;
  write_text(dir.file("in.txt"), "你好，世界！");
  EXPECT_EQ(qwen3c("tokenize " + artifact() + " --file " + dir.file("in.txt")).output,
            "[108386, 3837, 99489, 6313]\n");
  write_text(dir.file("bad.txt"), "abc\xff");
  ProcessResult bad = qwen3c("tokenize " + artifact() + " --file " + dir.file("bad.txt"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("not valid UTF-8"), std::string::npos) << bad.output;
  ProcessResult unknown = qwen3c("detokenize " + artifact() + " --ids 1,999999");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("token id 999999 is not in the vocabulary"), std::string::npos) << unknown.output;
  EXPECT_EQ(qwen3c("tokenize " + artifact()).exit_code, 2);  // neither --text nor --file
  ProcessResult none = qwen3c("tokenize " + test_data("models/qwen3-small") + " --text hi");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.output.find("no tokenizer.json"), std::string::npos) << none.output;
}

// Greedy generation through `run` reproduces Hugging Face's greedy continuation of the
// fixture's prompt, as text.
void expect_greedy_run_matches_hugging_face(const std::string& artifact) {
  Goldens g(test_data("models/qwen3-tiny/goldens.safetensors"));
  const std::vector<std::int64_t> tokens = g.ints("seq0.greedy.tokens");
  std::string ids;
  for (std::int64_t id : tokens) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  ProcessResult expected = qwen3c("detokenize " + artifact + " --ids " + ids);
  ASSERT_EQ(expected.exit_code, 0);
  ProcessResult r = run_process(qwen3c_bin() + " run " + artifact + " -p 'The capital of France is' --greedy -n " +
                                    std::to_string(tokens.size()) + " 2>/dev/null",
                                /*merge_stderr=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, expected.output + "\n");
}

TEST_F(CliText, GreedyRunMatchesHuggingFaceGreedyText) { expect_greedy_run_matches_hugging_face(artifact()); }

TEST_F(CliText, SampledRunIsReproducibleBySeed) {
  auto run = [&](const std::string& flags) {
    return run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c run " + artifact() +
                       " -p 'Once upon a time' -n 16 " + flags + " 2>/dev/null", false).output;
  };
  EXPECT_EQ(run("--seed 5 --temperature 1.0"), run("--seed 5 --temperature 1.0"));
  EXPECT_NE(run("--seed 5 --temperature 1.0"), run("--seed 6 --temperature 1.0"));
  ProcessResult stats = qwen3c("run " + artifact() + " -p hi -n 4 --chat --no-think");
  EXPECT_EQ(stats.exit_code, 0) << stats.output;
  EXPECT_NE(stats.output.find("tokens/s prefill"), std::string::npos) << stats.output;
  EXPECT_NE(stats.output.find("tokens/s decode"), std::string::npos) << stats.output;
}

TEST_F(CliText, StopStringEndsGenerationBeforeIt) {
  // Greedy text is known; stop at a piece of it and check nothing from there on appears.
  const std::string base = std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c run " + artifact() +
                           " -p 'The capital of France is' --greedy -n 24";
  const std::string full = run_process(base + " 2>/dev/null", false).output;
  ASSERT_GT(full.size(), 20u);
  const std::string stop = full.substr(10, 4);
  ProcessResult r = run_process(base + " --stop " + quoted(stop));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output.find(full.substr(0, full.find(stop)) + "\n"), 0u) << r.output;
  EXPECT_NE(r.output.find("stopped: stop string"), std::string::npos) << r.output;
}

TEST_F(CliText, PromptLongerThanContextIsAClearError) {
  ProcessResult r = qwen3c("run " + artifact() + " -p 'one two three four five six seven' -c 4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("positions are free"), std::string::npos) << r.output;
  ProcessResult full = qwen3c("run " + artifact() + " -p 'one two' -c 6 -n 100");
  EXPECT_EQ(full.exit_code, 0) << full.output;
  EXPECT_NE(full.output.find("context of 6 tokens is full"), std::string::npos) << full.output;
}

TEST_F(CliText, BenchReportsEveryTest) {
  ProcessResult json = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c bench " + artifact() +
                                   " -p 16 -n 4 -r 2 -t 1 --json", /*merge_stderr=*/false);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  std::istringstream lines(json.output);
  std::vector<nlohmann::json> results;
  for (std::string line; std::getline(lines, line);) results.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(results.size(), 2u) << json.output;
  EXPECT_EQ(results[0]["test"], "pp16");
  EXPECT_EQ(results[1]["test"], "tg4");
  for (const auto& r : results) {
    EXPECT_GT(r["tokens_per_s"].get<double>(), 0.0);
    EXPECT_GE(r["stddev"].get<double>(), 0.0);
    EXPECT_GT(r["median"].get<double>(), 0.0);
    EXPECT_EQ(r["threads"], 1);
    EXPECT_EQ(r["quant"], "bf16");
  }
  ProcessResult table = qwen3c("bench " + artifact() + " -p 8 -n 2 -r 1");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("| pp8 |"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("| tg2 |"), std::string::npos) << table.output;
  EXPECT_EQ(qwen3c("bench " + artifact() + " -r 0").exit_code, 2);
}

// --profile sums each kernel's (or shader's) time; --profile-calls adds every call of a step in
// order, with the weights it reads whole and their bytes (from the artifact's tensor table),
// and scripts/profile-by-matrix.py sums those by kind of matrix.
// `one_qkv_call`: the CPU schedule runs a layer's packed q, k and v products as one call.
void expect_profile_of_every_call(const std::string& artifact, const std::string& scratch_dir, bool one_qkv_call) {
  std::map<std::string, std::uint64_t> tensor_bytes;
  const Artifact opened = Artifact::open(artifact);
  for (const ArtifactTensor& t : opened.tensors()) tensor_bytes[t.name] = t.byte_size();

  ProcessResult r = qwen3c("bench " + artifact + " -p 4 -n 2 -r 1 -t 2 --profile-calls");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::regex kernel_line(R"(^  (\S+) +(\d+) calls +[0-9.]+ ms +[0-9.]+%$)");
  const std::regex call_line(R"(^ +(\d+)  (\S+) +(.+?) +([0-9.]+) +([0-9.]+|-) +([0-9.]+|-)$)");
  struct Table {
    std::int64_t calls_summed = 0;  // the kernel summary's calls a step
    std::vector<std::string> kernels, weights, megabytes;
  };
  std::vector<Table> tables;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (line.rfind("profile of ", 0) == 0) tables.emplace_back();
    if (tables.empty()) continue;
    if (std::regex_match(line, m, call_line)) {
      EXPECT_EQ(std::stoull(m[1]), tables.back().kernels.size()) << line;  // in order, from 0
      tables.back().kernels.push_back(m[2]);
      tables.back().weights.push_back(m[3]);
      tables.back().megabytes.push_back(m[5]);
    } else if (std::regex_match(line, m, kernel_line)) {
      tables.back().calls_summed += std::stoll(m[2]);
    }
  }
  ASSERT_EQ(tables.size(), 2u) << r.output;  // pp4, then tg2
  for (const Table& t : tables) {
    ASSERT_GT(t.kernels.size(), 0u) << r.output;
    EXPECT_EQ(static_cast<std::int64_t>(t.kernels.size()), t.calls_summed) << r.output;
    bool saw_q_proj = false;
    for (std::size_t i = 0; i < t.kernels.size(); ++i) {
      if (t.kernels[i].find("embedding") != std::string::npos) {
        EXPECT_EQ(t.weights[i], "-");  // a lookup reads its tokens' rows, not the table
        continue;
      }
      if (t.weights[i] == "-") continue;
      // Each named tensor exists; the bytes are theirs together.
      std::uint64_t bytes = 0;
      std::istringstream names(t.weights[i]);
      for (std::string name; names >> name;) {
        const auto found = tensor_bytes.find("model." + name + ".weight");
        const auto bare = tensor_bytes.find(name);
        ASSERT_TRUE(found != tensor_bytes.end() || bare != tensor_bytes.end()) << name;
        bytes += (found != tensor_bytes.end() ? found : bare)->second;
        saw_q_proj |= name == "layers.0.self_attn.q_proj";
      }
      EXPECT_NEAR(std::stod(t.megabytes[i]), static_cast<double>(bytes) / 1e6, 6e-4) << t.weights[i];
    }
    EXPECT_TRUE(saw_q_proj) << r.output;
  }

  // scripts/profile-by-matrix.py reads this output: a rate and a share for every kind of
  // matrix in both tables, the output projection the reference of each.
  const std::string calls = scratch_dir + "/calls.txt";
  write_text(calls, r.output);
  ProcessResult sums = run_process("python3 " + test_data("../../scripts/profile-by-matrix.py") + " " + calls);
  ASSERT_EQ(sums.exit_code, 0) << sums.output;
  std::vector<std::string> kinds = {"o_proj", "gate_up_proj", "down_proj", "q, k and v"};
  if (one_qkv_call) kinds.push_back("qkv_proj");
  else kinds.insert(kinds.end(), {"q_proj", "k_proj", "v_proj"});
  for (const std::string& kind : kinds) {
    EXPECT_EQ(count(sums.output, "  " + kind + " "), 2u) << sums.output;
  }
  EXPECT_EQ(count(sums.output, "  qkv_proj "), one_qkv_call ? 2u : 0u) << sums.output;
  EXPECT_EQ(count(sums.output, "  output         "), 2u) << sums.output;
  EXPECT_EQ(count(sums.output, "    1.00 "), 2u) << sums.output;  // the output over itself
}

TEST_F(CliText, BenchProfilesEveryCallWithItsWeights) {
  expect_profile_of_every_call(artifact(), dir_->path().string(), /*one_qkv_call=*/true);
}

// -b decodes several sequences in batched steps; -d starts every test after that many
// tokens already in each sequence's cache.
TEST_F(CliText, BenchBatchedAndAtDepth) {
  ProcessResult json = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c bench " + artifact() +
                                   " -p 4 -n 3 -b 3 -d 20 -r 1 -t 1 --json", /*merge_stderr=*/false);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  std::istringstream lines(json.output);
  std::vector<nlohmann::json> results;
  for (std::string line; std::getline(lines, line);) results.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(results.size(), 2u) << json.output;
  EXPECT_EQ(results[0]["test"], "pp4 @ d20");
  EXPECT_EQ(results[1]["test"], "tg3x3 @ d20");
  for (const auto& r : results) EXPECT_GT(r["tokens_per_s"].get<double>(), 0.0);
  // -c sizes the cache beyond what the tests need (a long context allocated, decoded early).
  ProcessResult wide = qwen3c("bench " + artifact() + " -p 0 -n 2 -r 1 -t 1 -c 30000");
  EXPECT_EQ(wide.exit_code, 0) << wide.output;
  ProcessResult narrow = qwen3c("bench " + artifact() + " -p 8 -n 2 -r 1 -c 4");
  EXPECT_EQ(narrow.exit_code, 1) << narrow.output;
  EXPECT_NE(narrow.output.find("cannot hold the 9 the tests need"), std::string::npos) << narrow.output;
  ProcessResult deep = qwen3c("bench " + artifact() + " -p 4 -n 0 -d 16000000");
  EXPECT_EQ(deep.exit_code, 1) << deep.output;
  EXPECT_NE(deep.output.find("exceed the model's"), std::string::npos) << deep.output;
  EXPECT_EQ(qwen3c("bench " + artifact() + " -b 0").exit_code, 2);
}

// --depth-fill copy reaches a depth by copying 512 computed positions on (the test is named
// so); --bandwidth reports a tg test's bytes a step (weights and the cache it reads) over the
// threads' read bandwidth, measured around the repetitions.
TEST_F(CliText, BenchCopiedDepthAndBandwidth) {
  auto tg = [&](const std::string& flags) {
    ProcessResult r = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c bench " + artifact() +
                                  " -p 0 -n 2 -r 2 -t 1 --bandwidth --json " + flags, /*merge_stderr=*/false);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output);
  };
  const nlohmann::json shallow = tg(""), deep = tg("-b 2 -d 1000 --depth-fill copy --kv-type bf16");
  EXPECT_EQ(shallow["test"], "tg2");
  EXPECT_EQ(deep["test"], "tg2x2 @ d1000 copied");
  for (const auto& r : {shallow, deep}) {
    EXPECT_GT(r["read_bandwidth_gbs"].get<double>(), 0.1) << r;
    EXPECT_GT(r["bandwidth_fraction"].get<double>(), 0.0) << r;
  }
  // Two sequences' caches at depth 1000 are read on top of the weights.
  EXPECT_GT(deep["bytes_per_step"].get<double>(), shallow["bytes_per_step"].get<double>() + 1000.0);
  // Below the copied span the depth is computed, and the name says nothing else.
  ProcessResult small = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c bench " + artifact() +
                                    " -p 0 -n 2 -r 1 -t 1 -d 100 --depth-fill copy --json", false);
  EXPECT_NE(small.output.find("\"tg2 @ d100\""), std::string::npos) << small.output;
  EXPECT_EQ(qwen3c("bench " + artifact() + " --depth-fill guess").exit_code, 2);
}

TEST_F(CliText, ChatWithPipedInput) {
  const std::string chat = std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c chat " + artifact() +
                           " --greedy -n 6 --no-think --system 'Be brief.'";
  const std::string input = "printf 'Hello\\nWhat is 2+2?\\n/reset\\nHello\\n' | ";
  // stdout: one reply per line; the turn after /reset repeats the first (greedy, same history).
  ProcessResult out = run_process(input + chat + " 2>/dev/null", /*merge_stderr=*/false);
  ASSERT_EQ(out.exit_code, 0) << out.output;
  std::vector<std::string> replies;
  std::istringstream lines(out.output);
  for (std::string line; std::getline(lines, line);) replies.push_back(line);
  ASSERT_EQ(replies.size(), 3u) << out.output;
  EXPECT_EQ(replies[0], replies[2]);
  EXPECT_NE(replies[0], replies[1]);
  // stderr: the second turn continues in the KV cache, the reset starts over.
  ProcessResult err = run_process(input + chat + " 2>&1 >/dev/null", false);
  std::vector<int> contexts;
  for (std::size_t at = err.output.find("context "); at != std::string::npos; at = err.output.find("context ", at + 1)) {
    contexts.push_back(std::atoi(err.output.c_str() + at + 8));
  }
  ASSERT_EQ(contexts.size(), 3u) << err.output;
  EXPECT_GT(contexts[1], contexts[0] + 6) << err.output;
  EXPECT_EQ(contexts[2], contexts[0]) << err.output;
  EXPECT_NE(err.output.find("[conversation reset]"), std::string::npos) << err.output;
  // End of input with no lines is fine too.
  EXPECT_EQ(run_process("printf '' | " + chat).exit_code, 0);
}

}  // namespace
}  // namespace qwen3c

namespace qwen3c {
namespace {

using namespace qwen3c::testing;

TEST_F(CliVulkan, DevicesListsAtLeastOne) {
  ProcessResult r = qwen3c("devices");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("vulkan 0: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("subgroup size"), std::string::npos) << r.output;
}

// `run --greedy` takes the device-argmax path (one word read back a token).
TEST_F(CliVulkan, GreedyRunMatchesHuggingFaceGreedyText) { expect_greedy_run_matches_hugging_face(artifact()); }

TEST_F(CliVulkan, BenchWorksOnVulkanArtifacts) {
  ProcessResult json = run_process(qwen3c_bin() + " bench " + artifact() + " -p 16 -n 4 -r 2 --json", false);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  std::istringstream lines(json.output);
  std::vector<nlohmann::json> results;
  for (std::string line; std::getline(lines, line);) results.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(results.size(), 2u) << json.output;
  EXPECT_EQ(results[0]["test"], "pp16");
  EXPECT_EQ(results[1]["test"], "tg4");
  for (const auto& r : results) EXPECT_GT(r["tokens_per_s"].get<double>(), 0.0);
  ProcessResult table = qwen3c("bench " + artifact() + " -p 8 -n 2 -r 1");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("| vulkan |"), std::string::npos) << table.output;
}

// The same profile from the queue's timestamps, dispatch by dispatch.
TEST_F(CliVulkan, BenchProfilesEveryDispatchWithItsWeights) {
  expect_profile_of_every_call(artifact(), dir_->path().string(), /*one_qkv_call=*/false);
}

// A prompt step of a Qwen3-sized vocabulary keeps one row of logits: 512 rows of 151,936
// would need 296 MiB, more than lavapipe lets one binding span (128 MiB), and bench at a
// depth (or pp512) then failed on lavapipe; eval, which wants them all, failed past 220.
TEST_F(CliVulkan, LongPromptStepsOfAQwen3VocabularyFitTheBindings) {
  nlohmann::json config = nlohmann::json::parse(read_text(test_data("configs/Qwen3-0.6B.json")));
  config.update({{"hidden_size", 64}, {"intermediate_size", 128}, {"num_hidden_layers", 1},
                 {"num_attention_heads", 2}, {"num_key_value_heads", 1}, {"head_dim", 32}});
  ASSERT_EQ(config["vocab_size"], 151936);
  TempDir dir;
  write_text(dir.file("config.json"), config.dump());
  const std::string artifact = dir.file("wide.q3c");
  ProcessResult c = qwen3c("compile " + dir.file("config.json") + " --random-weights --target vulkan -o " + artifact);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  ProcessResult r = qwen3c("bench " + artifact + " -p 512 -n 2 -d 512 -r 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("pp512 @ d512"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tg2 @ d512"), std::string::npos) << r.output;
  // eval wants every prompt row's logits: 300 rows (174 MiB) come from steps that fit.
  std::string ids;
  for (int i = 0; i < 300; ++i) ids += (i ? "," : "") + std::to_string(i * 7919 % 151936);
  const std::string out = dir.file("logits.safetensors");
  ProcessResult e = qwen3c("eval " + artifact + " --ids " + ids + " --out " + out);
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_GE(read_bytes(out).size(), std::size_t{300} * 151936 * 4) << e.output;
}

// qwen3c-run (no LLVM, MLIR or shaderc linked: a configure-time check) runs artifacts of
// both backends.
// What bench cannot measure on a device says so: the host's bandwidth is not the device's,
// and the Vulkan cache is not copied.
TEST_F(CliVulkan, BenchRefusesHostOnlyMeasures) {
  ProcessResult bandwidth = qwen3c("bench " + artifact() + " -p 0 -n 2 -r 1 --bandwidth");
  EXPECT_EQ(bandwidth.exit_code, 1) << bandwidth.output;
  EXPECT_NE(bandwidth.output.find("measures the host's memory"), std::string::npos) << bandwidth.output;
  ProcessResult copy = qwen3c("bench " + artifact() + " -p 0 -n 2 -r 1 -d 600 --depth-fill copy");
  EXPECT_EQ(copy.exit_code, 1) << copy.output;
  EXPECT_NE(copy.output.find("cannot copy its KV cache"), std::string::npos) << copy.output;
}

TEST_F(CliVulkan, RuntimeOnlyBinaryRunsEveryBackend) {
  const std::string runtime = std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c-run";
  const std::string cpu = dir_->file("tiny-cpu.q3c");
  ASSERT_EQ(qwen3c("compile " + test_data("models/qwen3-tiny") + " -o " + cpu).exit_code, 0);
  for (const std::string& a : {artifact(), cpu}) {
    ProcessResult r = run_process(runtime + " run " + a + " -p 'The capital of France is' --greedy -n 4");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("tokens/s decode"), std::string::npos) << r.output;
  }
  ProcessResult compile = run_process(runtime + " compile " + test_data("models/qwen3-tiny"));
  EXPECT_EQ(compile.exit_code, 2) << compile.output;  // not a command of the runtime
}

TEST_F(CliVulkan, NoDeviceOrADeviceThatDoesNotExistAreClearErrors) {
  const std::string eval = " eval " + artifact() + " --ids 1,2 --out " + dir_->file("x.safetensors");
  ProcessResult none = run_process("VK_ICD_FILENAMES=" + dir_->file("no-such-driver.json") + " " + qwen3c_bin() + eval);
  EXPECT_EQ(none.exit_code, 1) << none.output;
  EXPECT_NE(none.output.find("no Vulkan"), std::string::npos) << none.output;
  ProcessResult missing = qwen3c(eval + " --device 9");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("Vulkan device 9 does not exist"), std::string::npos) << missing.output;
  EXPECT_EQ(qwen3c(eval + " --device 0").exit_code, 0);
}

}  // namespace
}  // namespace qwen3c
