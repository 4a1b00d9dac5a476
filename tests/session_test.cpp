// Session semantics of the runtime API: incremental decoding equals a full prefill, reset
// and truncate rewind the cache, and bad requests are clear errors.

#include <gtest/gtest.h>

#include "runtime/core/error.h"
#include "runtime/core/kv_type_names.h"
#include "runtime/execution/session.h"
#include "tests/golden.h"
#include "tests/compile_for_test.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using namespace qwen3c::testing;

class SessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string path = dir_->file("small.q3c");
    compile_for_test(test_data("models/qwen3-small"), path);
    model_ = Model::load(path);
  }
  static void TearDownTestSuite() {
    model_.reset();
    delete dir_;
  }
  static std::int64_t vocab() { return model_->config().vocab_size; }

  static TempDir* dir_;
  static std::shared_ptr<Model> model_;
};
TempDir* SessionTest::dir_ = nullptr;
std::shared_ptr<Model> SessionTest::model_;

const std::vector<std::int64_t> kPrompt = {3, 14, 15, 92, 65, 35, 89, 79};

TEST_F(SessionTest, TokenByTokenEqualsPrefill) {
  Session full(model_, 32), incremental(model_, 32);
  std::vector<float> all = full.forward(kPrompt, /*all_logits=*/true);
  for (std::size_t t = 0; t < kPrompt.size(); ++t) {
    std::vector<float> row = incremental.forward(std::span<const std::int64_t>(&kPrompt[t], 1));
    EXPECT_LE(relative_error(row.data(), all.data() + t * vocab(), vocab()), 1e-5) << t;
  }
}

// Every row's logits of a prompt longer than one step (Session::kMaxPrefillStep) come from
// several steps, in order: the rows of the first step are those of that step alone, and
// the last row is what a last-logits-only prefill gives.
TEST_F(SessionTest, AllLogitsOfALongPromptRunInSteps) {
  const std::size_t step = Session::kMaxPrefillStep, count = step + 88;
  std::vector<std::int64_t> ids(count);
  for (std::size_t i = 0; i < count; ++i) ids[i] = static_cast<std::int64_t>((i * 37 + 11) % vocab());
  Session whole(model_, 1024), first(model_, 1024), last(model_, 1024);
  const std::vector<float> all = whole.forward(ids, /*all_logits=*/true);
  ASSERT_EQ(all.size(), count * static_cast<std::size_t>(vocab()));
  EXPECT_EQ(whole.position(), static_cast<std::int64_t>(count));
  const std::vector<float> head = first.forward(std::span<const std::int64_t>(ids).first(step), /*all_logits=*/true);
  for (std::size_t t = 0; t < step; t += 73) {
    EXPECT_LE(relative_error(all.data() + t * vocab(), head.data() + t * vocab(), vocab()), 1e-6) << t;
  }
  const std::vector<float> tail = last.forward(ids);
  EXPECT_LE(relative_error(all.data() + (count - 1) * vocab(), tail.data(), vocab()), 1e-6);
  // Rows of the second step are not copies of the first step's.
  EXPECT_GT(relative_error(all.data() + step * vocab(), all.data() + (step - 1) * vocab(), vocab()), 1e-3);
}

TEST_F(SessionTest, ResetAndTruncateRewind) {
  Session s(model_, 32);
  std::vector<float> first = s.forward(kPrompt);
  s.reset();
  EXPECT_EQ(s.position(), 0);
  EXPECT_LE(relative_error(s.forward(kPrompt).data(), first.data(), vocab()), 1e-7);

  // Truncating to 5 and feeding the last 3 again gives the same logits.
  s.truncate(5);
  EXPECT_EQ(s.position(), 5);
  std::vector<std::int64_t> tail(kPrompt.begin() + 5, kPrompt.end());
  EXPECT_LE(relative_error(s.forward(tail).data(), first.data(), vocab()), 1e-6);
  // Truncating to different content diverges.
  s.truncate(5);
  std::vector<std::int64_t> other = {1, 2, 3};
  EXPECT_GT(relative_error(s.forward(other).data(), first.data(), vocab()), 1e-3);
  EXPECT_THROW(s.truncate(100), Error);
}

TEST_F(SessionTest, ContextOverflowIsAClearError) {
  Session s(model_, 10);
  s.forward(kPrompt);
  std::vector<std::int64_t> three = {1, 2, 3};
  try {
    s.forward(three);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context full"), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.position(), 8);  // unchanged, still usable
  std::vector<std::int64_t> two = {1, 2};
  EXPECT_NO_THROW(s.forward(two));
}

TEST_F(SessionTest, UnknownTokenIdIsAClearError) {
  Session s(model_, 10);
  for (std::int64_t bad : {std::int64_t{512}, std::int64_t{-1}, std::int64_t{1} << 40}) {
    std::vector<std::int64_t> ids = {1, bad};
    try {
      s.forward(ids);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(s.position(), 0);
}

TEST_F(SessionTest, ContextLargerThanModelIsRefused) {
  EXPECT_THROW(Session(model_, model_->config().max_position_embeddings + 1), Error);
  EXPECT_THROW(Session(model_, 0), Error);
}

TEST_F(SessionTest, EmptyStepIsRefused) {
  Session s(model_, 10);
  EXPECT_THROW(s.forward(std::span<const std::int64_t>()), Error);
}

// Session::replicate (bench --depth-fill copy): the cache grows by copies of what it holds,
// which the next step reads, and the positions it held are left as they were.
TEST_F(SessionTest, ReplicateCopiesTheHeldPositions) {
  std::vector<std::int64_t> prompt(32);
  for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<std::int64_t>(i * 37 + 5) % vocab();
  const std::vector<std::int64_t> next = {7};
  for (KvType type : {KvType::F32, KvType::F16, KvType::Q8_0}) {
    SCOPED_TRACE(kv_type_name(type));
    Session plain(model_, 100, 1, type);
    plain.forward(prompt);
    const std::vector<float> after_prompt = plain.forward(next);
    Session copied(model_, 100, 1, type), again(model_, 100, 1, type);
    for (Session* s : {&copied, &again}) {
      s->forward(prompt);
      s->replicate(90);
    }
    EXPECT_EQ(copied.position(), 90);
    // The step after the copies reads them: not the step after the prompt, and the same in
    // two sessions copied alike (the copies are what was held, not uninitialised memory).
    const std::vector<float> a = copied.forward(next), b = again.forward(next);
    EXPECT_EQ(a, b);
    EXPECT_GT(relative_error(a.data(), after_prompt.data(), vocab()), 1e-3);
    // The held positions are untouched: back to them, the step is the plain one's.
    copied.truncate(32);
    EXPECT_EQ(copied.forward(next), after_prompt);
  }
}

TEST_F(SessionTest, ReplicateRefusesWhatItCannotCopy) {
  Session s(model_, 64);
  EXPECT_THROW(s.replicate(32), Error);  // nothing held
  std::vector<std::int64_t> ten(10, 3);
  s.forward(ten);
  EXPECT_THROW(s.replicate(32), Error);  // not a whole multiple of 16
  std::vector<std::int64_t> six(6, 4);
  s.forward(six);
  EXPECT_THROW(s.replicate(65), Error);  // past the context
  EXPECT_EQ(s.position(), 16);
  EXPECT_NO_THROW(s.replicate(64));
}

}  // namespace
}  // namespace qwen3c

namespace qwen3c {
namespace {

using namespace qwen3c::testing;

// Profiling (bench --profile) times the steps and changes nothing they compute: the CPU's
// timed barriers, the Vulkan command buffer re-recorded with timestamps and back. Turned on
// and off in the middle of a sequence, the logits are the same bits as without it, and the
// profile counts the steps it saw.
class ProfiledSteps : public ::testing::TestWithParam<std::string> {};

TEST_P(ProfiledSteps, ChangeNoLogitAndCountTheirSteps) {
  TempDir dir;
  const std::string path = dir.file("model.q3c");
  compile_for_test(test_data("models/qwen3-small"), path, target_options(GetParam()));
  std::shared_ptr<Model> model;
  try {
    model = Model::load(path);
  } catch (const Error& e) {
    if (GetParam() == "vulkan") GTEST_SKIP() << "no Vulkan device: " << e.what();
    throw;
  }
  Executor& executor = model->executor();
  ASSERT_TRUE(executor.can_profile());
  const std::vector<std::int64_t> prompt = {5, 17, 230, 9, 41, 7};
  auto run = [&](bool toggle) {
    Session s(model, 32);
    std::vector<std::vector<float>> logits;
    if (toggle) executor.set_profiling(true);
    logits.push_back(s.forward(prompt));
    for (int step = 0; step < 6; ++step) {
      if (toggle && step == 2) executor.set_profiling(false);
      if (toggle && step == 4) executor.set_profiling(true);
      const auto next = std::max_element(logits.back().begin(), logits.back().end()) - logits.back().begin();
      const std::vector<std::int64_t> id = {static_cast<std::int64_t>(next)};
      logits.push_back(s.forward(id));
    }
    if (toggle) executor.set_profiling(false);
    return logits;
  };
  const auto plain = run(false);
  const auto profiled = run(true);
  ASSERT_EQ(plain.size(), profiled.size());
  for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(plain[i], profiled[i]) << "step " << i;
  // Recording restarted at the second set_profiling(true): steps 4 and 5.
  const std::vector<Executor::CallTime> calls = executor.call_profile();
  ASSERT_FALSE(calls.empty());
  double seconds = 0;
  for (const Executor::CallTime& c : calls) {
    EXPECT_EQ(c.steps, 2) << c.kernel;
    seconds += c.seconds;
  }
  EXPECT_GT(seconds, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ProfiledSteps, ::testing::Values("cpu", "vulkan"));

}  // namespace
}  // namespace qwen3c
