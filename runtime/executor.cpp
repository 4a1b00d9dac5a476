#include "runtime/executor.h"

#include <map>

#include "runtime/error.h"

namespace qwen3c {

namespace {
std::map<std::string, ExecutorFactory>& registry() {
  static std::map<std::string, ExecutorFactory> factories;
  return factories;
}
}  // namespace

ExecutorRegistration::ExecutorRegistration(const std::string& backend, ExecutorFactory factory) {
  registry()[backend] = std::move(factory);
}

std::unique_ptr<Executor> create_executor(const Artifact& artifact, const WeightStore& weights) {
  auto it = registry().find(artifact.backend());
  if (it == registry().end()) {
    std::string known;
    for (const auto& name : registered_executors()) known += (known.empty() ? "" : ", ") + name;
    throw Error(artifact.path() + ": built for backend '" + artifact.backend() +
                "', which this runtime does not have (it has: " + known + ")");
  }
  return it->second(artifact, weights);
}

std::vector<std::string> registered_executors() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

}  // namespace qwen3c
