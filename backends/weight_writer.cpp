#include "backends/weight_writer.h"

#include <cstring>

#include "ir/Q3.h"
#include "passes/pass_utils.h"
#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/core/quantization.h"

namespace qwen3c {

std::optional<std::string> row_major_layout(q3::WeightOp weight, std::string* why) {
  auto type = mlir::cast<mlir::RankedTensorType>(weight.getType());
  if (type.getRank() == 1) return std::string("vector");
  if (type.getRank() == 2) {
    return std::string(mlir::isa<q3::Q8_0Type, q3::Q4_0Type>(type.getElementType()) ? "rows-blocks32" : "rows");
  }
  *why = "the kernels read vectors and matrices only";
  return std::nullopt;
}

std::optional<std::string> norm_dtypes_differ(mlir::Operation* op) {
  auto p = mlir::dyn_cast<q3::QkNormRopeAppendOp>(op);
  auto dtype = [](mlir::Value v) { return mlir::cast<mlir::RankedTensorType>(v.getType()).getElementType(); };
  if (p && dtype(p.getQueryNorm()) != dtype(p.getKeyNorm())) return "the q and k norm weights must share a dtype";
  return std::nullopt;
}

DType stored_dtype(mlir::Type element) {
  if (element.isBF16()) return DType::BF16;
  if (mlir::isa<q3::Q8_0Type>(element)) return DType::Q8_0;
  if (mlir::isa<q3::Q4_0Type>(element)) return DType::Q4_0;
  return DType::F32;
}

namespace {

// Appends a checkpoint tensor's values as f32.
void append_as_f32(const TensorView& t, std::vector<float>& out) {
  const std::size_t n = static_cast<std::size_t>(element_count(t.shape));
  const std::size_t base = out.size();
  out.resize(base + n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t h;
    switch (t.dtype) {
      case DType::F32:
        std::memcpy(&out[base + i], t.bytes.data() + 4 * i, 4);
        break;
      case DType::BF16:
        std::memcpy(&h, t.bytes.data() + 2 * i, 2);
        out[base + i] = bf16_to_f32(h);
        break;
      case DType::F16:
        std::memcpy(&h, t.bytes.data() + 2 * i, 2);
        out[base + i] = f16_to_f32(h);
        break;
      default:
        throw Error("tensor '" + t.name + "' has a dtype weights cannot have");
    }
  }
}

// The bytes of a weight in its stored format, from its checkpoint sources (stacked along
// the first dimension). Peak memory: this one weight.
std::vector<std::uint8_t> weight_bytes(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape,
                                       const std::vector<std::string>& sources, const WeightSource& source) {
  std::int64_t rows = 0;
  for (const std::string& s : sources) {
    const TensorView& t = source.tensor(s);
    if (t.shape.size() != shape.size() || (shape.size() == 2 && t.shape[1] != shape[1])) {
      throw Error("checkpoint tensor '" + s + "' does not fit weight '" + name + "'");
    }
    rows += shape.size() == 2 ? t.shape[0] : element_count(t.shape);
  }
  if (rows != shape[0]) throw Error("the sources of '" + name + "' do not add up to its shape");
  std::vector<std::uint8_t> bytes;
  bool all_bf16 = true;
  for (const std::string& s : sources) all_bf16 &= source.tensor(s).dtype == DType::BF16;
  if (dtype == DType::BF16) {
    if (!all_bf16) throw Error("weight '" + name + "' is bf16 in the IR but not in the checkpoint");
    for (const std::string& s : sources) {
      const TensorView& t = source.tensor(s);
      bytes.insert(bytes.end(), t.bytes.begin(), t.bytes.end());
    }
    return bytes;
  }
  std::vector<float> values;
  for (const std::string& s : sources) append_as_f32(source.tensor(s), values);
  if (dtype == DType::F32) {
    bytes.resize(values.size() * 4);
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
  }
  bytes.resize(static_cast<std::size_t>(tensor_bytes(dtype, shape)));
  const std::size_t row = static_cast<std::size_t>(shape[1]);
  const std::size_t row_bytes = static_cast<std::size_t>(tensor_bytes(dtype, {1, shape[1]}));
  for (std::int64_t r = 0; r < shape[0]; ++r) {
    try {
      quantize_row(dtype, values.data() + r * row, row, bytes.data() + r * row_bytes);
    } catch (const Error& e) {
      throw Error("weight '" + name + "' row " + std::to_string(r) + ": " + e.what());
    }
  }
  return bytes;
}

}  // namespace

void write_weights(mlir::ModuleOp module, const Backend& backend, const std::string& backend_name,
                   const BackendOptions& options, const WeightSource& source, ArtifactWriter& writer) {
  std::vector<q3::WeightOp> weights(module.getOps<q3::WeightOp>().begin(), module.getOps<q3::WeightOp>().end());
  for (std::size_t i = 0; i < weights.size(); ++i) {
    auto type = mlir::cast<mlir::RankedTensorType>(weights[i].getType());
    const std::string name = weights[i].getSymName().str();
    const std::vector<std::int64_t> shape(type.getShape().begin(), type.getShape().end());
    const DType dtype = stored_dtype(type.getElementType());
    std::string why;
    const auto layout = backend.weight_layout(weights[i], &why);
    if (!weights[i].getLayout() || !layout || *weights[i].getLayout() != *layout) {
      throw Error(backend_name + " backend: weight '" + name + "' is not packed for it (run q3-pack-weights{target=" +
                  backend_name + "})");
    }
    if (source.generated()) {
      writer.add_generated_tensor(name, dtype, shape, *layout);
    } else {
      const std::vector<std::string> sources = sources_of(weights[i]);
      writer.add_tensor(name, dtype, shape, *layout,
                        backend.pack(*layout, dtype, shape, weight_bytes(name, dtype, shape, sources, source)));
      for (const std::string& s : sources) source.release(s);
    }
    if (options.progress) options.progress(i + 1, weights.size(), name);
  }
}

}  // namespace qwen3c
