#pragma once
// Lowering of a q3 forward function (plain or fused, any weight format) to the Vulkan
// backend's dispatch plan and the shader variants it needs. Shaders are specialised by the
// model's dimensions (#defines), one variant per distinct set; arena offsets stay dynamic
// (push constants), so a model needs a few dozen variants, not one per layer.

#include <map>
#include <string>
#include <vector>

#include "backends/vulkan/runtime/dispatch_plan.h"
#include "mlir/IR/BuiltinOps.h"

namespace qwen3c::vulkan {

struct ShaderVariant {
  std::string kernel;                          // a file in shaders/, without ".comp"
  std::map<std::string, std::string> defines;  // NAME -> value
  std::string name() const;                    // "kernel NAME=value ..."
};

struct LoweredModule {
  Plan plan;  // shaders[i].code not yet filled in
  std::vector<ShaderVariant> variants;  // variants[i] is plan.shaders[i]
};

// Throws qwen3c::Error naming the op for anything the backend cannot run.
LoweredModule lower_to_dispatches(mlir::ModuleOp module);

}  // namespace qwen3c::vulkan
