#pragma once
// A cache row as a KV type stores it, back in f32: what attention reads after the row went
// through the cache. For executors that keep an f32 cache but want another type's numbers
// (the portable backend), and for tests. The same rounding as the CPU kernels' stores.

#include <cstdint>

#include "runtime/core/kv_type.h"

namespace qwen3c {

// Rounds `row` (n elements; q8_0: n a multiple of 32) in place.
void round_kv_row(KvType type, float* row, std::int64_t n);

}  // namespace qwen3c
