#include "backends/backend.h"

#include <algorithm>
#include <map>

#include "backends/weight_writer.h"
#include "ir/op_visitor.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "passes/weight_layouts.h"
#include "runtime/core/error.h"

namespace qwen3c {

namespace {

struct Registered {
  std::string summary;
  std::function<std::unique_ptr<Backend>()> factory;
};

std::map<std::string, Registered>& registry() {
  static std::map<std::string, Registered> backends;
  return backends;
}

bool reads(const Backend& backend, DType format) {
  const std::vector<DType> formats = backend.weight_formats();
  return std::find(formats.begin(), formats.end(), format) != formats.end();
}

}  // namespace

BackendRegistration::BackendRegistration(const std::string& name, const std::string& summary,
                                         std::function<std::unique_ptr<Backend>()> factory) {
  registry()[name] = {summary, factory};
  // q3-pack-weights asks the backend itself; one instance serves every question.
  std::shared_ptr<Backend> instance = factory();
  WeightLayoutRegistration(name, [instance](q3::WeightOp weight, std::string* why) {
    return instance->weight_layout(weight, why);
  });
}

std::unique_ptr<Backend> create_backend(const std::string& name) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (const auto& n : registered_backends()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown target '" + name + "' (available: " + known + ")");
  }
  return it->second.factory();
}

std::vector<std::string> registered_backends() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : registry()) names.push_back(name);
  return names;
}

std::string describe_backends() {
  std::string text;
  for (const auto& [name, entry] : registry()) text += (text.empty() ? "  " : "\n  ") + name + ": " + entry.summary;
  return text;
}

void check_weight_format(const Backend& backend, const std::string& name, DType format) {
  if (!reads(backend, format)) {
    throw Unsupported("the " + name + " backend does not read " + std::string(dtype_name(format)) + " weights");
  }
}

std::string resolve_precision(const Backend& backend, const std::string& name, const std::string& requested) {
  const std::vector<std::string> precisions = backend.precisions();
  if (requested.empty()) return precisions.front();
  if (std::find(precisions.begin(), precisions.end(), requested) != precisions.end()) return requested;
  std::string known;
  for (const std::string& p : precisions) known += (known.empty() ? "" : ", ") + p;
  throw Unsupported("the " + name + " backend has no precision '" + requested + "' (it has: " + known + ")");
}

void check_supported(const Backend& backend, const std::string& name, mlir::ModuleOp module) {
  std::vector<std::string> problems;
  for (auto weight : module.getOps<q3::WeightOp>()) {
    const DType format = stored_dtype(mlir::cast<mlir::RankedTensorType>(weight.getType()).getElementType());
    if (!reads(backend, format)) {
      problems.push_back("weight '" + weight.getSymName().str() + "' is " + std::string(dtype_name(format)) +
                         ", a format it does not read");
    }
  }
  module.walk([&](mlir::Operation* op) {
    if (op->getDialect() == nullptr || op->getDialect()->getNamespace() != "q3") return;
    if (mlir::isa<q3::WeightOp, q3::GetWeightOp>(op)) return;
    if (auto why = backend.unsupported(op)) problems.push_back(q3::describe(op) + ": " + *why);
    const std::vector<std::string> precisions = backend.precisions();
    auto product = mlir::dyn_cast<q3::MatrixProductOpInterface>(op);
    if (product && !product.getActivationRounding().empty() &&
        std::find(precisions.begin(), precisions.end(), "fast") == precisions.end()) {
      problems.push_back(q3::describe(op) + ": rounded activations (--precision fast) are not implemented");
    }
  });
  if (problems.empty()) return;
  std::string text = "the " + name + " backend cannot compile this module:";
  for (const std::string& p : problems) text += "\n  " + p;
  throw Unsupported(text);
}

}  // namespace qwen3c
