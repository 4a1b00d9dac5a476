#pragma once
// A loaded model and the sessions that run it.
//
//   auto model = qwen3c::Model::load("model.q3c");
//   qwen3c::Session session(model, /*max_context=*/4096);
//   std::vector<float> logits = session.forward(prompt_ids);   // last position
//   logits = session.forward({next_id});

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

class Session {
 public:
  // `max_context` positions of KV cache (at most the model's max_position_embeddings).
  Session(std::shared_ptr<Model> model, std::int64_t max_context);

  // Appends `ids` to the context and returns logits: [vocab] for the last token, or
  // [ids.size() * vocab] with `all_logits`. Throws (leaving the session unchanged) on an
  // unknown id, an empty step, or when the context would overflow.
  std::vector<float> forward(std::span<const std::int64_t> ids, bool all_logits = false);
  // The same step, returning only the most likely next token (the first of equal logits):
  // greedy decoding, computed on the device where the backend can.
  std::int64_t forward_greedy(std::span<const std::int64_t> ids);

  std::int64_t position() const { return position_; }
  std::int64_t max_context() const { return max_context_; }
  void reset() { position_ = 0; }
  // Forgets every position from `length` on.
  void truncate(std::int64_t length);
  const Model& model() const { return *model_; }

 private:
  std::vector<std::int64_t> check_step(std::span<const std::int64_t> ids) const;  // -> positions

  std::shared_ptr<Model> model_;
  std::int64_t max_context_;
  std::unique_ptr<ExecutorState> state_;
  std::int64_t position_ = 0;
};

}  // namespace qwen3c
