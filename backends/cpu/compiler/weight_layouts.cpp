#include "backends/cpu/compiler/weight_layouts.h"

#include "backends/cpu/runtime/packing.h"
#include "backends/weight_writer.h"

namespace qwen3c::cpu {

namespace {

// Whether a q3.get_weight of `weight` feeds a gated product (SwiGLU), a plain one, or both.
struct Uses {
  bool gated = false, plain = false;
};
Uses uses_of(q3::WeightOp weight) {
  Uses uses;
  auto module = weight->getParentOfType<mlir::ModuleOp>();
  module.walk([&](q3::GetWeightOp get) {
    if (get.getName() != weight.getSymName()) return;
    for (mlir::Operation* user : get->getUsers()) {
      auto product = mlir::dyn_cast<q3::MatrixProductOpInterface>(user);
      if (product && product.getWeight() == get.getResult()) (product.isGated() ? uses.gated : uses.plain) = true;
    }
  });
  return uses;
}

}  // namespace

std::optional<std::string> cpu_weight_layout(q3::WeightOp weight, std::string* why) {
  auto type = mlir::cast<mlir::RankedTensorType>(weight.getType());
  const mlir::Type element = type.getElementType();
  const bool quantised = mlir::isa<q3::Q8_0Type, q3::Q4_0Type>(element);
  const bool packable = type.getRank() == 2 && (quantised || (element.isBF16() && type.getDimSize(1) % 2 == 0));
  if (!packable) return row_major_layout(weight, why);
  const Uses uses = uses_of(weight);
  if (uses.gated && uses.plain) {
    *why = "it feeds both a SwiGLU and a plain product, which read different layouts";
    return std::nullopt;
  }
  if (uses.gated && type.getDimSize(0) % 2 != 0) {
    *why = "a SwiGLU weight needs an even number of rows (gate and up)";
    return std::nullopt;
  }
  std::string layout = quantised ? kPackedBlockLayout : kPackedLayout;
  return uses.gated ? layout + kPackedHalvesSuffix : layout;
}

}  // namespace qwen3c::cpu
