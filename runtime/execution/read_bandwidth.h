#pragma once
// How fast `threads` threads read memory: the physical limit of a decode step, which reads
// every weight once. The same method as ../shared/bench/readbw.c's best variant (each thread
// walks its share as 4 interleaved sequential streams, asking 1 KiB ahead, huge pages), so
// `qwen3c bench --bandwidth` can put a step's bytes over a bandwidth measured moments before
// and after it, in the same process: on a VM whose bandwidth moves within minutes, a figure
// from another run is not the limit this run had.

#include <cstdint>
#include <memory>

namespace qwen3c {

class ThreadPool;

class ReadBandwidth {
 public:
  // A buffer of `bytes` (several times the last-level cache), written once so every page is
  // real memory (an untouched anonymous page reads as the shared zero page).
  ReadBandwidth(int threads, std::uint64_t bytes = std::uint64_t{1} << 30);
  ~ReadBandwidth();
  ReadBandwidth(const ReadBandwidth&) = delete;
  ReadBandwidth& operator=(const ReadBandwidth&) = delete;

  // Bytes a second: the best of `passes` reads of the whole buffer (after one warm-up pass).
  double measure(int passes = 4);

 private:
  std::unique_ptr<ThreadPool> pool_;
  float* data_ = nullptr;
  std::uint64_t bytes_;
};

}  // namespace qwen3c
