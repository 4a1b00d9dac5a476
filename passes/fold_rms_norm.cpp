// q3-fold-rms-norm: linear(rms_norm(x, g), W) -> rms_norm_linear(x, g, W), and the same for
// swiglu, when every user of the norm is such a matmul.

#include "passes/Passes.h"
#include "passes/pass_utils.h"
#include "mlir/IR/Builders.h"

namespace qwen3c {
#define GEN_PASS_DEF_FOLDRMSNORM
#include "passes/Passes.h.inc"
}  // namespace qwen3c

namespace qwen3c {
namespace {

struct FoldRmsNormPass : impl::FoldRmsNormBase<FoldRmsNormPass> {
  using Base::Base;

  void runOnOperation() override {
    std::vector<q3::RmsNormOp> norms;
    getOperation().walk([&](q3::RmsNormOp n) { norms.push_back(n); });
    for (q3::RmsNormOp norm : norms) {
      bool foldable = !norm->use_empty();
      for (mlir::OpOperand& use : norm->getUses()) {
        mlir::Operation* user = use.getOwner();
        foldable &= mlir::isa<q3::LinearOp, q3::SwigluOp>(user) && use.getOperandNumber() == 0;
      }
      if (!foldable) {
        remark(verbose, norm, "not folded: a user of the norm is not a linear or swiglu reading it as input");
        continue;
      }
      std::vector<mlir::Operation*> users(norm->getUsers().begin(), norm->getUsers().end());
      for (mlir::Operation* user : users) {
        mlir::OpBuilder b(user);
        mlir::Operation* fused;
        if (auto linear = mlir::dyn_cast<q3::LinearOp>(user)) {
          fused = b.create<q3::RmsNormLinearOp>(user->getLoc(), linear.getType(), norm.getInput(),
                                                norm.getWeight(), linear.getWeight(), norm.getEpsilonAttr());
        } else {
          auto swiglu = mlir::cast<q3::SwigluOp>(user);
          fused = b.create<q3::RmsNormSwigluOp>(user->getLoc(), swiglu.getType(), norm.getInput(),
                                                norm.getWeight(), swiglu.getWeight(), norm.getEpsilonAttr());
        }
        user->replaceAllUsesWith(fused);
        user->erase();
      }
      norm.erase();
    }
  }
};

}  // namespace
}  // namespace qwen3c
