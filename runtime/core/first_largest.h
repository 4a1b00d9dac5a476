#ifndef QWEN3C_RUNTIME_CORE_FIRST_LARGEST_H
#define QWEN3C_RUNTIME_CORE_FIRST_LARGEST_H
// The place of the largest value (the first of equals, as std::max_element), for greedy
// sampling over a vocabulary's logits. Two passes the compiler vectorises, where
// std::max_element's running index keeps it scalar: a batched server step of eight Qwen3
// rows spent 1.7 ms in eight copies and scalar scans of 151,936 logits.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

namespace qwen3c {

// NaN is never the largest; a span of nothing but NaN (or empty) gives 0.
inline std::int64_t first_largest(std::span<const float> x) {
  constexpr std::size_t kLanes = 16;
  float lanes[kLanes];
  for (float& l : lanes) l = -std::numeric_limits<float>::infinity();
  std::size_t i = 0;
  for (; i + kLanes <= x.size(); i += kLanes) {
    for (std::size_t l = 0; l < kLanes; ++l) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
  }
  float largest = -std::numeric_limits<float>::infinity();
  for (; i < x.size(); ++i) largest = x[i] > largest ? x[i] : largest;
  for (float l : lanes) largest = l > largest ? l : largest;
  // Its first place: whole 16s tested at once, then the one that has it, value by value.
  std::size_t j = 0;
  for (; j + kLanes <= x.size(); j += kLanes) {
    bool here = false;
    for (std::size_t l = 0; l < kLanes; ++l) here |= x[j + l] == largest;
    if (here) break;
  }
  for (; j < x.size(); ++j) {
    if (x[j] == largest) return static_cast<std::int64_t>(j);
  }
  return 0;
}

}  // namespace qwen3c

#endif  // QWEN3C_RUNTIME_CORE_FIRST_LARGEST_H
