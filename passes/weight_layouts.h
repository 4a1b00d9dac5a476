#pragma once
// Weight layouts are the backend's business: each backend registers a provider that, given
// a weight declaration, names the layout its kernels read it in. q3-pack-weights records
// the choice in the IR; the backend writes the data that way.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/Q3.h"

namespace qwen3c {

// The layout for `weight`, or nullopt when the backend cannot read it (with `why`).
using WeightLayoutProvider = std::function<std::optional<std::string>(q3::WeightOp weight, std::string* why)>;

struct WeightLayoutRegistration {
  WeightLayoutRegistration(const std::string& target, WeightLayoutProvider provider);
};

// nullptr when no backend of that name registered layouts.
const WeightLayoutProvider* weight_layout_provider(const std::string& target);

}  // namespace qwen3c
