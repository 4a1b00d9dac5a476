// The Vulkan backend, compiler side: q3 module -> dispatch plan + specialised compute
// shaders (SPIR-V, validated), and the weights in the format the shaders read, which is the
// CPU's: row-major matrices, quantised rows as consecutive 32-element blocks.

#include <cstring>

#include "backends/backend.h"
#include "backends/vulkan/runtime/dispatch_plan.h"
#include "backends/vulkan/compiler/lowering.h"
#include "backends/vulkan/compiler/shader_compiler.h"
#include "backends/weight_writer.h"
#include "ir/Q3.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "backends/forward_lowering.h"

namespace qwen3c::vulkan {

namespace {

// The shaders read the CPU's layouts: vectors, rows, rows of 32-element blocks.
class VulkanBackend : public RowMajorBackend {
 public:
  std::optional<std::string> unsupported(mlir::Operation* op) const override {
    if (auto why = norm_dtypes_differ(op)) return why;
    // The logits are written through the binding of an op's first output.
    if (auto n = mlir::dyn_cast<q3::AddRmsNormOp>(op)) {
      for (mlir::Operation* user : n.getNormalized().getUsers()) {
        if (mlir::isa<mlir::func::ReturnOp>(user)) return "its second result (the normalized rows) cannot be the logits";
      }
    }
    return std::nullopt;
  }

  void lower(mlir::ModuleOp module, const BackendOptions& options, const WeightSource& weights,
             ArtifactWriter& writer) override {
    LoweredModule lowered = lower_to_dispatches(module);
    std::vector<std::vector<std::uint32_t>> code;
    for (const ShaderVariant& v : lowered.variants) code.push_back(compile_shader(v));
    write_weights(module, *this, "vulkan", options, weights, writer);
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

const BackendRegistration registration("vulkan", "SPIR-V compute shaders for any Vulkan 1.1 device (--device at run time)",
                                       [] { return std::make_unique<VulkanBackend>(); });

}  // namespace

}  // namespace qwen3c::vulkan
