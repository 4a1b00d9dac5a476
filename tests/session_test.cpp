// Session semantics of the runtime API: incremental decoding equals a full prefill, reset
// and truncate rewind the cache, and bad requests are clear errors.

#include <gtest/gtest.h>

#include "runtime/core/error.h"
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

}  // namespace
}  // namespace qwen3c
