#include "ir/module_info.h"

#include "ir/Q3.h"
#include "llvm/Support/raw_ostream.h"

namespace qwen3c::q3 {

ModuleInfo summarize(mlir::ModuleOp module) {
  ModuleInfo info;
  module.walk([&](mlir::Operation* op) {
    if (op == module.getOperation()) return;
    ++info.op_counts[op->getName().getStringRef().str()];
    if (auto weight = llvm::dyn_cast<WeightOp>(op)) {
      auto type = llvm::cast<mlir::RankedTensorType>(weight.getType());
      ++info.weight_count;
      info.parameter_count += type.getNumElements();
      std::string dtype;
      llvm::raw_string_ostream os(dtype);
      os << type.getElementType();
      info.bytes_by_dtype[dtype] +=
          type.getNumElements() * (type.getElementTypeBitWidth() / 8);
    }
  });
  return info;
}

}  // namespace qwen3c::q3
