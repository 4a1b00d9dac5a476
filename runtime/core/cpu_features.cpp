#include "runtime/core/cpu_features.h"

#include <map>

namespace qwen3c {

namespace {

// LLVM feature name -> what CPUID says (through libgcc's __builtin_cpu_supports, the same
// source LLVM's host detection reads; /proc/cpuinfo hides some flags inside VMs). The
// builtin needs literal names, hence a macro per entry.
#define Q3_FEATURE(llvm_name, gcc_name) {llvm_name, [] { return __builtin_cpu_supports(gcc_name) != 0; }}
using Check = bool (*)();
const std::map<std::string, Check>& checks() {
  static const std::map<std::string, Check> table = {
      Q3_FEATURE("sse3", "sse3"),           Q3_FEATURE("ssse3", "ssse3"),
      Q3_FEATURE("sse4.1", "sse4.1"),       Q3_FEATURE("sse4.2", "sse4.2"),
      Q3_FEATURE("sse4a", "sse4a"),         Q3_FEATURE("popcnt", "popcnt"),
      Q3_FEATURE("lzcnt", "lzcnt"),         Q3_FEATURE("movbe", "movbe"),
      Q3_FEATURE("avx", "avx"),             Q3_FEATURE("avx2", "avx2"),
      Q3_FEATURE("fma", "fma"),             Q3_FEATURE("f16c", "f16c"),
      Q3_FEATURE("bmi", "bmi"),             Q3_FEATURE("bmi2", "bmi2"),
      Q3_FEATURE("avxvnni", "avxvnni"),     Q3_FEATURE("avx512f", "avx512f"),
      Q3_FEATURE("avx512bw", "avx512bw"),   Q3_FEATURE("avx512dq", "avx512dq"),
      Q3_FEATURE("avx512vl", "avx512vl"),   Q3_FEATURE("avx512cd", "avx512cd"),
      Q3_FEATURE("avx512vnni", "avx512vnni"), Q3_FEATURE("avx512bf16", "avx512bf16"),
      Q3_FEATURE("avx512fp16", "avx512fp16"), Q3_FEATURE("avx512vbmi", "avx512vbmi"),
      Q3_FEATURE("avx512vbmi2", "avx512vbmi2"), Q3_FEATURE("avx512ifma", "avx512ifma"),
      Q3_FEATURE("avx512bitalg", "avx512bitalg"), Q3_FEATURE("avx512vpopcntdq", "avx512vpopcntdq"),
      Q3_FEATURE("amx-tile", "amx-tile"),   Q3_FEATURE("amx-int8", "amx-int8"),
      Q3_FEATURE("amx-bf16", "amx-bf16"),
  };
  return table;
}
#undef Q3_FEATURE

}  // namespace

std::vector<std::string> missing_cpu_features(const std::vector<std::string>& required) {
  std::vector<std::string> missing;
  for (const std::string& feature : required) {
    auto it = checks().find(feature);
    if (it != checks().end() && !it->second()) missing.push_back(feature);
  }
  return missing;
}

}  // namespace qwen3c
