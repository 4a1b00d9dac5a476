// q3-plan-memory: liveness-based first-fit placement of every activation in one arena.

#include <algorithm>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "passes/Passes.h"
#include "passes/pass_utils.h"

namespace qwen3c {
#define GEN_PASS_DEF_PLANMEMORY
#include "passes/Passes.h.inc"
}  // namespace qwen3c

namespace qwen3c {
namespace {

// Live blocks of the arena, in floats per token.
class Arena {
 public:
  std::int64_t allocate(std::int64_t width) {
    std::sort(live_.begin(), live_.end());
    std::int64_t offset = 0;
    for (const auto& [start, size] : live_) {
      if (start - offset >= width) break;
      offset = std::max(offset, start + size);
    }
    live_.push_back({offset, width});
    peak_ = std::max(peak_, offset + width);
    return offset;
  }
  void release(std::int64_t offset) {
    std::erase_if(live_, [&](const auto& block) { return block.first == offset; });
  }
  std::int64_t peak() const { return peak_; }

 private:
  std::vector<std::pair<std::int64_t, std::int64_t>> live_;
  std::int64_t peak_ = 0;
};

bool is_activation(mlir::Value v) {
  auto type = mlir::dyn_cast<mlir::RankedTensorType>(v.getType());
  return type && type.getRank() == 2 && type.getElementType().isF32() && !v.getDefiningOp<q3::GetWeightOp>();
}

struct PlanMemoryPass : impl::PlanMemoryBase<PlanMemoryPass> {
  using Base::Base;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    mlir::Builder b(module.getContext());
    std::int64_t peak = 0;
    module.walk([&](mlir::func::FuncOp func) {
      if (func.isExternal()) return;
      mlir::Block& body = func.getBody().front();
      llvm::DenseMap<mlir::Value, mlir::Operation*> last_use;
      llvm::DenseSet<mlir::Value> outputs;
      for (mlir::Operation& op : body) {
        for (mlir::Value operand : op.getOperands()) last_use[operand] = &op;
        if (mlir::isa<mlir::func::ReturnOp>(op)) outputs.insert(op.getOperands().begin(), op.getOperands().end());
      }
      Arena arena;
      llvm::DenseMap<mlir::Value, std::int64_t> offsets;
      for (mlir::Operation& op : body) {
        llvm::SmallVector<std::int64_t> placed;
        bool any = false;
        for (mlir::Value result : op.getResults()) {
          if (!is_activation(result) || outputs.contains(result)) {
            placed.push_back(-1);  // not in the arena (weights, the returned logits)
            continue;
          }
          const auto width = mlir::cast<mlir::RankedTensorType>(result.getType()).getDimSize(1);
          offsets[result] = arena.allocate(width);
          placed.push_back(offsets[result]);
          any = true;
        }
        if (any) op.setAttr(kArenaOffsetsAttr, b.getDenseI64ArrayAttr(placed));
        // Inputs whose last reader this is are free for later values (not for this op's
        // own results, which were placed first: no op writes over its inputs).
        for (mlir::Value operand : op.getOperands()) {
          auto it = offsets.find(operand);
          if (it != offsets.end() && last_use[operand] == &op) arena.release(it->second);
        }
        // A result nobody reads is free at once.
        for (mlir::Value result : op.getResults()) {
          auto it = offsets.find(result);
          if (it != offsets.end() && result.use_empty()) arena.release(it->second);
        }
      }
      peak = std::max(peak, arena.peak());
    });
    module->setAttr(kArenaSizeAttr, b.getI64IntegerAttr(peak));
  }
};

}  // namespace
}  // namespace qwen3c
