#include "runtime/generation/slot_scheduler.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "runtime/core/error.h"
#include "runtime/generation/reply.h"

namespace qwen3c {

namespace {
using Clock = std::chrono::steady_clock;
// Prompt tokens a slot feeds in one turn: long prompts share the worker with the others.
constexpr std::size_t kPrefillChunk = 64;
}  // namespace

void GenerationJob::wait() {
  std::unique_lock<std::mutex> lock(mutex);
  finished.wait(lock, [&] { return done; });
}

struct SlotScheduler::Slot {
  explicit Slot(std::int64_t index) : index(index) {}

  std::int64_t index;                // its sequence in the session
  std::vector<std::int64_t> cached;  // the tokens in this slot's KV cache, in order
  std::shared_ptr<GenerationJob> job;
  std::vector<std::int64_t> pending;  // tokens to feed before the next token is sampled
  std::vector<std::int64_t> history;  // prompt and generated tokens, for the penalties
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<Reply> reply;
  Clock::time_point submitted;
};

SlotScheduler::SlotScheduler(std::shared_ptr<Model> model, const Tokenizer& tokenizer, int slots,
                             std::int64_t context, int max_queue, KvType kv_type)
    : model_(std::move(model)),
      tokenizer_(tokenizer),
      context_(context),
      max_queue_(max_queue),
      session_(model_, context, slots < 1 ? 1 : slots, kv_type) {
  if (slots < 1) throw Error("a scheduler needs at least one slot");
  end_tokens_ = end_of_turn_tokens(tokenizer_, model_->config());
  undecodable_ = undecodable_ids(tokenizer_, model_->config());
  for (int i = 0; i < slots; ++i) slots_.push_back(std::make_unique<Slot>(i));
  stats_.slots = slots;
  worker_ = std::thread([this] { run(); });
}

SlotScheduler::~SlotScheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
  for (auto& slot : slots_) {
    if (slot->job) finish(*slot, GenerationJob::Finish::Cancelled);
  }
  for (auto& job : queue_) {
    std::lock_guard<std::mutex> lock(job->mutex);
    job->finish = GenerationJob::Finish::Cancelled;
    job->done = true;
    job->finished.notify_all();
  }
}

bool SlotScheduler::submit(std::shared_ptr<GenerationJob> job) {
  if (job->prompt.empty()) throw Error("the prompt is empty");
  if (static_cast<std::int64_t>(job->prompt.size()) >= context_) {
    throw Error("the prompt is " + std::to_string(job->prompt.size()) + " tokens; a slot holds " +
                std::to_string(context_) + " positions, and at least one must stay free for the reply");
  }
  for (std::int64_t id : job->prompt) {
    if (id < 0 || id >= model_->config().vocab_size) throw Error("token id " + std::to_string(id) + " is unknown");
  }
  Sampler check(job->options.sampling);  // throws on out-of-range options, before queueing
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Free slots take requests at once; beyond them, at most max_queue_ wait.
    const std::int64_t free_slots = stats_.slots - stats_.busy_slots;
    if (static_cast<std::int64_t>(queue_.size()) >= max_queue_ + free_slots) return false;
    job->prompt_tokens = static_cast<std::int64_t>(job->prompt.size());
    queue_.push_back(std::move(job));
    stats_.queued = static_cast<std::int64_t>(queue_.size());
  }
  wake_.notify_all();
  return true;
}

SchedulerStats SlotScheduler::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void SlotScheduler::run() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      auto busy = [&] {
        return std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->job != nullptr; });
      };
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || busy(); });
      if (stopping_) return;
      for (auto& slot : slots_) {
        if (queue_.empty()) break;
        if (slot->job) continue;
        std::shared_ptr<GenerationJob> job = std::move(queue_.front());
        queue_.pop_front();
        stats_.queued = static_cast<std::int64_t>(queue_.size());
        ++stats_.busy_slots;
        lock.unlock();
        admit(std::move(job));
        lock.lock();
      }
    }
    const auto start = Clock::now();
    step();
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.busy_seconds += std::chrono::duration<double>(Clock::now() - start).count();
  }
}

// Puts `job` in the free slot whose cache shares the longest prefix with its prompt.
void SlotScheduler::admit(std::shared_ptr<GenerationJob> job) {
  Slot* best = nullptr;
  std::size_t best_common = 0;
  for (auto& slot : slots_) {
    if (slot->job) continue;
    std::size_t common = 0;
    const std::size_t limit = std::min(slot->cached.size(), job->prompt.size() - 1);  // one token is fed
    while (common < limit && slot->cached[common] == job->prompt[common]) ++common;
    if (best == nullptr || common > best_common) {
      best = slot.get();
      best_common = common;
    }
  }
  Slot& s = *best;
  session_.truncate(static_cast<std::int64_t>(best_common), s.index);
  s.cached.resize(best_common);
  s.pending.assign(job->prompt.begin() + static_cast<std::ptrdiff_t>(best_common), job->prompt.end());
  s.history = job->prompt;
  s.sampler = std::make_unique<Sampler>(job->options.sampling);
  s.reply = std::make_unique<Reply>(tokenizer_, job->options.stop_strings, job->options.max_tokens, end_tokens_);
  s.submitted = Clock::now();
  job->reused_tokens = static_cast<std::int64_t>(best_common);
  s.job = std::move(job);
}

// One batched forward step: every busy slot's next token, or its prompt's next chunk.
// A step returns at most the executor's max_logit_rows() rows of logits (a device's
// binding limit: 220 rows of Qwen3's vocabulary on lavapipe): slots past that wait, and
// the next step starts with the first of them, so that each waits at most one step a turn.
void SlotScheduler::step() {
  std::vector<Slot*> stepping;
  std::vector<Session::Chunk> chunks;
  const std::int64_t most_logits = model_->executor().max_logit_rows();
  std::int64_t logit_rows = 0;
  std::optional<std::size_t> first_waiting;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const std::size_t at = (first_slot_ + i) % slots_.size();
    Slot& s = *slots_[at];
    if (!s.job) continue;
    if (s.job->cancelled.load()) {
      finish(s, GenerationJob::Finish::Cancelled);
      continue;
    }
    const std::size_t n = std::min(s.pending.size(), kPrefillChunk);
    const bool wants_logits = n == s.pending.size();
    if (wants_logits && logit_rows == most_logits) {
      if (!first_waiting) first_waiting = at;
      continue;
    }
    logit_rows += wants_logits;
    chunks.push_back({s.index, std::span<const std::int64_t>(s.pending.data(), n), wants_logits});
    stepping.push_back(&s);
  }
  if (first_waiting) first_slot_ = *first_waiting;
  if (chunks.empty()) return;
  try {
    session_.forward_batch(chunks, logits_);
  } catch (const Error& e) {
    for (Slot* s : stepping) finish(*s, GenerationJob::Finish::Failed, e.what());
    return;
  }
  const auto vocab = static_cast<std::size_t>(model_->config().vocab_size);
  std::size_t row = 0;
  for (std::size_t i = 0; i < stepping.size(); ++i) {
    Slot& s = *stepping[i];
    const auto n = static_cast<std::ptrdiff_t>(chunks[i].ids.size());
    s.cached.insert(s.cached.end(), s.pending.begin(), s.pending.begin() + n);
    s.pending.erase(s.pending.begin(), s.pending.begin() + n);
    if (!chunks[i].logits) continue;  // more of the prompt next turn
    advance(s, std::span<float>(logits_.data() + row * vocab, vocab));  // its row, masked in place
    ++row;
  }
}

void SlotScheduler::advance(Slot& s, std::span<float> logits) {
  GenerationJob& job = *s.job;
  auto emit = [&](const std::string& text) {
    if (text.empty()) return true;
    job.text += text;
    return !job.on_text || job.on_text(text);
  };
  try {
    mask_ids(logits, undecodable_);
    const std::int64_t next = s.sampler->sample(logits, s.history);
    if (job.completion_tokens == 0) {
      job.first_token_seconds = std::chrono::duration<double>(Clock::now() - s.submitted).count();
    }
    std::string text;
    Reply::End end = s.reply->take(next, text);
    if (end != Reply::End::EndOfTurn) {
      job.tokens.push_back(next);
      ++job.completion_tokens;
    }
    if (end == Reply::End::None && session_.position(s.index) >= context_) {
      text += s.reply->flush();
      end = Reply::End::MaxTokens;  // a full context ends the reply as its length does
    }
    if (!emit(text)) return finish(s, GenerationJob::Finish::Cancelled);
    if (end == Reply::End::EndOfTurn || end == Reply::End::StopString) return finish(s, GenerationJob::Finish::Stop);
    if (end == Reply::End::MaxTokens) return finish(s, GenerationJob::Finish::Length);
    s.history.push_back(next);
    s.pending.assign(1, next);
  } catch (const Error& e) {
    finish(s, GenerationJob::Finish::Failed, e.what());
  }
}

void SlotScheduler::finish(Slot& s, GenerationJob::Finish how, const std::string& error) {
  std::shared_ptr<GenerationJob> job = std::move(s.job);
  s.job = nullptr;
  s.pending.clear();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --stats_.busy_slots;
    stats_.prompt_tokens += job->prompt_tokens;
    stats_.reused_tokens += job->reused_tokens;
    stats_.generated_tokens += job->completion_tokens;
    if (how == GenerationJob::Finish::Cancelled) ++stats_.cancelled;
    ++stats_.finished;
  }
  std::lock_guard<std::mutex> lock(job->mutex);
  job->finish = how;
  job->error = error;
  job->done = true;
  job->finished.notify_all();
}

}  // namespace qwen3c
