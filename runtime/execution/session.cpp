#include "runtime/execution/session.h"

#include <algorithm>

#include "runtime/core/error.h"
#include "runtime/core/first_largest.h"
#include "runtime/core/kv_type_names.h"

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

Session::Session(std::shared_ptr<Model> model, std::int64_t max_context, std::int64_t slots, KvType kv_type)
    : model_(std::move(model)), max_context_(max_context), kv_type_(kv_type) {
  const std::int64_t limit = model_->config().max_position_embeddings;
  if (max_context < 1 || max_context > limit) {
    throw Error("context of " + std::to_string(max_context) + " positions is outside 1.." +
                std::to_string(limit) + " (the model's max_position_embeddings)");
  }
  if (slots < 1 || slots > kMaxSlots) {
    throw Error(std::to_string(slots) + " sequences asked for; a session holds 1.." + std::to_string(kMaxSlots));
  }
  require_kv_type(*model_, kv_type);
  state_ = model_->executor().new_state(max_context, slots, kv_type);
  positions_.assign(static_cast<std::size_t>(slots), 0);
}

void require_kv_type(Model& model, KvType type) {
  const std::vector<KvType> supported = model.executor().kv_types();
  if (std::find(supported.begin(), supported.end(), type) == supported.end()) {
    std::string list;
    for (KvType t : supported) list += (list.empty() ? "" : ", ") + kv_type_name(t);
    throw Error("the " + model.artifact().backend() + " backend cannot keep the KV cache as " + kv_type_name(type) +
                " (it offers " + list + ")");
  }
  const std::int64_t head_dim = model.config().head_dim;
  if (type == KvType::Q8_0 && head_dim % kKvBlock != 0) {
    throw Error("a q8_0 KV cache quantises blocks of 32 along each head; this model's heads have " +
                std::to_string(head_dim) + " elements (use f16 or bf16)");
  }
}

void Session::check_slot(std::int64_t slot) const {
  if (slot < 0 || slot >= slots()) {
    throw Error("sequence " + std::to_string(slot) + " does not exist (the session has " + std::to_string(slots()) +
                ")");
  }
}

void Session::check_ids(std::span<const std::int64_t> ids, std::int64_t slot) const {
  const std::int64_t vocab = model_->config().vocab_size;
  if (ids.empty()) throw Error("forward needs at least one token");
  for (std::int64_t id : ids) {
    if (id < 0 || id >= vocab) {
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                  std::to_string(vocab - 1) + ")");
    }
  }
  const std::int64_t position = positions_[static_cast<std::size_t>(slot)];
  const auto count = static_cast<std::int64_t>(ids.size());
  if (position + count > max_context_) {
    throw Error("context full: " + std::to_string(position) + " positions used + " + std::to_string(count) +
                " new tokens exceed the session's maximum of " + std::to_string(max_context_));
  }
}

std::int64_t Session::position(std::int64_t slot) const {
  check_slot(slot);
  return positions_[static_cast<std::size_t>(slot)];
}

void Session::Rows::add(std::int64_t slot, std::int64_t held, std::span<const std::int64_t> chunk, std::size_t begin,
                        std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    ids.push_back(chunk[i]);
    positions.push_back(held + static_cast<std::int64_t>(i));
    slots.push_back(slot);
  }
}

void Session::step(std::span<const std::int64_t> ids, std::int64_t logit_rows, float* logits, std::int64_t* greedy) {
  Rows rows;
  rows.add(0, positions_[0], ids, 0, ids.size());
  model_->executor().forward(*state_, {rows.ids, rows.positions, rows.slots, logit_rows, logits, greedy});
  positions_[0] += static_cast<std::int64_t>(ids.size());
}

std::span<const std::int64_t> Session::prefill_all_but_last_step(std::span<const std::int64_t> ids) {
  std::vector<float> unused(static_cast<std::size_t>(model_->config().vocab_size));
  for (; ids.size() > kMaxPrefillStep; ids = ids.subspan(kMaxPrefillStep)) {
    step(ids.first(kMaxPrefillStep), 1, unused.data());
  }
  return ids;
}

namespace {

// A call of several steps that throws part-way forgets the steps that ran with the one that
// failed: the sequence's position goes back to where the call found it.
class PositionRollback {
 public:
  explicit PositionRollback(std::int64_t& position) : position_(position), start_(position) {}
  PositionRollback(const PositionRollback&) = delete;
  PositionRollback& operator=(const PositionRollback&) = delete;
  ~PositionRollback() {
    if (!kept_) position_ = start_;
  }
  void keep() { kept_ = true; }

 private:
  std::int64_t& position_;
  const std::int64_t start_;
  bool kept_ = false;
};

}  // namespace

std::vector<float> Session::forward(std::span<const std::int64_t> ids, bool all_logits) {
  check_ids(ids, 0);
  PositionRollback rollback(positions_[0]);
  std::vector<float> logits;
  if (!all_logits) {
    ids = prefill_all_but_last_step(ids);
    logits.resize(static_cast<std::size_t>(model_->config().vocab_size));
    step(ids, 1, logits.data());
  } else {
    // Every row's logits, in steps that keep activations bounded and fit the executor's
    // logits buffer; how a prompt is cut into steps does not change what a row computes.
    const auto most = static_cast<std::size_t>(
        std::min<std::int64_t>(kMaxPrefillStep, std::max<std::int64_t>(model_->executor().max_logit_rows(), 1)));
    const auto vocab = static_cast<std::size_t>(model_->config().vocab_size);
    logits.resize(ids.size() * vocab);
    for (std::size_t done = 0; done < ids.size(); done += most) {
      const std::span<const std::int64_t> part = ids.subspan(done, std::min(most, ids.size() - done));
      step(part, static_cast<std::int64_t>(part.size()), logits.data() + done * vocab);
    }
  }
  rollback.keep();
  return logits;
}

std::int64_t Session::forward_greedy(std::span<const std::int64_t> ids) {
  if (!model_->executor().computes_argmax()) {
    std::vector<float> logits = forward(ids);
    return first_largest(logits);
  }
  check_ids(ids, 0);
  PositionRollback rollback(positions_[0]);
  std::int64_t token = -1;
  step(prefill_all_but_last_step(ids), 1, nullptr, &token);
  rollback.keep();
  return token;
}

std::vector<float> Session::forward_batch(std::span<const Chunk> chunks) {
  std::vector<float> logits;
  forward_batch(chunks, logits);
  return logits;
}

void Session::forward_batch(std::span<const Chunk> chunks, std::vector<float>& logits) {
  if (chunks.empty()) throw Error("a batched step needs at least one sequence");
  std::vector<bool> seen(positions_.size(), false);
  for (const Chunk& c : chunks) {
    check_slot(c.slot);
    if (seen[static_cast<std::size_t>(c.slot)]) {
      throw Error("sequence " + std::to_string(c.slot) + " appears twice in one batched step");
    }
    seen[static_cast<std::size_t>(c.slot)] = true;
    check_ids(c.ids, c.slot);
  }
  // Rows whose logits are wanted go last (the executor computes the last logit_rows rows'
  // logits); the order of rows does not change what any row computes.
  Rows rows;
  auto add = [&](const Chunk& c, std::size_t begin, std::size_t end) {
    rows.add(c.slot, positions_[static_cast<std::size_t>(c.slot)], c.ids, begin, end);
  };
  std::int64_t logit_rows = 0;
  for (const Chunk& c : chunks) add(c, 0, c.logits ? c.ids.size() - 1 : c.ids.size());
  for (const Chunk& c : chunks) {
    if (!c.logits) continue;
    add(c, c.ids.size() - 1, c.ids.size());
    ++logit_rows;
  }
  if (logit_rows > model_->executor().max_logit_rows()) {
    throw Error("a step of " + std::to_string(logit_rows) + " sequences wanting logits: the " +
                model_->artifact().backend() + " backend returns at most " +
                std::to_string(model_->executor().max_logit_rows()) + " rows of logits a step here");
  }
  const auto vocab = static_cast<std::size_t>(model_->config().vocab_size);
  // Every step computes at least one row's logits (the last row's), wanted or not.
  const std::int64_t computed = std::max<std::int64_t>(1, logit_rows);
  logits.resize(static_cast<std::size_t>(computed) * vocab);
  model_->executor().forward(*state_, {rows.ids, rows.positions, rows.slots, computed, logits.data()});
  logits.resize(static_cast<std::size_t>(logit_rows) * vocab);
  for (const Chunk& c : chunks) positions_[static_cast<std::size_t>(c.slot)] += static_cast<std::int64_t>(c.ids.size());
}

void Session::truncate(std::int64_t length, std::int64_t slot) {
  check_slot(slot);
  std::int64_t& position = positions_[static_cast<std::size_t>(slot)];
  if (length < 0 || length > position) {
    throw Error("cannot truncate a context of " + std::to_string(position) + " positions to " +
                std::to_string(length));
  }
  position = length;
}

void Session::replicate(std::int64_t length, std::int64_t slot) {
  check_slot(slot);
  std::int64_t& position = positions_[static_cast<std::size_t>(slot)];
  if (!model_->executor().can_replicate_cache()) {
    throw Error("the " + model_->artifact().backend() + " backend cannot copy its KV cache; fill the depth by computing it");
  }
  if (position <= 0 || length < position || length > max_context_) {
    throw Error("cannot copy a cache of " + std::to_string(position) + " positions to " + std::to_string(length) +
                " in a context of " + std::to_string(max_context_));
  }
  model_->executor().replicate_cache(*state_, slot, position, length);
  position = length;
}

}  // namespace qwen3c
