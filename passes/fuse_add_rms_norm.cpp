// q3-fuse-add-rms-norm: rms_norm(add(a, b)) -> add_rms_norm(a, b), whose first result
// replaces the add (the residual stream) and second the norm.

#include "mlir/IR/PatternMatch.h"
#include "passes/Passes.h"
#include "passes/pass_utils.h"

namespace qwen3c {
#define GEN_PASS_DEF_FUSEADDRMSNORM
#include "passes/Passes.h.inc"
}  // namespace qwen3c

namespace qwen3c {
namespace {

// Rooted at the q3.rms_norm that reads a q3.add.
struct AddRmsNormPattern : mlir::OpRewritePattern<q3::RmsNormOp> {
  AddRmsNormPattern(mlir::MLIRContext* context, Refusals& refusals) : OpRewritePattern(context), refusals(refusals) {}

  mlir::LogicalResult matchAndRewrite(q3::RmsNormOp norm, mlir::PatternRewriter& rewriter) const override {
    auto add = norm.getInput().getDefiningOp<q3::AddOp>();
    if (!add) return refusals.refuse(rewriter, norm, "not fused into q3.add_rms_norm: the input is not a q3.add");
    // The fused op takes the add's place; its norm weight must be available there.
    auto weight = norm.getWeight().getDefiningOp<q3::GetWeightOp>();
    if (!weight) {
      return refusals.refuse(rewriter, norm, "not fused into q3.add_rms_norm: the norm weight is not a q3.get_weight");
    }
    if (add->isBeforeInBlock(weight)) rewriter.moveOpBefore(weight, add);
    rewriter.setInsertionPoint(add);
    auto fused = rewriter.create<q3::AddRmsNormOp>(add.getLoc(), add.getType(), add.getType(), add.getLhs(),
                                                   add.getRhs(), norm.getWeight(), norm.getEpsilonAttr());
    rewriter.replaceOp(norm, fused.getNormalized());
    rewriter.replaceOp(add, fused.getSum());
    return mlir::success();
  }

  Refusals& refusals;
};

struct FuseAddRmsNormPass : impl::FuseAddRmsNormBase<FuseAddRmsNormPass> {
  using Base::Base;

  void runOnOperation() override {
    if (mlir::failed(apply_pattern<AddRmsNormPattern>(getOperation(), verbose))) signalPassFailure();
  }
};

}  // namespace
}  // namespace qwen3c
