#include "runtime/execution/session.h"

#include <algorithm>

#include "runtime/core/error.h"

namespace qwen3c {

Model::Model(Artifact artifact, WeightStore weights, const ExecutorOptions& options)
    : artifact_(std::move(artifact)), weights_(std::move(weights)) {
  executor_ = create_executor(artifact_, weights_, options);
  if (!executor_->keeps_host_weights()) weights_.release();
}

std::shared_ptr<Model> Model::load(const std::string& path, const ExecutorOptions& options) {
  Artifact artifact = Artifact::open(path);
  WeightStore weights = WeightStore::load(artifact);
  return std::shared_ptr<Model>(new Model(std::move(artifact), std::move(weights), options));
}

absl::StatusOr<std::shared_ptr<Model>> Model::open(const std::string& path, const ExecutorOptions& options) {
  try {
    return load(path, options);
  } catch (const Error& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(path + ": out of memory while loading");
  }
}

Session::Session(std::shared_ptr<Model> model, std::int64_t max_context)
    : model_(std::move(model)), max_context_(max_context) {
  const std::int64_t limit = model_->config().max_position_embeddings;
  if (max_context < 1 || max_context > limit) {
    throw Error("context of " + std::to_string(max_context) + " positions is outside 1.." +
                std::to_string(limit) + " (the model's max_position_embeddings)");
  }
  state_ = model_->executor().new_state(max_context);
}

std::vector<std::int64_t> Session::check_step(std::span<const std::int64_t> ids) const {
  const std::int64_t vocab = model_->config().vocab_size;
  if (ids.empty()) throw Error("forward needs at least one token");
  for (std::int64_t id : ids) {
    if (id < 0 || id >= vocab) {
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                  std::to_string(vocab - 1) + ")");
    }
  }
  const auto count = static_cast<std::int64_t>(ids.size());
  if (position_ + count > max_context_) {
    throw Error("context full: " + std::to_string(position_) + " positions used + " +
                std::to_string(count) + " new tokens exceed the session's maximum of " +
                std::to_string(max_context_));
  }
  std::vector<std::int64_t> positions(ids.size());
  for (std::int64_t i = 0; i < count; ++i) positions[i] = position_ + i;
  return positions;
}

std::vector<float> Session::forward(std::span<const std::int64_t> ids, bool all_logits) {
  const std::vector<std::int64_t> positions = check_step(ids);
  const auto count = static_cast<std::int64_t>(ids.size());
  std::vector<float> logits(static_cast<std::size_t>((all_logits ? count : 1) * model_->config().vocab_size));
  ForwardRequest request{ids, positions, position_, all_logits, logits.data()};
  model_->executor().forward(*state_, request);
  position_ += count;
  return logits;
}

std::int64_t Session::forward_greedy(std::span<const std::int64_t> ids) {
  if (!model_->executor().computes_argmax()) {
    std::vector<float> logits = forward(ids);
    return std::max_element(logits.begin(), logits.end()) - logits.begin();
  }
  const std::vector<std::int64_t> positions = check_step(ids);
  std::int64_t token = -1;
  ForwardRequest request{ids, positions, position_, false, nullptr, &token};
  model_->executor().forward(*state_, request);
  position_ += static_cast<std::int64_t>(ids.size());
  return token;
}

void Session::truncate(std::int64_t length) {
  if (length < 0 || length > position_) {
    throw Error("cannot truncate a context of " + std::to_string(position_) + " positions to " +
                std::to_string(length));
  }
  position_ = length;
}

}  // namespace qwen3c
