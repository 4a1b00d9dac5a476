#include "runtime/core/huge_pages.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

namespace qwen3c {

std::optional<double> huge_page_share(const void* begin, std::uint64_t bytes) {
  if (begin == nullptr || bytes == 0) return std::nullopt;
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps) return std::nullopt;
  const std::uint64_t lo = reinterpret_cast<std::uintptr_t>(begin), hi = lo + bytes;
  double huge = 0;
  bool seen = false;
  std::uint64_t start = 0, end = 0;  // the mapping whose fields are being read
  std::string line;
  while (std::getline(smaps, line)) {
    unsigned long long a = 0, b = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx ", &a, &b) == 2 && line.find(':') > line.find(' ')) {
      start = a;  // a mapping's header: "start-end perms offset dev inode path"
      end = b;
      continue;
    }
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "AnonHugePages: %llu kB", &kib) != 1) continue;
    const std::uint64_t overlap_lo = std::max(lo, start), overlap_hi = std::min(hi, end);
    if (overlap_hi <= overlap_lo || end <= start) continue;
    seen = true;
    const double overlap = static_cast<double>(overlap_hi - overlap_lo) / static_cast<double>(end - start);
    huge += static_cast<double>(kib) * 1024.0 * overlap;
  }
  if (!seen) return std::nullopt;
  return std::min(1.0, huge / static_cast<double>(bytes));
}

}  // namespace qwen3c
