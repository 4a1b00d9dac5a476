#pragma once
// Writes a module's weights into an artifact in the formats the IR declares: bf16 and f32 as
// they are (f16 widened to f32), q8_0 / q4_0 quantised here, stacked weights (SwiGLU)
// concatenated here, so no runtime ever repacks. Shared by every backend whose kernels read
// plain row-major matrices; a backend names its layouts through `layout_of`.

#include <optional>
#include <string>

#include "backends/backend.h"
#include "ir/Q3.h"
#include "passes/weight_layouts.h"

namespace qwen3c {

// The layout write_weights produces: vectors as they are, matrices row by row (quantised
// rows as consecutive blocks of 32): "vector", "rows", "rows-blocks32". Backends whose
// kernels read that register it under their name.
std::optional<std::string> row_major_layout(q3::WeightOp weight, std::string* why);

// The format a weight is stored in: its IR element type, f16 widened to f32.
DType stored_dtype(mlir::Type element);

// Every q3.weight of `module`, in declaration order (the artifact's tensor table). Throws
// when a weight was not packed for `backend` (its layout differs from `layout_of`'s).
void write_weights(mlir::ModuleOp module, const std::string& backend, const WeightLayoutProvider& layout_of,
                   const BackendOptions& options, const WeightSource& source, ArtifactWriter& writer);

}  // namespace qwen3c
