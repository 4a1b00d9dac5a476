#include "runtime/generation/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "runtime/core/error.h"
#include "runtime/core/first_largest.h"

namespace qwen3c {

Sampler::Sampler(const SamplingOptions& o) : options_(o), rng_(o.seed) {
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature)) throw Error("temperature must be >= 0");
  if (o.top_k < 0) throw Error("top-k must be >= 0");
  if (!(o.top_p > 0 && o.top_p <= 1)) throw Error("top-p must be in (0, 1]");
  if (!(o.min_p >= 0 && o.min_p < 1)) throw Error("min-p must be in [0, 1)");
  if (!(o.repetition_penalty > 0) || !std::isfinite(o.repetition_penalty)) {
    throw Error("repetition penalty must be > 0");
  }
  for (float p : {o.presence_penalty, o.frequency_penalty}) {
    if (!(p >= -2.0f && p <= 2.0f)) throw Error("presence and frequency penalties must be in [-2, 2]");
  }
}

std::vector<Sampler::Candidate> Sampler::distribution(std::span<const float> logits,
                                                      std::span<const std::int64_t> history) const {
  std::vector<float> adjusted(logits.begin(), logits.end());
  if (options_.repetition_penalty != 1.0f) {
    std::unordered_set<std::int64_t> seen(history.begin(), history.end());
    for (std::int64_t id : seen) {
      if (id < 0 || id >= static_cast<std::int64_t>(adjusted.size())) continue;
      float& l = adjusted[static_cast<std::size_t>(id)];
      l = l > 0 ? l / options_.repetition_penalty : l * options_.repetition_penalty;
    }
  }
  if (options_.presence_penalty != 0.0f || options_.frequency_penalty != 0.0f) {
    std::unordered_map<std::int64_t, int> counts;
    for (std::int64_t id : history) ++counts[id];
    for (const auto& [id, n] : counts) {
      if (id < 0 || id >= static_cast<std::int64_t>(adjusted.size())) continue;
      adjusted[static_cast<std::size_t>(id)] -= options_.presence_penalty + options_.frequency_penalty * static_cast<float>(n);
    }
  }
  std::vector<Candidate> c;
  if (options_.temperature == 0.0f) {
    c.push_back({first_largest(adjusted), 1.0f});
    return c;
  }
  c.reserve(adjusted.size());
  for (std::size_t i = 0; i < adjusted.size(); ++i) c.push_back({static_cast<std::int64_t>(i), adjusted[i]});
  // Sort by logit, ties by id (deterministic), keeping the top k.
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.probability != b.probability ? a.probability > b.probability : a.id < b.id;
  };
  const std::size_t k = options_.top_k > 0 ? std::min<std::size_t>(options_.top_k, c.size()) : c.size();
  std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(k), c.end(), by_logit);
  c.resize(k);
  // Softmax at the temperature.
  const float max_logit = c.front().probability;
  double sum = 0;
  for (Candidate& x : c) {
    x.probability = std::exp((x.probability - max_logit) / options_.temperature);
    sum += x.probability;
  }
  for (Candidate& x : c) x.probability = static_cast<float>(x.probability / sum);
  // Top-p: the smallest prefix whose mass reaches top_p.
  if (options_.top_p < 1.0f) {
    double mass = 0;
    std::size_t keep = 0;
    while (keep < c.size()) {
      mass += c[keep++].probability;
      if (mass >= options_.top_p) break;
    }
    c.resize(keep);
  }
  // Min-p: relative to the most likely token.
  if (options_.min_p > 0.0f) {
    const float floor = options_.min_p * c.front().probability;
    while (c.size() > 1 && c.back().probability < floor) c.pop_back();
  }
  double kept = 0;
  for (const Candidate& x : c) kept += x.probability;
  for (Candidate& x : c) x.probability = static_cast<float>(x.probability / kept);
  return c;
}

std::int64_t Sampler::sample(std::span<const float> logits, std::span<const std::int64_t> history) {
  if (logits.empty()) throw Error("sampling from empty logits");
  if (is_plain_argmax()) return first_largest(logits);  // no copy of the logits to adjust
  std::vector<Candidate> c = distribution(logits, history);
  if (c.size() == 1) return c.front().id;
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  double cumulative = 0;
  for (const Candidate& x : c) {
    cumulative += x.probability;
    if (u < cumulative) return x.id;
  }
  return c.back().id;
}

}  // namespace qwen3c
