#include <xxhash.h>

#include "runtime/artifact/artifact_format.h"

namespace qwen3c {

std::uint64_t checksum(const void* data, std::uint64_t size) { return XXH3_64bits(data, size); }

}  // namespace qwen3c
