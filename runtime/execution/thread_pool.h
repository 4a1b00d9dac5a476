#pragma once
// Threads that run one function on every thread at once (SPMD), for executors whose kernels
// split their own work; and the spin barrier those kernels meet at between steps.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qwen3c {

// All `count` threads wait until the last one arrives. Spins (then yields): the waits are
// short, and waking sleeping threads per kernel would cost more than the kernels.
class SpinBarrier {
 public:
  explicit SpinBarrier(int count) : count_(count) {}
  void wait();
  // A C callable form for generated code: `context` is the SpinBarrier.
  static void wait_on(void* context) { static_cast<SpinBarrier*>(context)->wait(); }

 private:
  const int count_;
  std::atomic<int> arrived_{0};
  std::atomic<int> generation_{0};
};

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // the calling thread is thread 0; threads - 1 workers
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }
  // Runs job(i) on threads i = 0..size()-1 at once; returns when all are done. Workers sleep
  // between jobs.
  void run(const std::function<void(int)>& job);

 private:
  void worker(int index);

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  const std::function<void(int)>* job_ = nullptr;
  std::uint64_t job_generation_ = 0;
  std::atomic<int> finished_{0};
  bool stopping_ = false;
};

}  // namespace qwen3c
