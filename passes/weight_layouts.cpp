#include "passes/weight_layouts.h"

#include <map>

namespace qwen3c {

namespace {
std::map<std::string, WeightLayoutProvider>& providers() {
  static std::map<std::string, WeightLayoutProvider> map;
  return map;
}
}  // namespace

WeightLayoutRegistration::WeightLayoutRegistration(const std::string& target, WeightLayoutProvider provider) {
  providers()[target] = std::move(provider);
}

const WeightLayoutProvider* weight_layout_provider(const std::string& target) {
  auto it = providers().find(target);
  return it == providers().end() ? nullptr : &it->second;
}

}  // namespace qwen3c
