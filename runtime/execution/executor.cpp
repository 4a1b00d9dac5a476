#include "runtime/execution/executor.h"

#include <map>

#include "runtime/core/error.h"

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

}  // namespace qwen3c
