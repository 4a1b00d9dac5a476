#include "backends/compiler.h"

#include <map>
#include <memory>

#include "frontend/checkpoint.h"
#include "frontend/graph_builder.h"
#include "runtime/core/strict_json.h"
#include "ir/Q3.h"
#include "ir/registration.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "passes/Passes.h"
#include "passes/registration.h"
#include "runtime/core/error.h"
#include "runtime/core/input_file.h"
#include "runtime/core/mapped_file.h"
#include "runtime/core/model_config_json.h"
#include "runtime/text/tokenizer.h"

namespace qwen3c {

namespace {

namespace fs = std::filesystem;

// Runs `body`, turning the exceptions the compiler's parts throw into a Status.
template <class F>
absl::Status guarded(F&& body) {
  try {
    body();
    return absl::OkStatus();
  } catch (const Unsupported& e) {
    return absl::UnimplementedError(e.what());
  } catch (const Error& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while compiling");
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
}

std::optional<DType> quant_format(const std::string& quant) {
  if (quant == "bf16") return std::nullopt;
  if (quant == "q8_0") return DType::Q8_0;
  if (quant == "q4_0") return DType::Q4_0;
  throw Error("--quant must be bf16, q8_0 or q4_0, not '" + quant + "'");
}

void enable_ir_printing(mlir::MLIRContext& context, mlir::PassManager& pm, const CompileOptions& options) {
  if (!options.print_ir_after_all && options.print_ir_after.empty()) return;
  context.disableMultithreading();  // IR printing at module scope needs it
  const std::string only = options.print_ir_after;
  pm.enableIRPrinting([](mlir::Pass*, mlir::Operation*) { return false; },
                      [only](mlir::Pass* pass, mlir::Operation*) { return only.empty() || pass->getArgument() == only; },
                      /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false);
}

// What an artifact needs whatever the passes did: layouts chosen, memory planned.
void finish_for_target(mlir::MLIRContext& context, mlir::ModuleOp module, const std::string& target) {
  mlir::PassManager finish(&context);
  bool packed = true;
  for (auto weight : module.getOps<q3::WeightOp>()) packed &= weight.getLayout().has_value();
  if (!packed) {
    PackWeightsOptions p;
    p.target = target;
    finish.addPass(createPackWeights(p));
  }
  if (!module->hasAttr(kArenaSizeAttr)) finish.addPass(createPlanMemory());
  if (mlir::failed(finish.run(module))) throw Error("weight packing or memory planning failed (see the diagnostics above)");
}

// Runs the -O pipeline (or the named passes) with the verifier after every pass.
void optimise(mlir::MLIRContext& context, mlir::ModuleOp module, const CompileOptions& options,
              const std::string& precision, bool for_target) {
  static const bool registered = (register_passes(), true);  // names for --passes
  (void)registered;
  mlir::PassManager pm(&context);
  pm.enableVerifier(true);
  if (!options.passes.empty()) {
    add_passes_by_name(pm, options.passes);
  } else {
    build_pipeline(pm, PipelineOptions{options.opt_level, options.quant, options.target, precision});
  }
  enable_ir_printing(context, pm, options);
  if (mlir::failed(pm.run(module))) throw Error("the pass pipeline failed (see the diagnostics above)");
  if (for_target) finish_for_target(context, module, options.target);
}

class CheckpointWeights : public WeightSource {
 public:
  explicit CheckpointWeights(const Checkpoint* checkpoint) : checkpoint_(checkpoint) {}
  bool generated() const override { return checkpoint_ == nullptr; }
  const TensorView& tensor(const std::string& name) const override { return checkpoint_->tensor(name); }
  void release(const std::string& name) const override { checkpoint_->release(name); }

 private:
  const Checkpoint* checkpoint_;
};

// tokenizer.json and tokenizer_config.json from the model folder, when present. Both are
// parsed first (the tokenizer built, its split regex compiled): a file the runtime would
// reject is reported now, naming it, not when the artifact is run.
void embed_tokenizer(const std::string& model, ArtifactWriter& writer) {
  if (!is_directory_path(model)) return;
  nlohmann::json section = nlohmann::json::object();
  for (const std::string file : {"tokenizer.json", "tokenizer_config.json"}) {
    const fs::path path = fs::path(model) / file;
    if (!path_exists(path)) continue;
    MappedFile mapped(path.string());
    const std::string_view text(reinterpret_cast<const char*>(mapped.data()), mapped.size());
    if (file == "tokenizer.json") {
      Tokenizer::from_json(text, path.string());
    } else {
      parse_strict_json(text, path.string());
    }
    section[file] = ArtifactWriter::range_to_json(writer.add_data(mapped.bytes()));
  }
  if (!section.empty()) writer.manifest()["tokenizer"] = section;
}

struct BuiltModel {
  ModelSource source;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  CompileSummary summary;
  std::string precision;  // resolved for the target
};

// The model's module as built, with the options checked that need no pass to run.
BuiltModel build(mlir::MLIRContext& context, const CompileOptions& options, bool for_target, bool load_weights) {
  if (!options.random_dtype.empty() && !options.random_weights) {
    throw Error("compile: --dtype applies only with --random-weights");
  }
  if (options.opt_level != 0 && options.opt_level != 2) throw Error("-O must be 0 or 2");
  const std::optional<DType> quant = quant_format(options.quant);
  std::unique_ptr<Backend> backend = create_backend(options.target);  // an unknown target fails here
  if (quant) check_weight_format(*backend, options.target, *quant);

  BuiltModel built;
  built.precision = resolve_precision(*backend, options.target, options.precision);
  built.source = open_model_source(options.model, load_weights);
  std::map<std::string, DType> dtypes;
  if (built.source.checkpoint) {
    for (const auto& [name, view] : built.source.checkpoint->tensors()) dtypes[name] = view.dtype;
  }
  ModelConfig config = built.source.config;
  if (options.random_weights) {
    if (options.random_dtype == "f32") config.dtype = DType::F32;
    else if (options.random_dtype == "bf16" || config.dtype != DType::F32) config.dtype = DType::BF16;
  }
  built.module = build_qwen3_module(context, config, dtypes);
  if (mlir::failed(mlir::verify(*built.module))) throw std::logic_error("the generated q3 module does not verify");
  built.summary = {built.source.config_path, config, q3::summarize(*built.module)};
  if (!options.passes.empty() || options.opt_level > 0 || quant || for_target || built.precision != "f32") {
    optimise(context, *built.module, options, built.precision, for_target);
  }
  return built;
}

void lower_to_artifact(mlir::ModuleOp module, const ModelConfig& config, const nlohmann::json& weights_section,
                       const WeightSource& weights, const CompileOptions& options, const std::string& precision,
                       const std::string& output, const std::string& tokenizer_folder) {
  std::unique_ptr<Backend> backend = create_backend(options.target);
  check_supported(*backend, options.target, module);
  ArtifactWriter writer(output);
  writer.manifest()["model"] = model_config_to_json(config);
  writer.manifest()["precision"] = precision;
  writer.manifest()["weights"] = weights_section;
  BackendOptions backend_options;
  backend_options.target_cpu = options.cpu;
  backend_options.progress = options.progress;
  backend->lower(module, backend_options, weights, writer);
  if (!tokenizer_folder.empty()) embed_tokenizer(tokenizer_folder, writer);
  writer.finish();
}

}  // namespace

std::unique_ptr<mlir::MLIRContext> make_compiler_context() {
  mlir::DialectRegistry registry;
  q3::register_dialects(registry);
  auto context = std::make_unique<mlir::MLIRContext>(registry);
  context->loadAllAvailableDialects();
  return context;
}

absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>> build_module(mlir::MLIRContext& context,
                                                               const CompileOptions& options,
                                                               CompileSummary* summary) {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  absl::Status status = guarded([&] {
    // A model folder's checkpoint is validated (and gives the weight dtypes) even for IR.
    BuiltModel built = build(context, options, /*for_target=*/false, /*load_weights=*/!options.random_weights);
    if (summary != nullptr) *summary = built.summary;
    module = std::move(built.module);
  });
  if (!status.ok()) return status;
  return module;
}

absl::StatusOr<CompileSummary> compile_model(const CompileOptions& options, const std::string& output) {
  CompileSummary summary;
  absl::Status status = guarded([&] {
    if (output.empty()) throw Error("compile: an output file is required to write an artifact");
    auto context = make_compiler_context();
    BuiltModel built = build(*context, options, /*for_target=*/true, /*load_weights=*/!options.random_weights);
    if (!options.random_weights && !built.source.checkpoint) {
      throw Error(options.model + ": a bare config.json has no weights; use --random-weights or a model folder");
    }
    const nlohmann::json weights_section = options.random_weights
                                               ? nlohmann::json{{"source", "random"}, {"seed", options.seed}}
                                               : nlohmann::json{{"source", "stored"}};
    CheckpointWeights weights(built.source.checkpoint.get());
    lower_to_artifact(*built.module, built.summary.config, weights_section, weights, options, built.precision, output,
                      options.model);
    summary = built.summary;
  });
  if (!status.ok()) return status;
  return summary;
}

absl::Status compile_module(mlir::ModuleOp module, const ModelConfig& config, const WeightSource& weights,
                            const CompileOptions& options, const std::string& output) {
  return guarded([&] {
    mlir::MLIRContext& context = *module.getContext();
    if (mlir::failed(mlir::verify(module))) throw Error("the module does not verify (see the diagnostics above)");
    const std::string precision = resolve_precision(*create_backend(options.target), options.target, options.precision);
    if (!options.passes.empty()) {
      optimise(context, module, options, precision, /*for_target=*/true);
    } else {
      if (precision == "fast") {
        mlir::PassManager round(&context);
        round.addPass(createRoundActivations());
        if (mlir::failed(round.run(module))) throw Error("rounding the activations failed");
      }
      finish_for_target(context, module, options.target);
    }
    const nlohmann::json weights_section = weights.generated()
                                               ? nlohmann::json{{"source", "random"}, {"seed", options.seed}}
                                               : nlohmann::json{{"source", "stored"}};
    lower_to_artifact(module, config, weights_section, weights, options, precision, output, "");
  });
}

}  // namespace qwen3c
