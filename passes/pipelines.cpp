// The -O0 / -O2 pipelines and --passes= parsing.

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "passes/Passes.h"
#include "runtime/core/error.h"

namespace qwen3c {

void build_pipeline(mlir::OpPassManager& pm, const PipelineOptions& options) {
  if (options.opt_level >= 2) {
    pm.addPass(createFuseSwiglu());
    pm.addPass(createFuseQkNormRope());
    pm.addPass(createFuseAddRmsNorm());
    pm.addPass(createFoldRmsNorm());
    pm.addPass(mlir::createCSEPass());  // one read per weight (the tied embedding)
  }
  if (options.quant == "q8_0" || options.quant == "q4_0") {
    QuantizeWeightsOptions q;
    q.quant = options.quant;
    pm.addPass(createQuantizeWeights(q));
  }
  if (options.precision == "fast") pm.addPass(createRoundActivations());
  if (!options.target.empty()) {
    PackWeightsOptions p;
    p.target = options.target;
    pm.addPass(createPackWeights(p));
  }
  pm.addPass(createPlanMemory());
}

void add_passes_by_name(mlir::OpPassManager& pm, const std::string& names) {
  std::string pipeline;
  std::string errors;
  llvm::raw_string_ostream es(errors);
  if (mlir::failed(mlir::parsePassPipeline(names, pm, es))) {
    throw Error("--passes: " + errors);
  }
}

}  // namespace qwen3c
