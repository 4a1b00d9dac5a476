#include "backends/forward_function.h"

#include "frontend/graph_builder.h"
#include "ir/Q3.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/raw_ostream.h"
#include "runtime/core/error.h"

namespace qwen3c {

ForwardFunction forward_function(mlir::ModuleOp module) {
  auto forward = module.lookupSymbol<mlir::func::FuncOp>(kForwardFunction);
  if (!forward) throw Error("q3 module has no @forward function");
  mlir::Block& body = forward.getBody().front();
  ForwardFunction f;
  f.ids = body.getArgument(0);
  f.positions = body.getArgument(1);
  for (mlir::Operation& op : body) f.ops.push_back(&op);
  f.tail_start = f.ops.size();
  for (std::size_t i = 0; i < f.ops.size(); ++i) {
    if (mlir::isa<q3::AttentionOp, q3::CachedAttentionOp>(f.ops[i])) f.tail_start = i + 1;
  }
  if (f.tail_start == f.ops.size()) throw Error("q3 @forward has no attention op");
  auto ret = mlir::cast<mlir::func::ReturnOp>(body.getTerminator());
  if (ret.getNumOperands() != 1) throw Error("q3 @forward must return the logits only");
  f.logits = ret.getOperand(0);
  return f;
}

std::string describe(mlir::Operation* op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << op->getName() << " at " << op->getLoc();
  return text;
}

mlir::Type element_of(mlir::Value v) { return mlir::cast<mlir::RankedTensorType>(v.getType()).getElementType(); }
std::int64_t row_width(mlir::Value v) { return mlir::cast<mlir::RankedTensorType>(v.getType()).getDimSize(1); }

}  // namespace qwen3c
