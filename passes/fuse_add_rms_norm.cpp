// q3-fuse-add-rms-norm: rms_norm(add(a, b)) -> add_rms_norm(a, b), whose first result
// replaces the add (the residual stream) and second the norm.

#include "passes/Passes.h"
#include "passes/pass_utils.h"
#include "mlir/IR/Builders.h"

namespace qwen3c {
#define GEN_PASS_DEF_FUSEADDRMSNORM
#include "passes/Passes.h.inc"
}  // namespace qwen3c

namespace qwen3c {
namespace {

struct FuseAddRmsNormPass : impl::FuseAddRmsNormBase<FuseAddRmsNormPass> {
  using Base::Base;

  void runOnOperation() override {
    std::vector<q3::RmsNormOp> norms;
    getOperation().walk([&](q3::RmsNormOp n) { norms.push_back(n); });
    for (q3::RmsNormOp norm : norms) {
      auto add = norm.getInput().getDefiningOp<q3::AddOp>();
      if (!add) {
        remark(verbose, norm, "not fused into q3.add_rms_norm: the input is not a q3.add");
        continue;
      }
      // The fused op takes the add's place; its norm weight must be available there.
      mlir::Operation* weight = norm.getWeight().getDefiningOp();
      if (weight == nullptr || !mlir::isa<q3::GetWeightOp>(weight)) {
        remark(verbose, norm, "not fused into q3.add_rms_norm: the norm weight is not a q3.get_weight");
        continue;
      }
      if (add->isBeforeInBlock(weight)) weight->moveBefore(add);
      mlir::OpBuilder b(add);
      auto fused = b.create<q3::AddRmsNormOp>(add.getLoc(), add.getType(), add.getType(), add.getLhs(),
                                              add.getRhs(), norm.getWeight(), norm.getEpsilonAttr());
      norm.replaceAllUsesWith(fused.getNormalized());
      norm.erase();
      add.replaceAllUsesWith(fused.getSum());
      add.erase();
    }
  }
};

}  // namespace
}  // namespace qwen3c
