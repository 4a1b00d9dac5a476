#pragma once
// The walk every backend's lowering shares: the optimised @forward body op by op, with
// what each op handler needs to know answered in one place: where the memory plan put an
// activation, a weight's index in the artifact's tensor table, which value is the logits,
// and whether an op is in the tail (after the last op that reads the ids, the positions or
// the KV cache, ops are row-local: only the rows whose logits are wanted are computed).
//
// A backend subclasses ForwardLowering and overrides a visit() per q3 op it runs
// (q3::OpVisitor); run() calls them in program order. See docs/adding-a-backend.md.

#include <cstdint>
#include <string>
#include <vector>

#include "ir/op_visitor.h"
#include "llvm/ADT/DenseMap.h"
#include "mlir/IR/BuiltinOps.h"

namespace qwen3c {

// An activation's or weight's element type, and an activation's floats a row.
mlir::Type element_of(mlir::Value v);
std::int64_t row_width(mlir::Value v);

class ForwardLowering : public q3::OpVisitor {
 public:
  // `who` names the backend in errors ("CPU backend").
  ForwardLowering(mlir::ModuleOp module, std::string who);

  // Checks the module (a @forward returning only the logits, a memory plan) and visits
  // every op in order. Throws qwen3c::Error naming the op a handler refused.
  void run();

 protected:
  // Where an activation lives: its arena offset (in floats per token) and row width.
  struct Place {
    std::int64_t offset = 0;
    std::int64_t width = 0;
    // Read inside the tail but produced before it: only its last rows are wanted.
    bool last_rows_only = false;
  };

  mlir::ModuleOp module() const { return module_; }
  std::int64_t arena_floats_per_token() const { return arena_floats_per_token_; }
  // The module's q3.weight symbols in declaration order: the artifact's tensor table.
  const std::vector<std::string>& weight_names() const { return weight_names_; }

  bool is_ids(mlir::Value v) const { return v == ids_; }
  bool is_positions(mlir::Value v) const { return v == positions_; }
  bool is_slots(mlir::Value v) const { return v == slots_; }
  bool is_logits(mlir::Value v) const { return v == logits_; }
  // For backends that read each row's position and slot from the step itself: refuses an
  // attention op whose positions or slots are anything else.
  void require_step_rows(mlir::Operation* op, mlir::Value positions, mlir::Value slots) const {
    if (!is_positions(positions) || !is_slots(slots)) fail(op, "attends at other positions or slots than the step's");
  }
  // Whether the op being visited is in the tail.
  bool in_tail() const { return in_tail_; }

  // The tensor-table index of a weight operand (a q3.get_weight result).
  std::int64_t weight_index(mlir::Value weight) const;
  // Its q3.weight declaration (with the layout q3-pack-weights chose).
  q3::WeightOp weight_declaration(mlir::Value weight) const;
  // An activation the op reads / writes (not the ids, positions, slots or logits).
  Place input(mlir::Value v) const;
  Place output(mlir::Value v) const;

  // Throws qwen3c::Error "<who>: <message>: q3.x at loc(...)".
  [[noreturn]] void fail(mlir::Operation* op, const std::string& message) const;
  std::string who() const override { return who_; }

 private:
  void place_results(mlir::Operation* op);

  mlir::ModuleOp module_;
  std::string who_;
  std::int64_t arena_floats_per_token_ = 0;
  std::vector<std::string> weight_names_;
  llvm::DenseMap<mlir::Value, Place> places_;
  llvm::DenseMap<mlir::Value, bool> placed_in_tail_;
  llvm::StringMap<std::int64_t> weight_index_;
  mlir::Value ids_, positions_, slots_, logits_;
  bool in_tail_ = false;
};

}  // namespace qwen3c
