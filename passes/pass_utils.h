#pragma once
// Small helpers shared by the q3 passes.

#include <string>
#include <vector>

#include "ir/Q3.h"
#include "mlir/IR/BuiltinOps.h"

namespace qwen3c {

inline bool has_single_use(mlir::Value v) { return v.hasOneUse(); }

// The declaration a q3.get_weight reads.
inline q3::WeightOp declaration_of(q3::GetWeightOp get) {
  return mlir::SymbolTable::lookupNearestSymbolFrom<q3::WeightOp>(get, get.getNameAttr());
}

// The checkpoint tensors a weight is made of, in order.
inline std::vector<std::string> sources_of(q3::WeightOp weight) {
  std::vector<std::string> out;
  if (auto source = weight.getSource()) {
    for (mlir::Attribute a : *source) out.push_back(mlir::cast<mlir::StringAttr>(a).str());
  } else {
    out.push_back(weight.getSymName().str());
  }
  return out;
}

// Removes q3.weight declarations no q3.get_weight reads any more.
void erase_unused_weights(mlir::ModuleOp module);

// Erases `ops` (in the order given) when they have no uses left.
void erase_if_dead(std::initializer_list<mlir::Operation*> ops);

// An optional "why not" remark, for the passes' verbose option.
inline void remark(bool verbose, mlir::Operation* op, const std::string& why) {
  if (verbose) op->emitRemark() << why;
}

}  // namespace qwen3c
