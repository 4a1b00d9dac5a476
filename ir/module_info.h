#pragma once
// Facts read off a q3 module: what its weights amount to and which ops it holds.

#include <cstdint>
#include <map>
#include <string>

#include "mlir/IR/BuiltinOps.h"

namespace qwen3c::q3 {

struct ModuleInfo {
  std::int64_t weight_count = 0;
  std::int64_t parameter_count = 0;               // elements over all q3.weight symbols
  std::map<std::string, std::int64_t> bytes_by_dtype;  // "bf16" -> bytes
  std::map<std::string, std::int64_t> op_counts;       // "q3.linear" -> count
};

ModuleInfo summarize(mlir::ModuleOp module);

}  // namespace qwen3c::q3
