#pragma once
// One dispatch over the q3 compute ops, shared by everything that walks a forward function
// op by op: the backends' lowerings (through backends/forward_lowering.h) and the reference
// evaluator. Each op has its own visit(); the defaults say the op is unsupported, so a
// consumer handles exactly the ops it overrides and names the others in its error.

#include <string>

#include "ir/Q3.h"

namespace qwen3c::q3 {

// Every op a @forward body computes with (q3.get_weight and func.return are not: they
// move no data).
#define Q3_FOR_EACH_COMPUTE_OP(X) \
  X(EmbeddingOp)                  \
  X(RmsNormOp)                    \
  X(HeadRmsNormOp)                \
  X(RopeOp)                       \
  X(AttentionOp)                  \
  X(LinearOp)                     \
  X(SiluOp)                       \
  X(MulOp)                        \
  X(AddOp)                        \
  X(QkNormRopeAppendOp)           \
  X(CachedAttentionOp)            \
  X(SwigluOp)                     \
  X(RmsNormLinearOp)              \
  X(RmsNormSwigluOp)              \
  X(AddRmsNormOp)

class OpVisitor {
 public:
  virtual ~OpVisitor() = default;

  // Calls the visit() for `op`'s kind; q3.get_weight and func.return are skipped; any other
  // op goes to unsupported().
  void dispatch(mlir::Operation* op);

 protected:
#define Q3_DECLARE_VISIT(Op) \
  virtual void visit(Op op) { unsupported(op.getOperation()); }
  Q3_FOR_EACH_COMPUTE_OP(Q3_DECLARE_VISIT)
#undef Q3_DECLARE_VISIT

  // Throws qwen3c::Error: "<who()>: unsupported op q3.x at loc(...)".
  [[noreturn]] virtual void unsupported(mlir::Operation* op);
  // Who is walking, for error messages ("CPU backend", "reference evaluator").
  virtual std::string who() const = 0;
};

// "q3.linear at loc(...)": an op, for error messages.
std::string describe(mlir::Operation* op);

}  // namespace qwen3c::q3
