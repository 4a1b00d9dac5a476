#include "passes/registration.h"

#include "mlir/Transforms/Passes.h"

namespace qwen3c {

void register_passes() {
  // MLIR's generic cleanups (canonicalize, cse, symbol-dce, ...) apply to q3 as to any
  // dialect: q3 ops declare their side effects, so CSE merges repeated q3.get_weight reads
  // and leaves q3.attention alone.
  mlir::registerTransformsPasses();
}

}  // namespace qwen3c
