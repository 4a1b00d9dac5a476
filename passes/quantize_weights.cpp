// q3-quantize-weights: matrix weights -> !q3.q8_0 / !q3.q4_0 element types. The data is
// quantised when a backend writes the artifact (see passes/quantization.h).

#include <set>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "passes/Passes.h"
#include "passes/pass_utils.h"
#include "runtime/core/weight_format.h"

namespace qwen3c {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "passes/Passes.h.inc"
}  // namespace qwen3c

namespace qwen3c {
namespace {

// The weight operand of an op that multiplies by a matrix (or looks rows up in one).
mlir::Value matrix_weight(mlir::Operation* op) {
  if (auto product = mlir::dyn_cast<q3::MatrixProductOpInterface>(op)) return product.getWeight();
  if (auto lookup = mlir::dyn_cast<q3::EmbeddingOp>(op)) return lookup.getTable();
  return {};
}

struct QuantizeWeightsPass : impl::QuantizeWeightsBase<QuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    mlir::MLIRContext* ctx = module.getContext();
    mlir::Type chosen;
    if (quant == "q8_0") chosen = q3::Q8_0Type::get(ctx);
    else if (quant == "q4_0") chosen = q3::Q4_0Type::get(ctx);
    else {
      module.emitError() << "q3-quantize-weights: unknown quant '" << quant << "' (q8_0 or q4_0)";
      return signalPassFailure();
    }
    // The output projection: the matrix of the op whose result the model returns.
    std::set<std::string> output_weights;
    module.walk([&](mlir::func::ReturnOp ret) {
      for (mlir::Value v : ret.getOperands()) {
        if (mlir::Operation* def = v.getDefiningOp()) {
          if (mlir::Value w = matrix_weight(def)) {
            if (auto get = w.getDefiningOp<q3::GetWeightOp>()) output_weights.insert(get.getName().str());
          }
        }
      }
    });
    std::set<std::string> matrices;
    module.walk([&](mlir::Operation* op) {
      if (mlir::Value w = matrix_weight(op)) {
        if (auto get = w.getDefiningOp<q3::GetWeightOp>()) matrices.insert(get.getName().str());
      }
    });

    std::map<std::string, mlir::RankedTensorType> retyped;
    for (auto weight : module.getOps<q3::WeightOp>()) {
      const std::string name = weight.getSymName().str();
      if (!matrices.count(name)) continue;
      auto type = mlir::cast<mlir::RankedTensorType>(weight.getType());
      if (type.getRank() != 2 || type.getDimSize(1) % Q3_QBLOCK != 0) {
        remark(verbose, weight, "left unquantised: rows are not whole blocks of 32");
        continue;
      }
      mlir::Type element = output_weights.count(name) ? q3::Q8_0Type::get(ctx) : chosen;
      auto quantised = mlir::RankedTensorType::get(type.getShape(), element);
      weight.setType(quantised);
      retyped[name] = quantised;
    }
    module.walk([&](q3::GetWeightOp get) {
      auto it = retyped.find(get.getName().str());
      if (it != retyped.end()) get.getResult().setType(it->second);
    });
  }
};

}  // namespace
}  // namespace qwen3c
