#include "ir/registration.h"

#include "ir/Q3.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace qwen3c::q3 {

void register_dialects(mlir::DialectRegistry& registry) {
  registry.insert<Q3Dialect, mlir::func::FuncDialect>();
}

}  // namespace qwen3c::q3
