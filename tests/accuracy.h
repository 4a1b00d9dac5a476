#pragma once
// How far one model's next-token distributions are from a reference's, over the same
// positions: what the quantisation and precision accuracy tests bound.

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/execution/session.h"

namespace qwen3c::testing {

struct Accuracy {
  double relative_error = 0;  // ||q - ref|| / ||ref|| over all logits
  double top1_agreement = 0;  // fraction of positions with the same argmax
  double mean_kl = 0;         // mean KL(ref || q) of the softmax distributions, nats
};

// The logits of every position of `ids` fed in one step.
std::vector<float> all_logits(const std::shared_ptr<Model>& m, const std::vector<std::int64_t>& ids);

Accuracy compare(const std::vector<float>& q, const std::vector<float>& ref, std::int64_t vocab);

}  // namespace qwen3c::testing
