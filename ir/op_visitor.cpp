#include "ir/op_visitor.h"

#include "llvm/Support/raw_ostream.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "runtime/core/error.h"

namespace qwen3c::q3 {

void OpVisitor::dispatch(mlir::Operation* op) {
  if (mlir::isa<GetWeightOp, mlir::func::ReturnOp>(op)) return;
#define Q3_DISPATCH(Op)                     \
  if (auto typed = mlir::dyn_cast<Op>(op)) { \
    visit(typed);                           \
    return;                                 \
  }
  Q3_FOR_EACH_COMPUTE_OP(Q3_DISPATCH)
#undef Q3_DISPATCH
  unsupported(op);
}

void OpVisitor::unsupported(mlir::Operation* op) { throw Error(who() + ": unsupported op " + describe(op)); }

std::string describe(mlir::Operation* op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << op->getName() << " at " << op->getLoc();
  return text;
}

}  // namespace qwen3c::q3
