#pragma once
// The runtime side of a backend: runs one forward step of an artifact's model. Backends
// register a factory under their name; an artifact names the backend that built it.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/artifact.h"
#include "runtime/weight_store.h"

namespace qwen3c {

// What a session keeps between steps for one backend: its KV cache and scratch memory.
class ExecutorState {
 public:
  virtual ~ExecutorState() = default;
};

struct ForwardRequest {
  std::span<const std::int64_t> ids;        // this step's tokens (all valid ids)
  std::span<const std::int64_t> positions;  // past, past + 1, ...
  std::int64_t past = 0;                    // tokens already in the KV cache
  bool all_logits = false;                  // logits of every token, or only the last
  float* logits = nullptr;                  // [ids.size() or 1, vocab]
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::unique_ptr<ExecutorState> new_state(std::int64_t max_context) = 0;
  virtual void forward(ExecutorState& state, const ForwardRequest& request) = 0;
  // How many threads a step may use (CPU executors; default: every core).
  virtual void set_threads(int threads) {}
  virtual int threads() const { return 1; }
};

using ExecutorFactory =
    std::function<std::unique_ptr<Executor>(const Artifact&, const WeightStore&)>;

// Registration, done once per backend by a static object in its folder.
struct ExecutorRegistration {
  ExecutorRegistration(const std::string& backend, ExecutorFactory factory);
};

// The executor for the artifact's backend; throws naming the backend when none is built in.
std::unique_ptr<Executor> create_executor(const Artifact& artifact, const WeightStore& weights);
std::vector<std::string> registered_executors();

}  // namespace qwen3c
