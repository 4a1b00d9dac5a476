#pragma once
// The dialects a q3 module uses, for contexts and drivers.

#include "mlir/IR/DialectRegistry.h"

namespace qwen3c::q3 {

void register_dialects(mlir::DialectRegistry& registry);

}  // namespace qwen3c::q3
