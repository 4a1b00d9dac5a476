// q3-pack-weights: record on every weight the layout the target backend's kernels read.

#include "mlir/IR/Builders.h"
#include "passes/Passes.h"
#include "passes/pass_utils.h"
#include "passes/weight_layouts.h"

namespace qwen3c {
#define GEN_PASS_DEF_PACKWEIGHTS
#include "passes/Passes.h.inc"
}  // namespace qwen3c

namespace qwen3c {
namespace {

struct PackWeightsPass : impl::PackWeightsBase<PackWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    const WeightLayoutProvider* provider = weight_layout_provider(target);
    if (provider == nullptr) {
      module.emitError() << "q3-pack-weights: no backend '" << target << "' has registered weight layouts";
      return signalPassFailure();
    }
    mlir::Builder b(module.getContext());
    for (auto weight : module.getOps<q3::WeightOp>()) {
      std::string why;
      std::optional<std::string> layout = (*provider)(weight, &why);
      if (!layout) {
        weight.emitError() << "the " << target << " backend has no layout for this weight: " << why;
        return signalPassFailure();
      }
      weight.setLayoutAttr(b.getStringAttr(*layout));
      remark(verbose, weight, "layout " + *layout);
    }
  }
};

}  // namespace
}  // namespace qwen3c
