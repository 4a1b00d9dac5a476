// The Vulkan backend, compiler side: q3 module -> dispatch plan + specialised compute
// shaders (SPIR-V, validated), and the weights in the format the shaders read, which is the
// CPU's: row-major matrices, quantised rows as consecutive 32-element blocks.

#include <cstring>

#include "backends/backend.h"
#include "backends/vulkan/runtime/dispatch_plan.h"
#include "backends/vulkan/compiler/planner.h"
#include "backends/vulkan/compiler/shader_compiler.h"
#include "backends/weight_writer.h"
#include "ir/Q3.h"
#include "passes/weight_layouts.h"

namespace qwen3c::vulkan {

namespace {

// The shaders read the CPU's layouts: vectors, rows, rows of 32-element blocks.
const WeightLayoutRegistration layouts("vulkan", row_major_layout);

class VulkanBackend : public Backend {
 public:
  void lower(mlir::ModuleOp module, const BackendOptions& options, const WeightSource& weights,
             ArtifactWriter& writer) override {
    LoweredModule lowered = lower_to_dispatches(module);
    std::vector<std::vector<std::uint32_t>> code;
    for (const ShaderVariant& v : lowered.variants) code.push_back(compile_shader(v));
    write_weights(module, "vulkan", row_major_layout, options, weights, writer);
    for (std::size_t i = 0; i < code.size(); ++i) {
      std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(code[i].data()), code[i].size() * 4);
      lowered.plan.shaders[i].code = writer.add_data(bytes);
    }
    nlohmann::json section = plan_to_json(lowered.plan);
    section["name"] = "vulkan";
    section["workgroup_size"] = kWorkgroupSize;
    writer.manifest()["backend"] = std::move(section);
  }
};

const BackendRegistration registration("vulkan", [] { return std::make_unique<VulkanBackend>(); });

}  // namespace

}  // namespace qwen3c::vulkan
