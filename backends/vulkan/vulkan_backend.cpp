// The Vulkan backend, compiler side: q3 module -> dispatch plan + specialised compute
// shaders (SPIR-V, validated), and the weights in the format the shaders read, which is the
// CPU's: row-major matrices, quantised rows as consecutive 32-element blocks.

#include <cstring>

#include "backends/backend.h"
#include "backends/vulkan/dispatch_plan.h"
#include "backends/vulkan/planner.h"
#include "backends/vulkan/shader_compiler.h"
#include "backends/weight_writer.h"
#include "ir/Q3.h"
#include "passes/weight_layouts.h"

namespace qwen3c::vulkan {

namespace {

std::optional<std::string> vulkan_layout(q3::WeightOp weight, std::string* why) {
  auto type = mlir::cast<mlir::RankedTensorType>(weight.getType());
  if (type.getRank() == 1) return std::string("vector");
  if (type.getRank() == 2) {
    return std::string(mlir::isa<q3::Q8_0Type, q3::Q4_0Type>(type.getElementType()) ? "rows-blocks32" : "rows");
  }
  *why = "the Vulkan shaders read vectors and matrices only";
  return std::nullopt;
}

const WeightLayoutRegistration layouts("vulkan", vulkan_layout);

class VulkanBackend : public Backend {
 public:
  void lower(mlir::ModuleOp module, const BackendOptions& options, const WeightSource& weights,
             ArtifactWriter& writer) override {
    LoweredModule lowered = lower_to_dispatches(module);
    std::vector<std::vector<std::uint32_t>> code;
    for (const ShaderVariant& v : lowered.variants) code.push_back(compile_shader(v));
    write_weights(module, "vulkan", vulkan_layout, options, weights, writer);
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
