#pragma once
// A loaded model and the sessions that run it.
//
//   auto model = qwen3c::Model::load("model.q3c");
//   qwen3c::Session session(model, /*max_context=*/4096);
//   std::vector<float> logits = session.forward(prompt_ids);   // last position
//   logits = session.forward({next_id});
//
// A session may hold several sequences ("slots", each with its own KV cache) and advance
// any of them together in one batched step, every weight read once for all:
//   qwen3c::Session batch(model, 4096, /*slots=*/8);
//   std::vector<float> last = batch.forward_batch({{0, prompt_a}, {1, {next_b}}});

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/artifact/artifact.h"
#include "runtime/execution/executor.h"
#include "runtime/artifact/weight_store.h"

namespace qwen3c {

class Model {
 public:
  // Throws qwen3c::Error naming the file and what is wrong with it.
  static std::shared_ptr<Model> load(const std::string& path, const ExecutorOptions& options = {});
  // The same for programs that embed the runtime and take errors as values:
  // kInvalidArgument for a damaged, foreign or mismatched artifact (the message says
  // which), kResourceExhausted when memory runs out.
  static absl::StatusOr<std::shared_ptr<Model>> open(const std::string& path, const ExecutorOptions& options = {});
  const ModelConfig& config() const { return artifact_.config(); }
  const Artifact& artifact() const { return artifact_; }
  const WeightStore& weights() const { return weights_; }
  Executor& executor() { return *executor_; }

 private:
  Model(Artifact artifact, WeightStore weights, const ExecutorOptions& options);
  Artifact artifact_;
  WeightStore weights_;
  std::unique_ptr<Executor> executor_;
};

// Throws naming the problem when the model's executor cannot keep its cache as `type`.
void require_kv_type(Model& model, KvType type);

class Session {
 public:
  static constexpr std::int64_t kMaxSlots = 256;
  // A long prompt runs in steps of at most this many tokens (when only the last token's
  // logits are wanted): activation memory stays a step's worth, whatever the prompt.
  static constexpr std::size_t kMaxPrefillStep = 512;

  // `slots` sequences of up to `max_context` positions of KV cache each (at most the
  // model's max_position_embeddings), stored as `kv_type` (runtime/core/kv_type.h; f32 is
  // exact, the command line's default is f16).
  Session(std::shared_ptr<Model> model, std::int64_t max_context, std::int64_t slots = 1,
          KvType kv_type = KvType::F32);

  // Appends `ids` to the context (of slot 0) and returns logits: [vocab] for the last
  // token, or [ids.size() * vocab] with `all_logits`, in steps of at most kMaxPrefillStep
  // tokens (and, with all_logits, at most the executor's max_logit_rows()). Throws, leaving
  // the session's positions unchanged, on an unknown id, an empty step, when the context
  // would overflow, or when a step fails.
  std::vector<float> forward(std::span<const std::int64_t> ids, bool all_logits = false);
  // The same step, returning only the most likely next token (the first of equal logits):
  // greedy decoding, computed on the device where the backend can.
  std::int64_t forward_greedy(std::span<const std::int64_t> ids);

  // Tokens to append to one sequence in a batched step.
  struct Chunk {
    std::int64_t slot = 0;
    std::span<const std::int64_t> ids;
    bool logits = true;  // whether the step returns the logits of its last token
  };
  // One step advancing each chunk's sequence (at most one chunk a slot) by its ids.
  // Returns the last token's logits of every chunk that asks for them, in chunk order:
  // [chunks asking * vocab]. Throws, changing nothing, as forward() does, and when more
  // chunks ask than the executor's max_logit_rows().
  std::vector<float> forward_batch(std::span<const Chunk> chunks);
  // The same into `logits` (resized to [chunks asking * vocab]): a caller that steps over
  // and over keeps one buffer (a step of eight's 4.9 MB, not allocated and zeroed each step).
  void forward_batch(std::span<const Chunk> chunks, std::vector<float>& logits);

  std::int64_t position(std::int64_t slot = 0) const;
  std::int64_t max_context() const { return max_context_; }
  KvType kv_type() const { return kv_type_; }
  std::int64_t slots() const { return static_cast<std::int64_t>(positions_.size()); }
  void reset() { std::fill(positions_.begin(), positions_.end(), 0); }
  // Forgets every position of the slot's sequence from `length` on.
  void truncate(std::int64_t length, std::int64_t slot = 0);
  // Grows the slot's sequence to `length` positions by copying the ones it holds
  // (Executor::replicate_cache: for benchmarks of long depths). Throws where the backend
  // cannot, or when the positions held do not suit its cache layout (CPU: whole blocks of 16).
  void replicate(std::int64_t length, std::int64_t slot = 0);
  const Model& model() const { return *model_; }

 private:
  void check_slot(std::int64_t slot) const;
  void check_ids(std::span<const std::int64_t> ids, std::int64_t slot) const;
  // A step's rows (what ForwardRequest points at), built a chunk at a time.
  struct Rows {
    std::vector<std::int64_t> ids, positions, slots;
    // Tokens [begin, end) of `ids`, appended to `slot` after the positions it holds.
    void add(std::int64_t slot, std::int64_t held, std::span<const std::int64_t> ids, std::size_t begin,
             std::size_t end);
  };
  // One step appending all of `ids` to slot 0 (ForwardRequest's logit_rows, logits and
  // greedy_token as given); advances the slot's position.
  void step(std::span<const std::int64_t> ids, std::int64_t logit_rows, float* logits,
            std::int64_t* greedy = nullptr);
  // Runs all of `ids` but its last kMaxPrefillStep (or fewer) tokens; returns those.
  std::span<const std::int64_t> prefill_all_but_last_step(std::span<const std::int64_t> ids);

  std::shared_ptr<Model> model_;
  std::int64_t max_context_;
  KvType kv_type_;
  std::unique_ptr<ExecutorState> state_;
  std::vector<std::int64_t> positions_;  // positions held, by slot
};

}  // namespace qwen3c
