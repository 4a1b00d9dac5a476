#pragma once
// What every backend reads first from an optimised q3 module: the @forward body in order,
// where its tail starts, and its inputs and output.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mlir/IR/BuiltinOps.h"

namespace qwen3c {

struct ForwardFunction {
  std::vector<mlir::Operation*> ops;  // the body, terminator included
  // Ops from here on come after the last attention op: they are row-local, so only the
  // rows whose logits are wanted need computing.
  std::size_t tail_start = 0;
  mlir::Value ids, positions, logits;
};

// Throws qwen3c::Error when there is no @forward, no attention op, or more than the logits
// is returned.
ForwardFunction forward_function(mlir::ModuleOp module);

// "q3.linear at loc(...)": an op, for error messages.
std::string describe(mlir::Operation* op);
// An activation's or weight's element type, and an activation's floats a row.
mlir::Type element_of(mlir::Value v);
std::int64_t row_width(mlir::Value v);

}  // namespace qwen3c
