#pragma once
// How much memory this machine can still give a process: for refusing, with the sizes
// named, an allocation that could only end with the kernel killing the process.

#include <cstdint>
#include <string>

namespace qwen3c {

// MemAvailable plus free swap from /proc/meminfo (physical pages where that cannot be read).
std::uint64_t available_memory_bytes();

// Throws qwen3c::Error "`what` needs N, more than the M of memory available" (then `advice`)
// when `bytes` exceed available_memory_bytes().
void require_memory(std::uint64_t bytes, const std::string& what, const std::string& advice);

}  // namespace qwen3c
