#pragma once
// Deterministic random weights of a model's real shapes, for benchmarks (real 4B weights
// cannot be downloaded here; random ones run exactly as fast). A given (seed, tensor name,
// element index) always gives the same value, on any machine and thread count.

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"

namespace qwen3c {

// Fills `dst` (a tensor of `shape` in `dtype`: BF16, F32, Q8_0 or Q4_0). Norm weights land
// near 1, matrices are uniform with standard deviation 1/sqrt(fan_in), so activations stay
// finite through any number of layers.
void fill_random_weights(const std::string& name, DType dtype,
                         const std::vector<std::int64_t>& shape, std::uint64_t seed, void* dst);

}  // namespace qwen3c
