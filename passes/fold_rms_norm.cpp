// q3-fold-rms-norm: linear(rms_norm(x, g), W) -> rms_norm_linear(x, g, W), and the same for
// swiglu, when every user of the norm is such a matrix product.

#include "mlir/IR/PatternMatch.h"
#include "passes/Passes.h"
#include "passes/pass_utils.h"

namespace qwen3c {
#define GEN_PASS_DEF_FOLDRMSNORM
#include "passes/Passes.h.inc"
}  // namespace qwen3c

namespace qwen3c {
namespace {

// Rooted at the q3.rms_norm; rewrites all its users at once or none.
struct FoldRmsNormPattern : mlir::OpRewritePattern<q3::RmsNormOp> {
  FoldRmsNormPattern(mlir::MLIRContext* context, Refusals& refusals) : OpRewritePattern(context), refusals(refusals) {}

  mlir::LogicalResult matchAndRewrite(q3::RmsNormOp norm, mlir::PatternRewriter& rewriter) const override {
    if (norm->use_empty()) return refusals.refuse(rewriter, norm, "not folded: the norm has no users");
    for (mlir::Operation* user : norm->getUsers()) {
      auto product = mlir::dyn_cast<q3::MatrixProductOpInterface>(user);
      if (!product || product.getInput() != norm.getResult() || product.getFoldedNormWeight()) {
        return refusals.refuse(rewriter, norm,
                               "not folded: a user of the norm is not a linear or swiglu reading it as input");
      }
    }
    std::vector<mlir::Operation*> users(norm->getUsers().begin(), norm->getUsers().end());
    for (mlir::Operation* user : users) {
      auto product = mlir::cast<q3::MatrixProductOpInterface>(user);
      rewriter.setInsertionPoint(user);
      const mlir::Type type = user->getResult(0).getType();
      if (product.isGated()) {
        rewriter.replaceOpWithNewOp<q3::RmsNormSwigluOp>(user, type, norm.getInput(), norm.getWeight(),
                                                         product.getWeight(), norm.getEpsilonAttr(),
                                                         user->getAttrOfType<mlir::StringAttr>("round_activations"));
      } else {
        rewriter.replaceOpWithNewOp<q3::RmsNormLinearOp>(user, type, norm.getInput(), norm.getWeight(),
                                                         product.getWeight(), norm.getEpsilonAttr(),
                                                         user->getAttrOfType<mlir::StringAttr>("round_activations"));
      }
    }
    rewriter.eraseOp(norm);
    return mlir::success();
  }

  Refusals& refusals;
};

struct FoldRmsNormPass : impl::FoldRmsNormBase<FoldRmsNormPass> {
  using Base::Base;

  void runOnOperation() override {
    if (mlir::failed(apply_pattern<FoldRmsNormPattern>(getOperation(), verbose))) signalPassFailure();
  }
};

}  // namespace
}  // namespace qwen3c
