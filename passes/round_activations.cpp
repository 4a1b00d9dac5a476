// q3-round-activations: the `fast` precision, as an attribute on every matrix product whose
// weights have narrower instructions than f32 (bf16 dot products, int8 dot products), and on
// every attention, whose scores against a q8_0 cache (a choice made at run time) are then
// int8 dot products too.

#include "llvm/ADT/TypeSwitch.h"
#include "passes/Passes.h"
#include "passes/pass_utils.h"

namespace qwen3c {
#define GEN_PASS_DEF_ROUNDACTIVATIONS
#include "passes/Passes.h.inc"
}  // namespace qwen3c

namespace qwen3c {
namespace {

// What the weight's instructions take: bf16 pairs, int8 blocks, or f32 (nothing to round).
llvm::StringRef rounding_for(mlir::Value weight) {
  mlir::Type element = mlir::cast<mlir::RankedTensorType>(weight.getType()).getElementType();
  if (element.isBF16()) return "bf16";
  if (mlir::isa<q3::Q8_0Type, q3::Q4_0Type>(element)) return "q8_0";
  return "";
}

struct RoundActivationsPass : impl::RoundActivationsBase<RoundActivationsPass> {
  using Base::Base;

  void runOnOperation() override {
    const auto integer_products = mlir::UnitAttr::get(&getContext());
    getOperation().walk([&](mlir::Operation* op) {  // one walk: products and attentions
      llvm::TypeSwitch<mlir::Operation*>(op)
          .Case<q3::MatrixProductOpInterface>([&](q3::MatrixProductOpInterface product) {
            const llvm::StringRef rounding = rounding_for(product.getWeight());
            if (rounding.empty()) {
              remark(verbose, product, "activations stay f32: the weights are f32");
              return;
            }
            product->setAttr("round_activations", mlir::StringAttr::get(&getContext(), rounding));
          })
          .Case<q3::AttentionOp, q3::CachedAttentionOp>(
              [&](auto attention) { attention.setIntegerProductsAttr(integer_products); });
    });
  }
};

}  // namespace
}  // namespace qwen3c
