// The CPU backend, compiler side: q3 module -> kernel schedule -> native shared object, and
// the weights in the format the kernels read (backends/weight_writer.h).

#include "backends/backend.h"
#include "backends/cpu/codegen.h"
#include "backends/cpu/cpu_abi.h"
#include "backends/cpu/schedule.h"
#include "backends/weight_writer.h"
#include "ir/Q3.h"
#include "passes/weight_layouts.h"

namespace qwen3c::cpu {

namespace {

// The CPU kernels read vectors as they are and matrices row by row (quantised rows as
// consecutive blocks of 32): what q3-pack-weights records and write_weights produces.
std::optional<std::string> cpu_layout(q3::WeightOp weight, std::string* why) {
  auto type = mlir::cast<mlir::RankedTensorType>(weight.getType());
  if (type.getRank() == 1) return std::string("vector");
  if (type.getRank() == 2) {
    return std::string(mlir::isa<q3::Q8_0Type, q3::Q4_0Type>(type.getElementType()) ? "rows-blocks32" : "rows");
  }
  *why = "the CPU kernels read vectors and matrices only";
  return std::nullopt;
}

const WeightLayoutRegistration layouts("cpu", cpu_layout);

class CpuBackend : public Backend {
 public:
  void lower(mlir::ModuleOp module, const BackendOptions& options, const WeightSource& weights,
             ArtifactWriter& writer) override {
    Schedule schedule = plan_schedule(module);
    CompiledCode code = compile_schedule(schedule, options.target_cpu);
    write_weights(module, "cpu", cpu_layout, options, weights, writer);
    ArtifactRange range = writer.add_data(code.shared_object);
    writer.manifest()["backend"] = {
        {"name", "cpu"},
        {"target_cpu", code.cpu},
        {"target_features", code.features},
        {"entry", kEntryPoint},
        {"code", ArtifactWriter::range_to_json(range)},
        {"arena_floats_per_token", schedule.arena_floats_per_token},
        {"scratch_floats_per_token", schedule.scratch_floats_per_token},
        {"scratch_floats_fixed", schedule.scratch_floats_fixed},
        {"kernel_calls", schedule.calls.size()},
    };
  }
};

const BackendRegistration registration("cpu", [] { return std::make_unique<CpuBackend>(); });

}  // namespace

}  // namespace qwen3c::cpu
