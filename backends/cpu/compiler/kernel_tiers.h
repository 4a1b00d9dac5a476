#pragma once
// The CPU kernel library comes in tiers, the same sources compiled for one instruction set
// each (backends/cpu/CMakeLists.txt); an artifact's code links the widest tier its target
// CPU has. Chosen at compile time from the target's features: no run-time dispatch.

#include <cstddef>
#include <string>
#include <vector>

namespace qwen3c::cpu {

struct KernelTier {
  const char* name;                   // "generic", "avx2", "avx512", "amx"
  std::vector<const char*> required;  // LLVM feature names the target must have
  const unsigned char* bitcode;
  std::size_t bitcode_size;
};

// Every tier, narrowest first.
const std::vector<KernelTier>& kernel_tiers();
// The widest tier whose requirements `target_features` (LLVM names) meet.
const KernelTier& choose_kernel_tier(const std::vector<std::string>& target_features);

}  // namespace qwen3c::cpu
