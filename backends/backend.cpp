#include "backends/backend.h"

#include <map>

#include "runtime/core/error.h"

namespace qwen3c {

namespace {
std::map<std::string, std::function<std::unique_ptr<Backend>()>>& registry() {
  static std::map<std::string, std::function<std::unique_ptr<Backend>()>> backends;
  return backends;
}
}  // namespace

BackendRegistration::BackendRegistration(const std::string& name,
                                         std::function<std::unique_ptr<Backend>()> factory) {
  registry()[name] = std::move(factory);
}

std::unique_ptr<Backend> create_backend(const std::string& name) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (const auto& n : registered_backends()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown target '" + name + "' (available: " + known + ")");
  }
  return it->second();
}

std::vector<std::string> registered_backends() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

}  // namespace qwen3c
