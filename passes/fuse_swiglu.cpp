// q3-fuse-swiglu: mul(silu(linear(x, Wg)), linear(x, Wu)) -> swiglu(x, [Wg; Wu]).

#include "mlir/IR/PatternMatch.h"
#include "passes/Passes.h"
#include "passes/pass_utils.h"

namespace qwen3c {
#define GEN_PASS_DEF_FUSESWIGLU
#include "passes/Passes.h.inc"
}  // namespace qwen3c

namespace qwen3c {
namespace {

std::string stacked_name(const std::string& gate) {
  const std::string from = "gate_proj";
  const auto at = gate.find(from);
  return at == std::string::npos ? gate + ".gate_up" : gate.substr(0, at) + "gate_up_proj" + gate.substr(at + from.size());
}

// Rooted at the q3.mul of silu(gate) * up.
struct SwigluPattern : mlir::OpRewritePattern<q3::MulOp> {
  SwigluPattern(mlir::MLIRContext* context, Refusals& refusals)
      : OpRewritePattern(context), refusals(refusals) {}

  mlir::LogicalResult matchAndRewrite(q3::MulOp mul, mlir::PatternRewriter& rewriter) const override {
    q3::SiluOp silu;
    q3::LinearOp up;
    for (int order = 0; order < 2 && !(silu && up); ++order) {
      silu = (order ? mul.getRhs() : mul.getLhs()).getDefiningOp<q3::SiluOp>();
      up = (order ? mul.getLhs() : mul.getRhs()).getDefiningOp<q3::LinearOp>();
    }
    auto refuse = [&](const char* why) { return refusals.refuse(rewriter, mul, std::string("not fused into q3.swiglu: ") + why); };
    if (!silu || !up) return refuse("not silu(linear) * linear");
    auto gate = silu.getInput().getDefiningOp<q3::LinearOp>();
    if (!gate) return refuse("silu does not read a linear");
    if (!has_single_use(silu.getResult()) || !has_single_use(gate.getResult()) || !has_single_use(up.getResult())) {
      return refuse("gate, up or silu has another user");
    }
    if (gate.getInput() != up.getInput()) return refuse("gate and up read different inputs");
    auto gate_weight = gate.getWeight().getDefiningOp<q3::GetWeightOp>();
    auto up_weight = up.getWeight().getDefiningOp<q3::GetWeightOp>();
    if (!gate_weight || !up_weight) return refuse("a weight is not a q3.get_weight");
    if (gate_weight.getType() != up_weight.getType()) return refuse("gate and up weights differ in type");

    q3::WeightOp gate_decl = declaration_of(gate_weight), up_decl = declaration_of(up_weight);
    auto type = mlir::cast<mlir::RankedTensorType>(gate_decl.getType());
    auto stacked_type = mlir::RankedTensorType::get({2 * type.getDimSize(0), type.getDimSize(1)}, type.getElementType());
    std::vector<std::string> sources = sources_of(gate_decl);
    for (const std::string& s : sources_of(up_decl)) sources.push_back(s);
    const std::string name = stacked_name(gate_decl.getSymName().str());
    if (mlir::SymbolTable::lookupNearestSymbolFrom(mul, rewriter.getStringAttr(name)) != nullptr) {
      return refuse("the stacked weight's name is taken");
    }

    rewriter.setInsertionPoint(gate_decl);
    auto stacked = rewriter.create<q3::WeightOp>(
        gate_decl.getLoc(), name, stacked_type,
        rewriter.getStrArrayAttr(llvm::SmallVector<llvm::StringRef>(sources.begin(), sources.end())), mlir::StringAttr());
    rewriter.setInsertionPoint(mul);
    auto get = rewriter.create<q3::GetWeightOp>(mul.getLoc(), stacked_type, stacked.getSymName());
    rewriter.replaceOpWithNewOp<q3::SwigluOp>(mul, mul.getType(), gate.getInput(), get, mlir::StringAttr());
    erase_if_dead(rewriter, {silu, gate, up, gate_weight, up_weight});
    return mlir::success();
  }

  Refusals& refusals;
};

struct FuseSwigluPass : impl::FuseSwigluBase<FuseSwigluPass> {
  using Base::Base;

  void runOnOperation() override {
    if (mlir::failed(apply_pattern<SwigluPattern>(getOperation(), verbose))) return signalPassFailure();
    erase_unused_weights(getOperation());
  }
};

}  // namespace
}  // namespace qwen3c
