#pragma once
// Registers every pass qwen3c drivers can run by name (--passes=, qwen3c-opt).

namespace qwen3c {

void register_passes();

}  // namespace qwen3c
