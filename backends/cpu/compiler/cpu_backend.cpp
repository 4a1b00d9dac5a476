// The CPU backend, compiler side: q3 module -> kernel schedule -> native shared object, and
// the weights in the format the kernels read (backends/weight_writer.h).

#include "backends/backend.h"
#include "backends/cpu/compiler/codegen.h"
#include "backends/cpu/runtime/cpu_abi.h"
#include "backends/cpu/runtime/cpu_manifest.h"
#include "backends/cpu/compiler/lowering.h"
#include "backends/cpu/compiler/weight_layouts.h"
#include "backends/cpu/runtime/packing.h"
#include "backends/weight_writer.h"
#include "ir/Q3.h"
#include "backends/forward_lowering.h"

namespace qwen3c::cpu {

namespace {

class CpuBackend : public Backend {
 public:
  std::vector<std::string> precisions() const override { return {"fast", "f32"}; }
  std::vector<DType> weight_formats() const override { return {DType::BF16, DType::F32, DType::Q8_0, DType::Q4_0}; }
  std::optional<std::string> unsupported(mlir::Operation* op) const override {
    if (auto why = norm_dtypes_differ(op)) return why;
    // Rounded activations are a feature of the packed kernels (bf16 with an even input count,
    // q8_0, q4_0); f32 weights are never rounded.
    auto product = mlir::dyn_cast<q3::MatrixProductOpInterface>(op);
    if (product && !product.getActivationRounding().empty()) {
      auto get = product.getWeight().getDefiningOp<q3::GetWeightOp>();
      auto decl = get ? mlir::SymbolTable::lookupNearestSymbolFrom<q3::WeightOp>(op, get.getNameAttr()) : nullptr;
      if (!decl || !decl.getLayout() || !is_packed_layout(decl.getLayout()->str())) {
        return "--precision fast needs the weight packed (bf16 matrices with an even number of inputs)";
      }
    }
    return std::nullopt;
  }
  // Matrices packed in groups of 16 rows (runtime/packing.h), vectors as they are.
  std::optional<std::string> weight_layout(q3::WeightOp weight, std::string* why) const override {
    return cpu_weight_layout(weight, why);
  }
  std::vector<std::uint8_t> pack(const std::string& layout, DType dtype, std::span<const std::int64_t> shape,
                                 std::vector<std::uint8_t> row_major) const override {
    return pack_weight(layout, dtype, shape, std::move(row_major));
  }

  void lower(mlir::ModuleOp module, const BackendOptions& options, const WeightSource& weights,
             ArtifactWriter& writer) override {
    Schedule schedule = lower_to_schedule(module);
    // The tensor table first: the code carries a fingerprint of it (CpuManifest::fingerprint_text).
    write_weights(module, *this, "cpu", options, weights, writer);
    CpuManifest manifest;
    manifest.entry = kEntryPoint;
    manifest.arena_floats_per_token = schedule.arena_floats_per_token;
    manifest.scratch_floats_per_token = schedule.scratch_floats_per_token;
    manifest.scratch_floats_fixed = schedule.scratch_floats_fixed;
    manifest.kernel_calls = static_cast<std::int64_t>(schedule.calls.size());
    for (const KernelCall& call : schedule.calls) {
      manifest.kernels.push_back(call.kernel);
      manifest.kernel_barriers.push_back(std::count_if(call.args.begin(), call.args.end(),
                                                       [](const Operand& o) { return o.kind == Operand::Kind::Barrier; }));
      // The weights a call reads whole (a lookup reads only its tokens' rows of the table).
      std::vector<std::int64_t>& weights = manifest.kernel_weights.emplace_back();
      const bool lookup = call.kernel.find("_embedding_") != std::string::npos;
      for (const Operand& o : call.args) {
        if (o.kind == Operand::Kind::Weight && !lookup) weights.push_back(o.value);
      }
    }
    CompiledCode code =
        compile_schedule(schedule, options.target_cpu, CpuManifest::fingerprint_text(writer.manifest(), manifest));
    manifest.target_cpu = code.cpu;
    manifest.target_features = code.features;
    manifest.kernel_tier = code.kernel_tier;
    manifest.code = writer.add_data(code.shared_object);
    writer.manifest()["backend"] = manifest.to_json();
  }
};

const BackendRegistration registration("cpu", "native code for one x86-64 CPU through LLVM (--cpu)",
                                       [] { return std::make_unique<CpuBackend>(); });

}  // namespace

}  // namespace qwen3c::cpu
