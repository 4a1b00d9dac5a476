#pragma once
// The runtime side of a backend: runs one forward step of an artifact's model. Backends
// register a factory under their name; an artifact names the backend that built it.

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/artifact/artifact.h"
#include "runtime/artifact/weight_store.h"
#include "runtime/core/kv_type.h"

namespace qwen3c {

// What a session keeps between steps for one backend: the KV cache of each of its
// sequences ("slots") and scratch memory.
class ExecutorState {
 public:
  virtual ~ExecutorState() = default;
};

// One forward step over rows of any of the state's sequences: row t is token ids[t] at
// position positions[t] of sequence slots[t]. A sequence's earlier positions must be in the
// cache already (or be rows of this step); rows of one sequence come in position order.
// Every weight is read once for all the rows.
// Bytes one position of one sequence takes in the KV cache: every layer, keys and values.
std::uint64_t kv_cache_bytes_per_position(const ModelConfig& config, KvType type);

// Executors that keep the KV cache in host memory call this first: a cache of `slots`
// sequences of `max_context` positions that cannot fit in the memory available is refused
// up front, its size named, rather than left for the kernel to kill the process once its
// pages are touched (the cache is mapped lazily: it grows with use).
void require_kv_cache_memory(const ModelConfig& config, std::int64_t max_context, std::int64_t slots,
                             KvType type);

struct ForwardRequest {
  std::span<const std::int64_t> ids;        // this step's tokens (all valid ids)
  std::span<const std::int64_t> positions;  // each row's position in its sequence
  std::span<const std::int64_t> slots;      // each row's sequence, 0..slots - 1
  std::int64_t logit_rows = 1;              // logits of the last logit_rows rows
  float* logits = nullptr;                  // [logit_rows, vocab]; may be null with greedy_token
  // Where an executor that computes_argmax() writes the last row's argmax (the lowest
  // index among equal logits; logit_rows 1).
  std::int64_t* greedy_token = nullptr;
};

class Executor {
 public:
  virtual ~Executor() = default;
  // `slots` sequences of up to `max_context` positions each, the cache stored as `kv_type`
  // (one of kv_types()).
  virtual std::unique_ptr<ExecutorState> new_state(std::int64_t max_context, std::int64_t slots,
                                                   KvType kv_type) = 0;
  // The KV cache types new_state() accepts (every executor: f32).
  virtual std::vector<KvType> kv_types() const { return {KvType::F32}; }
  virtual void forward(ExecutorState& state, const ForwardRequest& request) = 0;
  // How many threads a step may use (CPU executors; default: every core).
  virtual void set_threads(int threads) {}
  virtual int threads() const { return 1; }
  // Whether forward() fills ForwardRequest::greedy_token (on a GPU: one word read back
  // instead of a row of logits).
  virtual bool computes_argmax() const { return false; }
  // False when the executor copied the weights (to a device): the host copy is freed.
  virtual bool keeps_host_weights() const { return true; }
  // The most rows one step may return logits for (a device's buffers can span only so
  // many bytes: lavapipe's 128 MiB hold 220 rows of Qwen3's vocabulary); Session cuts
  // longer all-logits steps to fit. At least 1.
  virtual std::int64_t max_logit_rows() const { return std::numeric_limits<std::int64_t>::max(); }

  // Profiles (`bench --profile`, `--profile-calls`), by executors that can say.
  virtual bool can_profile() const { return false; }
  // Starts (clearing what was recorded) or stops recording.
  virtual void set_profiling(bool on) {}
  // What was recorded, call by call in the order a step makes them (each kernel call or
  // dispatch); empty when nothing was.
  struct CallTime {
    std::string kernel;
    std::vector<std::string> weights;  // the tensors the call reads whole, by name
    std::uint64_t weight_bytes = 0;    // their bytes, streamed once a step
    double seconds = 0;                // over every recorded step
    std::int64_t steps = 0;
  };
  virtual std::vector<CallTime> call_profile() const { return {}; }
  // The same summed by kernel (or shader): its time and its calls over the recorded steps.
  struct KernelTime {
    std::string name;
    double seconds = 0;
    std::int64_t calls = 0;
  };
  std::vector<KernelTime> profile() const;

  // Fills positions [held, length) of a sequence's cache with copies of its first `held`
  // positions, for `bench --depth-fill copy`: a decode step's speed at a
  // long depth depends on how many positions it reads, not on what they hold, and computing
  // 131,072 positions is hours of prefill on a CPU. Every page of the copied range is written
  // (untouched anonymous memory would read as the shared zero page, faster than real cache).
  // Only where can_replicate_cache() (`bench` says so up front otherwise); throws Error when
  // `held` does not suit the executor's cache layout.
  virtual bool can_replicate_cache() const { return false; }
  virtual void replicate_cache(ExecutorState& state, std::int64_t slot, std::int64_t held, std::int64_t length) {}
};

// How to run an artifact, where a backend has a choice.
struct ExecutorOptions {
  int device = -1;  // index in the backend's device list (`qwen3c devices`); -1: its best
};

// A device a backend can run on, for `qwen3c devices`.
struct DeviceInfo {
  std::string backend;
  int index = 0;
  std::string name;
  std::string kind;  // "discrete GPU", "CPU", ...
  std::uint64_t memory_bytes = 0;
  std::string details;
};

using ExecutorFactory =
    std::function<std::unique_ptr<Executor>(const Artifact&, WeightStore&, const ExecutorOptions&)>;
using DeviceLister = std::function<std::vector<DeviceInfo>()>;

// Registration, done once per backend by a static object in its folder.
struct ExecutorRegistration {
  ExecutorRegistration(const std::string& backend, ExecutorFactory factory, DeviceLister devices = {});
};

// The executor for the artifact's backend; throws naming the backend when none is built in.
std::unique_ptr<Executor> create_executor(const Artifact& artifact, WeightStore& weights,
                                          const ExecutorOptions& options = {});
std::vector<std::string> registered_executors();
// Every device of every backend that lists them; a backend that cannot list its devices
// (no driver) reports why in `errors` instead.
std::vector<DeviceInfo> list_devices(std::vector<std::string>* errors);

}  // namespace qwen3c
