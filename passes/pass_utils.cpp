#include "passes/pass_utils.h"

#include <set>

namespace qwen3c {

void erase_unused_weights(mlir::ModuleOp module) {
  std::set<std::string> used;
  module.walk([&](q3::GetWeightOp get) { used.insert(get.getName().str()); });
  std::vector<q3::WeightOp> dead;
  for (auto weight : module.getOps<q3::WeightOp>()) {
    if (!used.count(weight.getSymName().str())) dead.push_back(weight);
  }
  for (auto weight : dead) weight.erase();
}

void erase_if_dead(std::initializer_list<mlir::Operation*> ops) {
  for (mlir::Operation* op : ops) {
    if (op != nullptr && op->use_empty()) op->erase();
  }
}

}  // namespace qwen3c
