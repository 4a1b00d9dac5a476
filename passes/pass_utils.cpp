#include "passes/pass_utils.h"

#include <set>

#include "llvm/ADT/SetVector.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

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

mlir::LogicalResult apply_patterns(mlir::ModuleOp module, mlir::RewritePatternSet&& patterns) {
  mlir::GreedyRewriteConfig config;
  config.maxIterations = mlir::GreedyRewriteConfig::kNoLimit;  // each rewrite removes a candidate
  return mlir::applyPatternsAndFoldGreedily(module, mlir::FrozenRewritePatternSet(std::move(patterns)), config);
}

void erase_if_dead(std::initializer_list<mlir::Operation*> ops) {
  llvm::SetVector<mlir::Operation*> unique(ops.begin(), ops.end());
  for (mlir::Operation* op : unique) {
    if (op != nullptr && op->use_empty()) op->erase();
  }
}

void erase_if_dead(mlir::PatternRewriter& rewriter, std::initializer_list<mlir::Operation*> ops) {
  llvm::SetVector<mlir::Operation*> unique(ops.begin(), ops.end());
  for (mlir::Operation* op : unique) {
    if (op != nullptr && op->use_empty()) rewriter.eraseOp(op);
  }
}

}  // namespace qwen3c
