#include "passes/registration.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "passes/Passes.h"

namespace qwen3c {

void register_passes() {
  // MLIR's generic cleanups (canonicalize, cse, symbol-dce, ...) apply to q3 as to any
  // dialect: q3 ops declare their side effects, so CSE merges repeated q3.get_weight reads
  // and leaves the KV-cache ops alone.
  mlir::registerTransformsPasses();
  registerQ3Passes();
  static mlir::PassPipelineRegistration<> o2(
      "q3-O2", "The -O2 pipeline: fusions, CSE, memory planning",
      [](mlir::OpPassManager& pm) { build_pipeline(pm, PipelineOptions{2, ""}); });
}

}  // namespace qwen3c
