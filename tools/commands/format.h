#pragma once
// Human-readable numbers for command output.

#include <cstdint>
#include <cstdio>
#include <string>

namespace qwen3c::cli {

// 4022468096 -> "4.02B", 9785792 -> "9.79M".
inline std::string human_count(std::int64_t n) {
  char buf[32];
  if (n >= 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  else if (n >= 1'000'000) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1'000) std::snprintf(buf, sizeof buf, "%.2fK", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

inline std::string human_bytes(std::int64_t n) {
  char buf[32];
  if (n >= (1ll << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", n / double(1ll << 30));
  else if (n >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", n / double(1 << 20));
  else if (n >= (1 << 10)) std::snprintf(buf, sizeof buf, "%.2f KiB", n / double(1 << 10));
  else std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(n));
  return buf;
}

}  // namespace qwen3c::cli
