#pragma once
// How many positions one transposed key block holds (kv_cache.h): shared by the kernels,
// which read and write the blocks, and the executor, which allocates whole blocks.

#include <stdint.h>

namespace q3k {

constexpr int64_t kKeyBlock = 16;

}  // namespace q3k
