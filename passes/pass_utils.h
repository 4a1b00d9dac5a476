#pragma once
// Small helpers shared by the q3 passes.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ir/Q3.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"

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

// Erases `ops` (in the order given, each once) when they have no uses left.
void erase_if_dead(std::initializer_list<mlir::Operation*> ops);
// The same through a pattern's rewriter.
void erase_if_dead(mlir::PatternRewriter& rewriter, std::initializer_list<mlir::Operation*> ops);

// An optional "why not" remark, for the passes' verbose option.
inline void remark(bool verbose, mlir::Operation* op, const std::string& why) {
  if (verbose) op->emitRemark() << why;
}

// Why a rewrite pattern refused an op: reported to the rewrite driver (notifyMatchFailure)
// and, when the pass runs with verbose=true, as a remark on the op, once per op and reason
// (the greedy driver may try an op several times).
class Refusals {
 public:
  explicit Refusals(bool verbose) : verbose_(verbose) {}
  mlir::LogicalResult refuse(mlir::PatternRewriter& rewriter, mlir::Operation* op, const std::string& why) {
    if (verbose_ && reported_.insert({op, why}).second) op->emitRemark() << why;
    return rewriter.notifyMatchFailure(op, why);
  }

 private:
  bool verbose_;
  std::set<std::pair<mlir::Operation*, std::string>> reported_;
};

// Runs `patterns` over `module` with the greedy driver until nothing matches.
mlir::LogicalResult apply_patterns(mlir::ModuleOp module, mlir::RewritePatternSet&& patterns);

// A fusion pass's whole body: its one pattern (constructed from the context and the pass's
// Refusals) under the greedy driver.
template <class Pattern>
mlir::LogicalResult apply_pattern(mlir::ModuleOp module, bool verbose) {
  Refusals refusals(verbose);
  mlir::RewritePatternSet patterns(module.getContext());
  patterns.add<Pattern>(module.getContext(), refusals);
  return apply_patterns(module, std::move(patterns));
}

}  // namespace qwen3c
