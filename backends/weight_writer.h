#pragma once
// Writes a module's weights into an artifact in the formats the IR declares: bf16 and f32 as
// they are (f16 widened to f32), q8_0 / q4_0 quantised here, stacked weights (SwiGLU)
// concatenated here, then rearranged into the backend's layouts, so no runtime ever repacks.

#include <optional>
#include <string>

#include "backends/backend.h"
#include "ir/Q3.h"

namespace qwen3c {

// The layout write_weights produces: vectors as they are, matrices row by row (quantised
// rows as consecutive blocks of 32): "vector", "rows", "rows-blocks32". Backends whose
// kernels read that register it under their name.
std::optional<std::string> row_major_layout(q3::WeightOp weight, std::string* why);

// A backend whose kernels read the layouts row_major_layout names, in every weight format
// (the CPU, Vulkan and portable backends).
class RowMajorBackend : public Backend {
 public:
  std::vector<DType> weight_formats() const override { return {DType::BF16, DType::F32, DType::Q8_0, DType::Q4_0}; }
  std::optional<std::string> weight_layout(q3::WeightOp weight, std::string* why) const override {
    return row_major_layout(weight, why);
  }
};

// Why kernels that read one norm dtype for both heads cannot run `op`: a
// q3.qk_norm_rope_append whose q and k norm weights differ in dtype.
std::optional<std::string> norm_dtypes_differ(mlir::Operation* op);

// The format a weight is stored in: its IR element type, f16 widened to f32.
DType stored_dtype(mlir::Type element);

// Every q3.weight of `module`, in declaration order (the artifact's tensor table), in the
// layout `backend` reads it in (Backend::pack). Throws when a weight was not packed for
// `backend` (its recorded layout differs from Backend::weight_layout's).
void write_weights(mlir::ModuleOp module, const Backend& backend, const std::string& name,
                   const BackendOptions& options, const WeightSource& source, ArtifactWriter& writer);

}  // namespace qwen3c
