// Sampling, checked statistically on fixed logits.

#include "runtime/generation/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "runtime/core/error.h"
#include "runtime/core/first_largest.h"

namespace qwen3c {
namespace {

// Ten tokens with decreasing logits: p ~ exp(-i/2).
std::vector<float> ramp() {
  std::vector<float> l;
  for (int i = 0; i < 10; ++i) l.push_back(-0.5f * i);
  return l;
}

std::map<std::int64_t, int> histogram(SamplingOptions o, const std::vector<float>& logits, int draws,
                                      std::vector<std::int64_t> history = {}) {
  Sampler s(o);
  std::map<std::int64_t, int> h;
  for (int i = 0; i < draws; ++i) ++h[s.sample(logits, history)];
  return h;
}

TEST(Sampler, TemperatureZeroIsGreedy) {
  SamplingOptions o;
  o.temperature = 0;
  std::vector<float> logits = {0.1f, 3.0f, 2.9f, -1.0f};
  EXPECT_EQ(histogram(o, logits, 100), (std::map<std::int64_t, int>{{1, 100}}));
}

// Greedy sampling's scan: the first of the largest values, as std::max_element, wherever
// they fall (the lanes' main part, the tail, a tie across lanes) and at a vocabulary's size.
TEST(FirstLargest, IsTheFirstPlaceOfTheLargestValue) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (std::size_t size : {1u, 15u, 16u, 17u, 33u, 151936u}) {
    std::vector<float> x(size);
    for (float& v : x) v = normal(rng);
    EXPECT_EQ(first_largest(x), std::max_element(x.begin(), x.end()) - x.begin()) << size;
    // A tie: the largest value again at a later place, and at an earlier one.
    const std::int64_t at = std::max_element(x.begin(), x.end()) - x.begin();
    x[size - 1] = x[static_cast<std::size_t>(at)];
    EXPECT_EQ(first_largest(x), at) << size;
    x[0] = x[static_cast<std::size_t>(at)];
    EXPECT_EQ(first_largest(x), 0) << size;
  }
  // Largest in the tail past the last whole 16, and two equal largest in different lanes.
  std::vector<float> tail(37, -1.0f);
  tail[35] = 2.0f;
  EXPECT_EQ(first_largest(tail), 35);
  std::vector<float> lanes(64, 0.0f);
  lanes[21] = lanes[5] = 1.0f;
  EXPECT_EQ(first_largest(lanes), 5);
}

TEST(FirstLargest, MaskedAndNotANumberAreNeverChosenOverAValue) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x(40, -inf);
  EXPECT_EQ(first_largest(x), 0);  // all masked: the first
  x[3] = nan;
  x[30] = -5.0f;
  EXPECT_EQ(first_largest(x), 30);
  EXPECT_EQ(first_largest(std::vector<float>(20, nan)), 0);
}

// Greedy sampling reads the logits as they are, and still applies a penalty when one is set.
TEST(Sampler, GreedyWithAPenaltyTakesThePenalisedLogits) {
  SamplingOptions o;
  o.temperature = 0;
  const std::vector<float> logits = {0.1f, 3.0f, 2.9f, -1.0f};
  EXPECT_EQ(Sampler(o).sample(logits, std::vector<std::int64_t>{1}), 1);
  o.repetition_penalty = 1.5f;  // 3.0 / 1.5 = 2.0 < 2.9
  EXPECT_EQ(Sampler(o).sample(logits, std::vector<std::int64_t>{1}), 2);
}

TEST(Sampler, TopKNeverSamplesOutsideTheTopK) {
  SamplingOptions o{1.0f, 3, 1.0f, 0.0f, 1.0f, 1};
  auto h = histogram(o, ramp(), 5000);
  EXPECT_EQ(h.size(), 3u);
  for (const auto& [id, n] : h) EXPECT_LT(id, 3);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities of ramp() at T=1: 0.38, 0.23, 0.14, 0.085, ...; top-p 0.7 keeps 3 tokens.
  SamplingOptions o{1.0f, 0, 0.7f, 0.0f, 1.0f, 2};
  Sampler s(o);
  auto d = s.distribution(ramp(), {});
  ASSERT_EQ(d.size(), 3u);
  auto h = histogram(o, ramp(), 5000);
  for (const auto& [id, n] : h) EXPECT_LT(id, 3);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  // p_i / p_0 = exp(-i/2) >= 0.3 for i <= 2.
  SamplingOptions o{1.0f, 0, 1.0f, 0.3f, 1.0f, 3};
  auto h = histogram(o, ramp(), 5000);
  EXPECT_EQ(h.size(), 3u);
  for (const auto& [id, n] : h) EXPECT_LE(id, 2);
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  SamplingOptions o{1.0f, 0, 1.0f, 0.0f, 1.0f, 4};
  const int draws = 40000;
  auto h = histogram(o, ramp(), draws);
  double z = 0;
  for (float l : ramp()) z += std::exp(l);
  for (int i = 0; i < 4; ++i) {
    const double p = std::exp(ramp()[i]) / z;
    const double sigma = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(static_cast<double>(h[i]) / draws, p, 5 * sigma) << i;
  }
}

TEST(Sampler, HigherTemperatureFlattens) {
  SamplingOptions cold{0.5f, 0, 1.0f, 0.0f, 1.0f, 5}, hot{2.0f, 0, 1.0f, 0.0f, 1.0f, 5};
  EXPECT_GT(histogram(cold, ramp(), 5000)[0], histogram(hot, ramp(), 5000)[0] + 500);
}

TEST(Sampler, SameSeedSameTokensOtherSeedOtherTokens) {
  SamplingOptions a{1.0f, 0, 1.0f, 0.0f, 1.0f, 42}, b = a;
  b.seed = 43;
  Sampler s1(a), s2(a), s3(b);
  std::vector<std::int64_t> t1, t2, t3;
  for (int i = 0; i < 50; ++i) {
    t1.push_back(s1.sample(ramp(), {}));
    t2.push_back(s2.sample(ramp(), {}));
    t3.push_back(s3.sample(ramp(), {}));
  }
  EXPECT_EQ(t1, t2);
  EXPECT_NE(t1, t3);
}

TEST(Sampler, RepetitionPenaltyDiscouragesSeenTokens) {
  SamplingOptions o{0.0f, 0, 1.0f, 0.0f, 2.0f, 0};
  std::vector<float> logits = {2.0f, 1.5f, -1.0f};
  Sampler s(o);
  EXPECT_EQ(s.sample(logits, {}), 0);
  EXPECT_EQ(s.sample(logits, std::vector<std::int64_t>{0}), 1);  // 2.0 / 2 = 1.0 < 1.5
}

TEST(Sampler, PresenceAndFrequencyPenaltiesSubtractAsOpenAIDefinesThem) {
  std::vector<float> logits = {2.0f, 1.5f, 1.2f};
  SamplingOptions presence{0.0f, 0, 1.0f, 0.0f, 1.0f, 0, /*presence=*/0.6f, /*frequency=*/0.0f};
  Sampler p(presence);
  EXPECT_FALSE(p.is_plain_argmax());
  EXPECT_EQ(p.sample(logits, std::vector<std::int64_t>{0, 0, 0}), 1);  // 2.0 - 0.6 < 1.5, once however often
  SamplingOptions frequency{0.0f, 0, 1.0f, 0.0f, 1.0f, 0, 0.0f, /*frequency=*/0.2f};
  Sampler f(frequency);
  EXPECT_EQ(f.sample(logits, std::vector<std::int64_t>{0, 0}), 0);     // 2.0 - 0.4 > 1.5
  EXPECT_EQ(f.sample(logits, std::vector<std::int64_t>{0, 0, 0}), 1);  // 2.0 - 0.6 < 1.5
  SamplingOptions negative{0.0f, 0, 1.0f, 0.0f, 1.0f, 0, -1.0f, 0.0f};  // encourages repeats
  EXPECT_EQ(Sampler(negative).sample(logits, std::vector<std::int64_t>{2}), 2);
  EXPECT_THROW(Sampler(SamplingOptions{1.0f, 0, 1.0f, 0.0f, 1.0f, 0, 2.5f, 0.0f}), Error);
}

TEST(Sampler, BadOptionsAreRefused) {
  EXPECT_THROW(Sampler(SamplingOptions{-1.0f}), Error);
  EXPECT_THROW(Sampler(SamplingOptions{1.0f, -1}), Error);
  EXPECT_THROW(Sampler(SamplingOptions{1.0f, 0, 0.0f}), Error);
  EXPECT_THROW(Sampler(SamplingOptions{1.0f, 0, 1.0f, 1.5f}), Error);
  EXPECT_THROW(Sampler(SamplingOptions{1.0f, 0, 1.0f, 0.0f, 0.0f}), Error);
}

}  // namespace
}  // namespace qwen3c
