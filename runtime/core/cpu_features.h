#pragma once
// Which instruction-set features this CPU has, by LLVM's feature names ("avx2", "fma"...),
// so an artifact compiled for features this machine lacks is refused instead of crashing.

#include <string>
#include <vector>

namespace qwen3c {

// The features in `required` that this CPU lacks, judged by CPUID. Names outside
// the runtime's table are not checked (they do not decide which instructions x86 code
// generation may use).
std::vector<std::string> missing_cpu_features(const std::vector<std::string>& required);

}  // namespace qwen3c
