#pragma once
// The compiler as a library: a Hugging Face model folder (or a config.json) in, an
// optimised q3 module or a .q3c artifact out. The `qwen3c compile` command and the tests
// use it; so can any program that compiles models.
//
//   qwen3c::CompileOptions options;
//   options.model = "/models/Qwen3-4B";
//   options.quant = "q4_0";
//   absl::StatusOr<qwen3c::CompileSummary> done = qwen3c::compile_model(options, "qwen3-4b.q3c");
//   if (!done.ok()) std::cerr << done.status().message() << "\n";
//
// Errors come back as absl::Status: kInvalidArgument for bad input or options (the message
// names the file and field, or the op), kUnimplemented for a module the target backend
// does not support (every op and weight it cannot run, named), kInternal for a defect of
// the compiler itself.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/backend.h"
#include "ir/module_info.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "runtime/core/model_config.h"

namespace qwen3c {

struct CompileOptions {
  std::string model;              // a model folder (config.json + safetensors) or a config.json
  std::string target = "cpu";     // a registered backend (describe_backends())
  std::string cpu;                // CPU backend: an LLVM CPU name; "" = this machine
  int opt_level = 2;              // 0: the graph as built; 2: fused, quantised, planned
  std::string quant = "bf16";     // bf16 (the checkpoint's formats), q8_0 or q4_0
  std::string precision;          // f32 or fast; "" = the backend's default (Backend::precisions)
  std::string passes;             // "a,b,c": these passes instead of the -O pipeline
  bool random_weights = false;    // weights generated at load from `seed` (benchmarks)
  std::uint64_t seed = 0;
  std::string random_dtype;       // with random_weights: "bf16" (default) or "f32"
  bool print_ir_after_all = false;  // the module after every pass, on stderr
  std::string print_ir_after;       // ... after the named pass only
  std::function<void(std::size_t done, std::size_t total, const std::string& tensor)> progress;
};

struct CompileSummary {
  std::string config_path;
  ModelConfig config;
  q3::ModuleInfo info;  // of the module as built (parameters as in the checkpoint)
};

// The module of `options.model`, optimised as the options say, in `context` (which must
// outlive it). With `for_target`, weights are also packed and memory planned for the
// target, as an artifact needs.
absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>> build_module(mlir::MLIRContext& context,
                                                               const CompileOptions& options,
                                                               CompileSummary* summary = nullptr);

// Compiles `options.model` for `options.target` into an artifact at `output`.
absl::StatusOr<CompileSummary> compile_model(const CompileOptions& options, const std::string& output);

// Lowers a module someone built (an op-by-op test, a program's own graph) to an artifact:
// runs `options.passes` (default: the precision's activation rounding, weight packing and
// memory planning only), checks the
// target supports every op and weight format, and writes `config` as the model's. Weights
// come from `weights` by the names the q3.weight ops give (or their `source` lists).
absl::Status compile_module(mlir::ModuleOp module, const ModelConfig& config, const WeightSource& weights,
                            const CompileOptions& options, const std::string& output);

// A context with the q3 dialect and its dependencies loaded.
std::unique_ptr<mlir::MLIRContext> make_compiler_context();

}  // namespace qwen3c
