#include "runtime/core/system_memory.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "runtime/core/error.h"

namespace qwen3c {

namespace {
std::string gib(std::uint64_t bytes) {
  std::ostringstream out;
  out.precision(1);
  out << std::fixed << static_cast<double>(bytes) / (1ull << 30) << " GiB";
  return out.str();
}
}  // namespace

std::uint64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::uint64_t available = 0, swap_free = 0;
  bool found = false;
  std::string key, unit;
  std::uint64_t kib = 0;
  while (meminfo >> key >> kib) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") {
      available = kib * 1024;
      found = true;
    } else if (key == "SwapFree:") {
      swap_free = kib * 1024;
    }
  }
  if (!found) {
    const long pages = ::sysconf(_SC_AVPHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    available = pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) : ~0ull;
  }
  return available + swap_free;
}

void require_memory(std::uint64_t bytes, const std::string& what, const std::string& advice) {
  const std::uint64_t available = available_memory_bytes();
  if (bytes <= available) return;
  throw Error(what + " needs " + gib(bytes) + ", more than the " + gib(available) + " of memory available" +
              (advice.empty() ? "" : "; " + advice));
}

}  // namespace qwen3c
