#include "runtime/execution/executor.h"

#include "runtime/core/kv_type_names.h"

#include <map>

#include "runtime/core/error.h"
#include "runtime/core/system_memory.h"

namespace qwen3c {

namespace {
struct Registered {
  ExecutorFactory factory;
  DeviceLister devices;
};
std::map<std::string, Registered>& registry() {
  static std::map<std::string, Registered> backends;
  return backends;
}
}  // namespace

std::vector<Executor::KernelTime> Executor::profile() const {
  std::map<std::string, KernelTime> by_name;
  for (const CallTime& call : call_profile()) {
    KernelTime& k = by_name[call.kernel];
    k.name = call.kernel;
    k.seconds += call.seconds;
    k.calls += call.steps;  // the call ran once a recorded step
  }
  std::vector<KernelTime> out;
  for (auto& [name, k] : by_name) out.push_back(std::move(k));
  return out;
}

ExecutorRegistration::ExecutorRegistration(const std::string& backend, ExecutorFactory factory,
                                           DeviceLister devices) {
  registry()[backend] = {std::move(factory), std::move(devices)};
}

std::unique_ptr<Executor> create_executor(const Artifact& artifact, WeightStore& weights,
                                          const ExecutorOptions& options) {
  auto it = registry().find(artifact.backend());
  if (it == registry().end()) {
    std::string known;
    for (const auto& name : registered_executors()) known += (known.empty() ? "" : ", ") + name;
    throw Error(artifact.path() + ": built for backend '" + artifact.backend() +
                "', which this runtime does not have (it has: " + known + ")");
  }
  return it->second.factory(artifact, weights, options);
}

std::vector<std::string> registered_executors() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : registry()) names.push_back(name);
  return names;
}

std::vector<DeviceInfo> list_devices(std::vector<std::string>* errors) {
  std::vector<DeviceInfo> all;
  for (const auto& [name, entry] : registry()) {
    if (!entry.devices) continue;
    try {
      for (DeviceInfo& d : entry.devices()) all.push_back(std::move(d));
    } catch (const std::exception& e) {
      if (errors != nullptr) errors->push_back(name + ": " + e.what());
    }
  }
  return all;
}

std::uint64_t kv_cache_bytes_per_position(const ModelConfig& config, KvType type) {
  return static_cast<std::uint64_t>(config.num_layers * 2 * kv_row_bytes(type, config.kv_dim()));
}

void require_kv_cache_memory(const ModelConfig& config, std::int64_t max_context, std::int64_t slots,
                             KvType type) {
  const std::uint64_t per_position = kv_cache_bytes_per_position(config, type);
  const std::uint64_t bytes = per_position * static_cast<std::uint64_t>(max_context) * static_cast<std::uint64_t>(slots);
  require_memory(bytes,
                 "a KV cache of " + std::to_string(slots) + (slots == 1 ? " sequence" : " sequences") + " x " +
                     std::to_string(max_context) + " positions (" + std::to_string(per_position) +
                     " bytes a position: " + std::to_string(config.num_layers) + " layers, keys and values, " +
                     kv_type_name(type) + ")",
                 "lower the context, the number of parallel sequences, or the cache type (--kv-type)");
}

}  // namespace qwen3c
