#include "ir/rope_scaling.h"

#include "mlir/IR/Builders.h"

namespace qwen3c {

YarnConfig yarn_config(q3::YarnAttr yarn) {
  YarnConfig y;
  y.factor = yarn.getFactor().getValueAsDouble();
  y.original_context = yarn.getOriginalContext();
  y.beta_fast = yarn.getBetaFast().getValueAsDouble();
  y.beta_slow = yarn.getBetaSlow().getValueAsDouble();
  y.attention_factor = yarn.getAttentionFactor().getValueAsDouble();
  y.truncate = yarn.getTruncate().getValue();
  return y;
}

RopeScaling rope_scaling(std::int64_t head_dim, double theta, q3::YarnAttr yarn) {
  if (!yarn) return {};
  return yarn_scaling(head_dim, theta, yarn_config(yarn));
}

q3::YarnAttr yarn_attr(mlir::MLIRContext* context, const YarnConfig& y) {
  mlir::Builder b(context);
  return q3::YarnAttr::get(context, b.getF64FloatAttr(y.factor), y.original_context, b.getF64FloatAttr(y.beta_fast),
                           b.getF64FloatAttr(y.beta_slow), b.getF64FloatAttr(y.attention_factor),
                           b.getBoolAttr(y.truncate));
}

}  // namespace qwen3c
