#pragma once
// How much of a range of this process's memory the kernel backs with transparent huge
// pages. Decode streams every weight once a token: with 4 KiB pages that is a TLB miss
// every 4 KiB, and on a VM a nested page walk, so a benchmark says what it ran on.

#include <cstdint>
#include <optional>

namespace qwen3c {

// The share (0..1) of [begin, begin + bytes) in huge pages, from /proc/self/smaps; nullopt
// where that cannot be read or the range is empty. A mapping that only partly overlaps the
// range counts its huge pages in proportion to the overlap.
std::optional<double> huge_page_share(const void* begin, std::uint64_t bytes);

}  // namespace qwen3c
