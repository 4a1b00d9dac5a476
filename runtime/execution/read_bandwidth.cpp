#include "runtime/execution/read_bandwidth.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

#include "runtime/core/error.h"
#include "runtime/execution/thread_pool.h"

namespace qwen3c {

namespace {

// 64 bytes of floats: one cache line a load, whatever vector width the build has.
typedef float Line __attribute__((vector_size(64), aligned(64)));

constexpr std::uint64_t kStreams = 4;             // sequential streams a thread interleaves (read_streams)
constexpr std::uint64_t kAheadLines = 1024 / 64;  // how far ahead each stream asks (readbw: 256 floats)

// Sums lines [0, lines) of four streams `stride` lines apart.
// Cloned per vector width: with 16-byte loads the probe reads 5-15% slower than readbw.c
// (measured on AMD Zen 5), and a limit set too low would flatter the steps.
__attribute__((target_clones("avx512f", "avx2", "default"))) float read_streams(const Line* p, std::uint64_t lines,
                                                                                 std::uint64_t stride) {
  // Four named sums, not an array: kept in registers, the loop is loads and adds only.
  Line s0 = {}, s1 = {}, s2 = {}, s3 = {};
  const Line *q0 = p, *q1 = p + stride, *q2 = p + 2 * stride, *q3 = p + 3 * stride;
  for (std::uint64_t i = 0; i < lines; i += 4) {
    __builtin_prefetch(q0 + i + kAheadLines);
    s0 += (q0[i] + q0[i + 1]) + (q0[i + 2] + q0[i + 3]);
    __builtin_prefetch(q1 + i + kAheadLines);
    s1 += (q1[i] + q1[i + 1]) + (q1[i + 2] + q1[i + 3]);
    __builtin_prefetch(q2 + i + kAheadLines);
    s2 += (q2[i] + q2[i + 1]) + (q2[i + 2] + q2[i + 3]);
    __builtin_prefetch(q3 + i + kAheadLines);
    s3 += (q3[i] + q3[i + 1]) + (q3[i + 2] + q3[i + 3]);
  }
  const Line t = (s0 + s1) + (s2 + s3);
  float sum = 0;
  for (int j = 0; j < 16; ++j) sum += t[j];
  return sum;
}

}  // namespace

ReadBandwidth::ReadBandwidth(int threads, std::uint64_t bytes)
    : pool_(std::make_unique<ThreadPool>(threads)), bytes_(bytes) {
  void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw Error("cannot map " + std::to_string(bytes_ >> 20) + " MiB to measure read bandwidth");
  ::madvise(p, bytes_, MADV_HUGEPAGE);
  data_ = static_cast<float*>(p);
  const std::uint64_t n = bytes_ / sizeof(float);
  pool_->run([&](int t) {  // each thread writes the part it reads (its own NUMA node's pages)
    const std::uint64_t share = n / pool_->size();
    for (std::uint64_t i = t * share; i < (t + 1) * share; ++i) data_[i] = static_cast<float>(i & 1023) * 1e-3f;
  });
}

ReadBandwidth::~ReadBandwidth() { ::munmap(data_, bytes_); }

double ReadBandwidth::measure(int passes) {
  const int threads = pool_->size();
  const std::uint64_t lines = bytes_ / sizeof(Line);
  // Each thread: a contiguous share, as 4 streams of whole 4-line steps.
  const std::uint64_t stream_lines = lines / threads / kStreams / 4 * 4;
  const std::uint64_t read = stream_lines * kStreams * threads * sizeof(Line);
  std::atomic<float> sink{0};
  double best = 0;
  for (int pass = 0; pass <= passes; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    pool_->run([&](int t) {
      const Line* base = reinterpret_cast<const Line*>(data_) + t * stream_lines * kStreams;
      sink.store(sink.load(std::memory_order_relaxed) + read_streams(base, stream_lines, stream_lines),
                 std::memory_order_relaxed);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (pass > 0) best = std::max(best, read / s);  // pass 0 warms the TLB and the threads
  }
  return best;
}

}  // namespace qwen3c
