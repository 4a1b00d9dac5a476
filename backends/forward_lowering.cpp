#include "backends/forward_lowering.h"

#include "frontend/graph_builder.h"
#include "ir/Q3.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "passes/Passes.h"
#include "runtime/core/error.h"

namespace qwen3c {

mlir::Type element_of(mlir::Value v) { return mlir::cast<mlir::RankedTensorType>(v.getType()).getElementType(); }
std::int64_t row_width(mlir::Value v) { return mlir::cast<mlir::RankedTensorType>(v.getType()).getDimSize(1); }

ForwardLowering::ForwardLowering(mlir::ModuleOp module, std::string who) : module_(module), who_(std::move(who)) {}

namespace {

// The tail starts after the last op that needs every row of the step: one that reads the
// ids, the positions or the slots (indexed by row), or reads or writes the KV cache
// (attention mixes rows; appending needs them all). What follows is row-local.
bool needs_every_row(mlir::Operation* op, mlir::Value ids, mlir::Value positions, mlir::Value slots) {
  for (mlir::Value operand : op->getOperands()) {
    if (operand == ids || operand == positions || operand == slots ||
        mlir::isa<q3::KVCacheType>(operand.getType()))
      return true;
  }
  return false;
}

}  // namespace

void ForwardLowering::run() {
  auto size = module_->getAttrOfType<mlir::IntegerAttr>(kArenaSizeAttr);
  if (!size) throw Error(who_ + ": the module has no memory plan (run q3-plan-memory)");
  arena_floats_per_token_ = size.getInt();
  for (auto weight : module_.getOps<q3::WeightOp>()) {
    weight_index_[weight.getSymName()] = static_cast<std::int64_t>(weight_names_.size());
    weight_names_.push_back(weight.getSymName().str());
  }
  auto forward = module_.lookupSymbol<mlir::func::FuncOp>(kForwardFunction);
  if (!forward) throw Error(who_ + ": the q3 module has no @forward function");
  mlir::Block& body = forward.getBody().front();
  if (body.getNumArguments() < 3) {
    throw Error(who_ + ": @forward must take the token ids, positions and slots first");
  }
  ids_ = body.getArgument(0);
  positions_ = body.getArgument(1);
  slots_ = body.getArgument(2);
  auto ret = mlir::cast<mlir::func::ReturnOp>(body.getTerminator());
  if (ret.getNumOperands() != 1) throw Error(who_ + ": @forward must return the logits only");
  logits_ = ret.getOperand(0);

  std::vector<mlir::Operation*> ops;
  std::size_t tail_start = 0;
  for (mlir::Operation& op : body) {
    ops.push_back(&op);
    if (needs_every_row(&op, ids_, positions_, slots_)) tail_start = ops.size();
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    in_tail_ = i >= tail_start;
    place_results(ops[i]);
    dispatch(ops[i]);
  }
}

void ForwardLowering::place_results(mlir::Operation* op) {
  auto offsets = op->getAttrOfType<mlir::DenseI64ArrayAttr>(kArenaOffsetsAttr);
  for (unsigned r = 0; r < op->getNumResults(); ++r) {
    mlir::Value v = op->getResult(r);
    if (v == logits_ || !offsets || offsets[r] < 0) continue;
    places_[v] = Place{offsets[r], row_width(v), false};
    placed_in_tail_[v] = in_tail_;
  }
}

std::int64_t ForwardLowering::weight_index(mlir::Value weight) const {
  auto get = weight.getDefiningOp<q3::GetWeightOp>();
  if (!get) throw Error(who_ + ": a weight operand is not a q3.get_weight");
  auto it = weight_index_.find(get.getName());
  if (it == weight_index_.end()) throw Error(who_ + ": no q3.weight @" + get.getName().str());
  return it->second;
}

q3::WeightOp ForwardLowering::weight_declaration(mlir::Value weight) const {
  auto get = weight.getDefiningOp<q3::GetWeightOp>();
  if (!get) throw Error(who_ + ": a weight operand is not a q3.get_weight");
  auto decl = mlir::SymbolTable::lookupNearestSymbolFrom<q3::WeightOp>(get, get.getNameAttr());
  if (!decl) throw Error(who_ + ": no q3.weight @" + get.getName().str());
  return decl;
}

ForwardLowering::Place ForwardLowering::input(mlir::Value v) const {
  auto it = places_.find(v);
  if (it == places_.end()) throw Error(who_ + ": an activation has no place in the memory plan");
  Place p = it->second;
  p.last_rows_only = in_tail_ && !placed_in_tail_.lookup(v);
  return p;
}

ForwardLowering::Place ForwardLowering::output(mlir::Value v) const {
  auto it = places_.find(v);
  if (it == places_.end()) throw Error(who_ + ": a result has no place in the memory plan");
  return it->second;
}

void ForwardLowering::fail(mlir::Operation* op, const std::string& message) const {
  throw Error(who_ + ": " + message + ": " + q3::describe(op));
}

}  // namespace qwen3c
