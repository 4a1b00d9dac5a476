// Work handed out to a kernel's threads as they go, from a counter the call's threads share
// (the executor zeroes it before each step), for kernels whose threads' rates drift apart:
// the matrix products (memory-bound; another core's traffic, the VM's) and the decoding
// attention. With fixed shares one thread waits for the other at every kernel's barrier:
// measured about 5% of a decode step on AMD Zen 5. The result of an item does not depend on
// the thread that computes it.
#pragma once

#include "kernel_abi.h"

namespace q3k {

// Items [0, total) in pieces that shrink as the items run out: a quarter of a thread's even
// share of what is left. Callers claim a piece ahead of the one they run (so that its last
// reads can ask for the next piece's first), so at halves the first thread held 44% of the
// items before the second began, and if it then ran slower the other waited for it. In a
// step of eight Qwen3-4B sequences (2 threads, AMD Zen 5) a thread waited 110-550 us at the
// end of the output projection and 8-22 us at the end of each other product; simulated with
// one thread 10% slower, halves lose up to 14% of a product and quarters 0.1-5%.
struct Claims {
  int64_t* claimed;  // items taken so far in this call, zero before it
  int64_t total, unit, threads;  // pieces are whole multiples of `unit` items (one tile)
  bool next(Range& r) const {
    const int64_t left = total - __atomic_load_n(claimed, __ATOMIC_RELAXED);
    if (left <= 0) return false;
    int64_t size = left / (4 * threads) / unit * unit;
    if (size < unit) size = unit;
    const int64_t begin = __atomic_fetch_add(claimed, size, __ATOMIC_RELAXED);
    if (begin >= total) return false;
    r = {begin, begin + size < total ? begin + size : total};
    return true;
  }
};

}  // namespace q3k
