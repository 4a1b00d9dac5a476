// Regressions of what a hostile user found by hand (issue #15): each test replays one
// defect's reproducer and asserts the answer a user relies on: a clear error and exit
// status, no hang, no crash, and no silent wrong result.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/core/strict_json.h"
#include "runtime/artifact/artifact_format.h"
#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/core/quantization.h"
#include "runtime/text/tokenizer.h"
#include "tests/artifact_edit.h"
#include "tests/run_process.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using namespace qwen3c::testing;
namespace fs = std::filesystem;

ProcessResult qwen3c(const std::string& args) {
  return run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c " + args);
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// The tiny fixture (the real Qwen3 tokenizer: 151,669 tokens for 151,936 embedding rows),
// compiled once with its tokenizer.
class Hardening : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ProcessResult r = qwen3c("compile " + test_data("models/qwen3-tiny") + " --precision f32 -o " + artifact());
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string artifact() { return dir_->file("tiny.q3c"); }
  static inline TempDir* dir_ = nullptr;
};

// Defect 2: this seed used to draw id 151907, a padding row no token decodes to.
TEST_F(Hardening, SamplingNeverPicksAnIdTheTokenizerCannotDecode) {
  ProcessResult r = qwen3c("run " + artifact() + " -p Hello -n 50 --seed 5");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "not in the vocabulary")) << r.output;
}

// Defect 3 (and 2's second half): a line that is not UTF-8 is reported and skipped, and
// the conversation goes on exactly as if it had not been typed.
TEST_F(Hardening, ChatSkipsALineThatIsNotUtf8AndKeepsTheConversation) {
  const std::string chat = std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c chat " + artifact() + " --greedy -n 5";
  ProcessResult with_bad = run_process("printf 'hello\\ncaf\\351 x\\nstill there?\\n' | " + chat, false);
  ProcessResult without = run_process("printf 'hello\\nstill there?\\n' | " + chat, false);
  ASSERT_EQ(with_bad.exit_code, 0) << with_bad.output;
  ASSERT_EQ(without.exit_code, 0) << without.output;
  EXPECT_EQ(with_bad.output, without.output) << "the skipped line changed the replies";
  ProcessResult log = run_process("printf 'hello\\ncaf\\351 x\\nstill there?\\n' | " + chat + " 2>&1 >/dev/null", false);
  EXPECT_TRUE(contains(log.output, "not valid UTF-8")) << log.output;
  EXPECT_TRUE(contains(log.output, "this line was skipped")) << log.output;
  // Same context length at the end as without the bad line: the cache was not touched.
  ProcessResult clean_log = run_process("printf 'hello\\nstill there?\\n' | " + chat + " 2>&1 >/dev/null", false);
  auto last_context = [](const std::string& text) { return text.substr(text.rfind("context ")); };
  EXPECT_EQ(last_context(log.output), last_context(clean_log.output));
}

// Defect 4: duplicate-key checking in linear time (100k empty objects took 100 s).
TEST(HardeningJson, ManyKeysParseInLinearTime) {
  std::string text = "{";
  for (int i = 0; i < 100000; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":{}";
  text += "}";
  nlohmann::json parsed = parse_strict_json(text, "many.json");
  EXPECT_EQ(parsed.size(), 100000u);
  text.insert(text.size() - 1, ",\"k5\":1");
  try {
    parse_strict_json(text, "many.json");
    ADD_FAILURE() << "duplicate key accepted";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "duplicate key 'k5'")) << e.what();
  }
  // Arrays of objects, and duplicates found at any depth.
  EXPECT_EQ(parse_strict_json(R"([{"a":1},{"a":2}])", "x").size(), 2u);
  EXPECT_THROW(parse_strict_json(R"({"x":[{"a":1,"a":2}]})", "x"), Error);
  EXPECT_THROW(parse_strict_json(std::string(100, '[') + std::string(100, ']'), "x"), Error);
  EXPECT_THROW(parse_strict_json(R"({"a":1,})", "x"), Error);
}

// Defect 5: eval checks ids and steps against the context and its output size up front.
TEST_F(Hardening, EvalRefusesWorkItCannotFinishBeforeStarting) {
  const std::string out = " --out " + dir_->file("e.safetensors");
  ProcessResult r = qwen3c("eval " + artifact() + " --ids 1 --steps 1048576" + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "positions; the model has")) << r.output;
  std::string ids = "1";
  for (int i = 0; i < 8000; ++i) ids += ",2";
  r = qwen3c("eval " + artifact() + " --ids " + ids + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "more than the limit of 4.00 GiB")) << r.output;
  r = qwen3c("eval " + artifact() + " --ids 1 --out -");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(fs::exists("-"));
}

// Defect 6: 32-bit CPU names are refused (LLVM used to abort); native is this machine.
TEST_F(Hardening, CompileRefusesCpusThatCannotRunX86_64Code) {
  const std::string model = test_data("models/qwen3-small");
  for (const std::string cpu : {"i386", "i686", "pentium4"}) {
    ProcessResult r = qwen3c("compile " + model + " --cpu " + cpu + " -o " + dir_->file("x.q3c"));
    EXPECT_EQ(r.exit_code, 1) << cpu << ": " << r.output;
    EXPECT_TRUE(contains(r.output, "is a 32-bit CPU")) << r.output;
  }
  ProcessResult r = qwen3c("compile " + model + " --cpu native -o " + dir_->file("native.q3c"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = qwen3c("compile " + model + " --target vulkan --cpu znver4 -o " + dir_->file("x.q3c"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "--cpu applies to the cpu target only")) << r.output;
}

// Weights round as llama.cpp's quantisers round them (lroundf: halves away from zero), so
// that q8_0 and q4_0 bytes agree with GGUF files: exact halves, the floats next to them, and
// random blocks of every scale against std::lround.
TEST(Quantisation, RoundsHalvesAwayFromZeroAsLroundDoes) {
  std::vector<float> row(32, 0.0f);
  const float halves[] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, std::nextafter(0.5f, 0.0f), std::nextafter(-0.5f, 0.0f),
                          126.5f, -126.5f, std::nextafter(3.5f, 0.0f), 1.5f, -1.5f, 0.0f, -0.0f};
  const int expected[] = {127, 3, -3, 1, -1, 0, 0, 127, -127, 3, 2, -2, 0, 0};
  std::copy(std::begin(halves), std::end(halves), row.begin());  // amax 127: the scale is exactly 1
  std::vector<std::uint8_t> out(34);
  quantize_row(DType::Q8_0, row.data(), row.size(), out.data());
  for (std::size_t i = 0; i < std::size(expected); ++i) {
    EXPECT_EQ(static_cast<std::int8_t>(out[2 + i]), expected[i]) << "value " << halves[i];
  }

  // q4_0's scale is the first largest-magnitude value over -8, with its sign: -2 before 2
  // gives 0.25, 2 before -2 gives -0.25 (as llama.cpp's quantize_row_q4_0 chooses).
  for (const float first : {-2.0f, 2.0f}) {
    std::fill(row.begin(), row.end(), 0.25f);
    row[3] = first, row[9] = -first;
    quantize_row(DType::Q4_0, row.data(), row.size(), out.data());
    std::uint16_t h;
    std::memcpy(&h, out.data(), 2);
    EXPECT_EQ(f16_to_f32(h), first / -8.0f);
  }

  std::mt19937 rng(3);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (int trial = 0; trial < 2000; ++trial) {
    const float scale = std::ldexp(1.0f, trial % 60 - 40);  // tiny (subnormal f16 scales) to large
    for (float& v : row) v = scale * unit(rng);
    for (DType format : {DType::Q8_0, DType::Q4_0}) {
      const bool q8 = format == DType::Q8_0;
      quantize_row(format, row.data(), row.size(), out.data());
      std::uint16_t h;
      std::memcpy(&h, out.data(), 2);
      const float d = f16_to_f32(h);
      const float inv = d != 0 ? 1.0f / d : 0.0f;
      for (int i = 0; i < 32; ++i) {
        const long want = std::clamp(std::lround(row[i] * inv), q8 ? -127L : -8L, q8 ? 127L : 7L);
        const int got = q8 ? static_cast<std::int8_t>(out[2 + i])
                           : ((i < 16 ? out[2 + i] & 15 : out[2 + i - 16] >> 4) - Q3_Q4_0_ZERO);
        ASSERT_EQ(got, want) << dtype_name(format) << ", scale " << scale << ", value " << row[i];
      }
    }
  }
}

// Defect 7: quantisation never turns NaN into numbers or overflows its f16 scale into inf.
TEST(HardeningQuantisation, NonFiniteAndHugeWeightsAreRefused) {
  std::vector<std::uint8_t> out(64);
  std::vector<float> row(32, 0.5f);
  for (DType format : {DType::Q8_0, DType::Q4_0}) {
    row[7] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(quantize_row(format, row.data(), row.size(), out.data()), Error);
    row[7] = std::numeric_limits<float>::infinity();
    EXPECT_THROW(quantize_row(format, row.data(), row.size(), out.data()), Error);
    row[7] = 1e6f * (format == DType::Q8_0 ? 10 : 1);
    try {
      quantize_row(format, row.data(), row.size(), out.data());
      ADD_FAILURE() << "an overflowing scale was accepted";
    } catch (const Error& e) {
      EXPECT_TRUE(contains(e.what(), "overflows the f16 block scale")) << e.what();
    }
    row[7] = 1e5f;  // large but representable: quantised, and comes back close
    quantize_row(format, row.data(), row.size(), out.data());
    std::vector<float> back(32);
    dequantize_row(format, out.data(), 32, back.data());
    EXPECT_NEAR(back[7], 1e5f, 1e5f * 0.01f);
  }
}

// Defect 8: the tokenizer files a compile embeds are parsed first, and blamed by name.
TEST(HardeningCompile, TokenizerFilesAreValidatedAtCompileTime) {
  TempDir dir;
  const fs::path model = dir.path() / "model";
  fs::copy(test_data("models/qwen3-small"), model, fs::copy_options::recursive);
  fs::copy_file(test_data("models/qwen3-tiny/tokenizer.json"), model / "tokenizer.json",
                fs::copy_options::overwrite_existing);
  write_text((model / "tokenizer.json").string(), "garbage");
  ProcessResult r = qwen3c("compile " + model.string() + " -o " + dir.file("x.q3c"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, (model / "tokenizer.json").string())) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("x.q3c")));

  std::ifstream in(test_data("models/qwen3-tiny/tokenizer.json"));
  nlohmann::json tokenizer = nlohmann::json::parse(in);
  std::function<void(nlohmann::json&)> break_regex = [&](nlohmann::json& j) {
    if (j.is_object() && j.contains("Regex") && j["Regex"].is_string()) j["Regex"] = "(unclosed";
    for (auto& child : j) {
      if (child.is_structured()) break_regex(child);
    }
  };
  break_regex(tokenizer["pre_tokenizer"]);
  write_text((model / "tokenizer.json").string(), tokenizer.dump());
  r = qwen3c("compile " + model.string() + " -o " + dir.file("x.q3c"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "split regex does not compile")) << r.output;

  fs::copy_file(test_data("models/qwen3-tiny/tokenizer.json"), model / "tokenizer.json",
                fs::copy_options::overwrite_existing);
  write_text((model / "tokenizer_config.json").string(), "{\"a\": 1, \"a\": 2}");
  r = qwen3c("compile " + model.string() + " -o " + dir.file("x.q3c"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "tokenizer_config.json: invalid JSON: duplicate key")) << r.output;
}

// Defect 9: output that never arrived is a failure.
TEST_F(Hardening, WriteErrorsOnStandardOutputFail) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  for (const std::string& command : {"run " + artifact() + " -p Hello -n 3 --greedy",
                                    "tokenize " + artifact() + " --text Hello", "inspect " + artifact()}) {
    ProcessResult r = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c " + command + " 2>&1 >/dev/full", false);
    EXPECT_EQ(r.exit_code, 1) << command << ": " << r.output;
    EXPECT_TRUE(contains(r.output, "writing standard output failed")) << r.output;
  }
}

// Defect 10: a FIFO is refused at once (it used to wait forever for a writer); a
// directory or "" is not an empty text; an empty id is not token 0.
TEST_F(Hardening, FifosDirectoriesAndEmptyNamesAreClearErrors) {
  TempDir dir;
  const std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const fs::path folder = dir.path() / "model";
  fs::create_directory(folder);
  ASSERT_EQ(::mkfifo((folder / "config.json").c_str(), 0600), 0);
  for (const std::string& args : {"inspect " + fifo, "run " + fifo + " -p hi", "eval " + fifo + " --ids 1 --out " +
                                  dir.file("o"), "compile " + folder.string() + " -o " + dir.file("x.q3c"),
                                  "tokenize " + artifact() + " --file " + fifo}) {
    ProcessResult r = run_process("timeout 20 " + std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c " + args);
    EXPECT_EQ(r.exit_code, 1) << args << ": " << r.output;  // 124 would be the hang
    EXPECT_TRUE(contains(r.output, "not a regular file")) << args << ": " << r.output;
  }
  ProcessResult r = qwen3c("tokenize " + artifact() + " --file " + dir.path().string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "is a directory")) << r.output;
  r = qwen3c("tokenize " + artifact() + " --file ''");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "an empty path")) << r.output;
  r = qwen3c("detokenize " + artifact() + " --ids ''");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.output, "is not a token id")) << r.output;
}

// Defect 11: long runs of spaces tokenize (PCRE2 used to give up with error -47), and
// the text a call takes is bounded.
TEST(HardeningTokenizer, LongRunsOfSpacesTokenizeAndHugeTextIsRefused) {
  Tokenizer tokenizer = Tokenizer::load(test_data("models/qwen3-tiny"));
  const std::vector<std::int64_t> ids = tokenizer.encode(std::string(10'000'000, ' '));
  EXPECT_EQ(tokenizer.decode(ids), std::string(10'000'000, ' '));
  try {
    tokenizer.encode(std::string(Tokenizer::kMaxEncodeBytes + 1, 'a'));
    ADD_FAILURE() << "no bound on the text";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "at most 16 MiB")) << e.what();
  }
}

// inspect --verify reads every range the manifest lists: a changed byte in the embedded
// tokenizer_config.json, which no run reads, is found.
TEST_F(Hardening, InspectVerifyChecksEveryByteRange) {
  TempDir dir;
  const fs::path model = dir.path() / "model";
  fs::copy(test_data("models/qwen3-tiny"), model, fs::copy_options::recursive);
  write_text((model / "tokenizer_config.json").string(), R"({"model_max_length": 40960, "padding_side": "right"})");
  const std::string good = dir.file("good.q3c");
  ASSERT_EQ(qwen3c("compile " + model.string() + " --precision f32 -o " + good).exit_code, 0);
  ProcessResult r = qwen3c("inspect --verify " + good);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "every checksum matches")) << r.output;

  std::vector<std::uint8_t> bytes = read_bytes(good);
  const ArtifactHeader h = header_of(bytes);
  const nlohmann::json manifest = nlohmann::json::parse(
      std::string(bytes.begin() + h.manifest_offset, bytes.begin() + h.manifest_offset + h.manifest_size));
  const std::uint64_t at = manifest["tokenizer"]["tokenizer_config.json"]["offset"].get<std::uint64_t>() + 10;
  bytes[at] ^= 0x20;
  const std::string damaged = dir.file("damaged.q3c");
  write_bytes(damaged, bytes);
  // A run does not notice (it never reads that file) ...
  EXPECT_EQ(qwen3c("run " + damaged + " -p Hi -n 2 --greedy").exit_code, 0);
  // ... verify does, and names it.
  r = qwen3c("inspect --verify " + damaged);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "tokenizer.tokenizer_config.json")) << r.output;
  EXPECT_TRUE(contains(r.output, "checksum")) << r.output;
  r = qwen3c("inspect --verify " + test_data("models/qwen3-tiny"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "this is not one")) << r.output;
}

// Defect 13: the small ones.
TEST_F(Hardening, UsageErrorsAreShortAndComeBeforeLoading) {
  ProcessResult r = qwen3c("run " + artifact() + " -c 0 -p hi");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.output, "from 1 to 16777216")) << r.output;
  EXPECT_LT(r.output.size(), 300u) << r.output;
  r = qwen3c("bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.output, "unknown command 'bogus'")) << r.output;
  r = qwen3c("run " + artifact() + " --seed -1 -p hi");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // Refused while parsing: the missing artifact is never opened.
  r = qwen3c("run /nonexistent.q3c --temperature nan -p hi");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "nan is not a number in [0, 100]")) << r.output;
  TempDir dir;
  fs::create_symlink(dir.file("b"), dir.file("a"));
  fs::create_symlink(dir.file("a"), dir.file("b"));
  r = qwen3c("inspect " + dir.file("a"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "Too many levels of symbolic links")) << r.output;
  EXPECT_FALSE(contains(r.output, "filesystem error")) << r.output;
}

}  // namespace
}  // namespace qwen3c
