// The CPU backend, compiler side: q3 module -> kernel schedule -> native shared object, and
// the weights in the format the kernels read (backends/weight_writer.h).

#include "backends/backend.h"
#include "backends/cpu/compiler/codegen.h"
#include "backends/cpu/runtime/cpu_abi.h"
#include "backends/cpu/runtime/cpu_manifest.h"
#include "backends/cpu/compiler/lowering.h"
#include "backends/weight_writer.h"
#include "ir/Q3.h"
#include "backends/forward_lowering.h"

namespace qwen3c::cpu {

namespace {

// The kernels read vectors as they are and matrices row by row (quantised rows as
// consecutive blocks of 32).
class CpuBackend : public RowMajorBackend {
 public:
  std::optional<std::string> unsupported(mlir::Operation* op) const override { return norm_dtypes_differ(op); }

  void lower(mlir::ModuleOp module, const BackendOptions& options, const WeightSource& weights,
             ArtifactWriter& writer) override {
    Schedule schedule = lower_to_schedule(module);
    CompiledCode code = compile_schedule(schedule, options.target_cpu);
    write_weights(module, *this, "cpu", options, weights, writer);
    ArtifactRange range = writer.add_data(code.shared_object);
    CpuManifest manifest;
    manifest.target_cpu = code.cpu;
    manifest.target_features = code.features;
    manifest.entry = kEntryPoint;
    manifest.code = range;
    manifest.arena_floats_per_token = schedule.arena_floats_per_token;
    manifest.scratch_floats_per_token = schedule.scratch_floats_per_token;
    manifest.scratch_floats_fixed = schedule.scratch_floats_fixed;
    manifest.kernel_calls = static_cast<std::int64_t>(schedule.calls.size());
    writer.manifest()["backend"] = manifest.to_json();
  }
};

const BackendRegistration registration("cpu", "native code for one x86-64 CPU through LLVM (--cpu)",
                                       [] { return std::make_unique<CpuBackend>(); });

}  // namespace

}  // namespace qwen3c::cpu
