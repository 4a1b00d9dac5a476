// The CPU backend, compiler side: q3 module -> kernel schedule -> native shared object, and
// the weights in the dtype the kernels read (bf16 stays bf16; f32 stays f32; f16 is widened
// to f32).

#include <cstring>

#include "backends/backend.h"
#include "backends/cpu/codegen.h"
#include "backends/cpu/cpu_abi.h"
#include "backends/cpu/schedule.h"
#include "ir/Q3.h"
#include "runtime/error.h"
#include "runtime/half.h"

namespace qwen3c::cpu {

namespace {

DType stored_dtype(mlir::Type element) {
  if (element.isBF16()) return DType::BF16;
  return DType::F32;
}

void write_weights(mlir::ModuleOp module, const BackendOptions& options, const WeightSource& source,
                   ArtifactWriter& writer) {
  std::vector<q3::WeightOp> weights(module.getOps<q3::WeightOp>().begin(), module.getOps<q3::WeightOp>().end());
  std::vector<std::uint8_t> widened;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    auto type = mlir::cast<mlir::RankedTensorType>(weights[i].getType());
    const std::string name = weights[i].getSymName().str();
    const std::vector<std::int64_t> shape(type.getShape().begin(), type.getShape().end());
    const DType dtype = stored_dtype(type.getElementType());
    if (source.generated()) {
      writer.add_generated_tensor(name, dtype, shape);
    } else {
      const TensorView& tensor = source.tensor(name);
      if (tensor.shape != shape) throw Error("CPU backend: checkpoint tensor '" + name + "' changed shape");
      if (tensor.dtype == DType::F16) {
        widened.resize(tensor.bytes.size() * 2);
        auto* out = reinterpret_cast<float*>(widened.data());
        for (std::size_t e = 0; e < tensor.bytes.size() / 2; ++e) {
          std::uint16_t h;
          std::memcpy(&h, tensor.bytes.data() + 2 * e, 2);
          out[e] = f16_to_f32(h);
        }
        writer.add_tensor(name, dtype, shape, widened);
        widened = {};
      } else if (tensor.dtype == dtype) {
        writer.add_tensor(name, dtype, shape, tensor.bytes);
      } else {
        throw Error("CPU backend: tensor '" + name + "' is " + std::string(dtype_name(tensor.dtype)) +
                    " in the checkpoint but " + std::string(dtype_name(dtype)) + " in the IR");
      }
      source.release(name);
    }
    if (options.progress) options.progress(i + 1, weights.size(), name);
  }
}

class CpuBackend : public Backend {
 public:
  void lower(mlir::ModuleOp module, const BackendOptions& options, const WeightSource& weights,
             ArtifactWriter& writer) override {
    Schedule schedule = plan_schedule(module);
    CompiledCode code = compile_schedule(schedule, options.target_cpu);
    write_weights(module, options, weights, writer);
    ArtifactRange range = writer.add_data(code.shared_object);
    writer.manifest()["backend"] = {
        {"name", "cpu"},
        {"target_cpu", code.cpu},
        {"target_features", code.features},
        {"entry", kEntryPoint},
        {"code", ArtifactWriter::range_to_json(range)},
        {"arena_floats_per_token", schedule.arena_floats_per_token},
        {"kernel_calls", schedule.calls.size()},
    };
  }
};

const BackendRegistration registration("cpu", [] { return std::make_unique<CpuBackend>(); });

}  // namespace

}  // namespace qwen3c::cpu
