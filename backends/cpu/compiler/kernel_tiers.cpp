#include "backends/cpu/compiler/kernel_tiers.h"

#include <algorithm>

extern "C" const unsigned char q3_cpu_kernels_generic_bitcode[], q3_cpu_kernels_avx2_bitcode[],
    q3_cpu_kernels_avx512_bitcode[], q3_cpu_kernels_amx_bitcode[];
extern "C" const unsigned long q3_cpu_kernels_generic_bitcode_size, q3_cpu_kernels_avx2_bitcode_size,
    q3_cpu_kernels_avx512_bitcode_size, q3_cpu_kernels_amx_bitcode_size;

namespace qwen3c::cpu {

const std::vector<KernelTier>& kernel_tiers() {
  // The flags each tier is compiled with (CMakeLists.txt) are exactly these features.
  static const std::vector<KernelTier> tiers = {
      {"generic", {}, q3_cpu_kernels_generic_bitcode, q3_cpu_kernels_generic_bitcode_size},
      {"avx2", {"avx2", "fma", "f16c", "bmi2"}, q3_cpu_kernels_avx2_bitcode, q3_cpu_kernels_avx2_bitcode_size},
      {"avx512",
       {"avx2", "fma", "f16c", "bmi2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512bf16", "avx512vnni"},
       q3_cpu_kernels_avx512_bitcode, q3_cpu_kernels_avx512_bitcode_size},
      {"amx",
       {"avx2", "fma", "f16c", "bmi2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512bf16", "avx512vnni",
        "amx-tile", "amx-bf16", "amx-int8"},
       q3_cpu_kernels_amx_bitcode, q3_cpu_kernels_amx_bitcode_size},
  };
  return tiers;
}

const KernelTier& choose_kernel_tier(const std::vector<std::string>& target_features) {
  const std::vector<KernelTier>& tiers = kernel_tiers();
  for (auto tier = tiers.rbegin(); tier != tiers.rend(); ++tier) {
    const bool has_all = std::all_of(tier->required.begin(), tier->required.end(), [&](const char* f) {
      return std::find(target_features.begin(), target_features.end(), f) != target_features.end();
    });
    if (has_all) return *tier;
  }
  return tiers.front();
}

}  // namespace qwen3c::cpu
