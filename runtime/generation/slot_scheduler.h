#pragma once
// Serves many generation requests over one model: a fixed number of slots (sequences of
// one Session, each with its own KV cache), and a bounded queue in front of them. One
// worker thread runs every step; requests come from any thread and stream their text back
// through callbacks.
//
// Each turn of the worker is one batched forward step over every busy slot: a token for
// each decoding sequence, and a chunk for each prompt still being prefilled (so a long
// prompt never stalls the other slots for its whole length). Each weight is read once per
// step for all of them. A request whose prompt starts with tokens a free slot already
// holds (the next turn of a chat) reuses them instead of prefilling them again.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "runtime/execution/session.h"
#include "runtime/generation/generator.h"
#include "runtime/text/tokenizer.h"

namespace qwen3c {

// One request's life in the scheduler. The caller fills the inputs, keeps a shared_ptr,
// and waits for `done` (or streams through on_text).
struct GenerationJob {
  enum class Finish { Stop, Length, Cancelled, Failed };

  // Inputs.
  std::vector<std::int64_t> prompt;
  GenerationOptions options;
  // Each piece of text as it becomes final. Returning false cancels the request (a client
  // that went away): its slot is freed at once. Called on the worker thread.
  std::function<bool(std::string_view)> on_text;

  // Outputs, valid once `done` is set.
  Finish finish = Finish::Stop;
  std::string error;  // with Failed
  std::string text;
  std::vector<std::int64_t> tokens;  // generated (an end-of-turn token excluded)
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t reused_tokens = 0;  // prompt tokens found already in the slot's cache
  double queued_seconds = 0, first_token_seconds = 0;

  void cancel() { cancelled.store(true); }
  // Blocks until the job is finished.
  void wait();

  // Scheduler-internal state (guarded by the scheduler).
  std::atomic<bool> cancelled{false};
  bool done = false;
  std::mutex mutex;
  std::condition_variable finished;
};

struct SchedulerStats {
  std::int64_t slots = 0, busy_slots = 0, queued = 0;
  std::int64_t prompt_tokens = 0, generated_tokens = 0, reused_tokens = 0;
  std::int64_t finished = 0, cancelled = 0;
  double busy_seconds = 0;  // time the worker spent stepping
};

class SlotScheduler {
 public:
  // `slots` sequences of `context` positions each, cached as `kv_type`; at most
  // `max_queue` requests wait.
  SlotScheduler(std::shared_ptr<Model> model, const Tokenizer& tokenizer, int slots, std::int64_t context,
                int max_queue, KvType kv_type = KvType::F32);
  ~SlotScheduler();
  SlotScheduler(const SlotScheduler&) = delete;
  SlotScheduler& operator=(const SlotScheduler&) = delete;

  // Queues `job`; false (and the job untouched) when the queue is full. Throws
  // qwen3c::Error when the prompt cannot fit a slot's context.
  bool submit(std::shared_ptr<GenerationJob> job);
  SchedulerStats stats() const;
  std::int64_t context() const { return context_; }

 private:
  struct Slot;
  void run();
  void admit(std::shared_ptr<GenerationJob> job);
  void step();
  // After a step that fed the slot's last pending tokens: samples and emits the next token
  // from the last token's `logits` (masked in place).
  void advance(Slot& slot, std::span<float> logits);
  void finish(Slot& slot, GenerationJob::Finish how, const std::string& error = {});

  std::shared_ptr<Model> model_;
  const Tokenizer& tokenizer_;
  std::int64_t context_;
  int max_queue_;
  std::vector<std::int64_t> end_tokens_;
  std::vector<std::int64_t> undecodable_;
  Session session_;  // one sequence per slot
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<float> logits_;  // each step's rows of logits (one buffer, kept)
  // Where step() starts looking: the first slot a full step left waiting (see step()).
  std::size_t first_slot_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<GenerationJob>> queue_;
  SchedulerStats stats_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace qwen3c
