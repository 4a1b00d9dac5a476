#include "runtime/cpu_features.h"

#include <functional>
#include <map>

namespace qwen3c {

std::vector<std::string> missing_cpu_features(const std::vector<std::string>& required) {
#if defined(__x86_64__)
  // __builtin_cpu_supports needs literal names, hence one lambda per feature.
  static const std::map<std::string, std::function<bool()>> checks = {
      {"sse4.1", [] { return __builtin_cpu_supports("sse4.1"); }},
      {"sse4.2", [] { return __builtin_cpu_supports("sse4.2"); }},
      {"ssse3", [] { return __builtin_cpu_supports("ssse3"); }},
      {"popcnt", [] { return __builtin_cpu_supports("popcnt"); }},
      {"avx", [] { return __builtin_cpu_supports("avx"); }},
      {"avx2", [] { return __builtin_cpu_supports("avx2"); }},
      {"fma", [] { return __builtin_cpu_supports("fma"); }},
      {"bmi", [] { return __builtin_cpu_supports("bmi"); }},
      {"bmi2", [] { return __builtin_cpu_supports("bmi2"); }},
      {"f16c", [] { return __builtin_cpu_supports("f16c"); }},
      {"avx512f", [] { return __builtin_cpu_supports("avx512f"); }},
      {"avx512bw", [] { return __builtin_cpu_supports("avx512bw"); }},
      {"avx512dq", [] { return __builtin_cpu_supports("avx512dq"); }},
      {"avx512vl", [] { return __builtin_cpu_supports("avx512vl"); }},
      {"avx512vnni", [] { return __builtin_cpu_supports("avx512vnni"); }},
      {"avx512bf16", [] { return __builtin_cpu_supports("avx512bf16"); }},
      {"avxvnni", [] { return __builtin_cpu_supports("avxvnni"); }},
  };
  std::vector<std::string> missing;
  for (const std::string& feature : required) {
    auto it = checks.find(feature);
    if (it != checks.end() && !it->second()) missing.push_back(feature);
  }
  return missing;
#else
  (void)required;
  return {};
#endif
}

}  // namespace qwen3c
