// qwen3c compile MODEL_DIR|config.json [--emit ir|artifact] [--target cpu] -o FILE

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>

#include "backends/backend.h"
#include "frontend/checkpoint.h"
#include "frontend/graph_builder.h"
#include "ir/module_info.h"
#include "ir/registration.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "ir/Q3.h"
#include "passes/Passes.h"
#include "passes/registration.h"
#include "runtime/core/error.h"
#include "runtime/core/mapped_file.h"
#include "runtime/core/model_config_json.h"
#include "tools/commands/commands.h"
#include "tools/commands/format.h"

namespace qwen3c::cli {

namespace {

namespace fs = std::filesystem;

struct CompileOptions {
  std::string model;
  std::string emit = "artifact";
  std::string output;
  std::string target = "cpu";
  std::string cpu;
  bool random_weights = false;
  std::uint64_t seed = 0;
  std::string dtype;  // random weights only: bf16 | f32
  int opt_level = 2;
  std::string quant = "bf16";
  std::string passes;  // overrides the -O pipeline
  bool print_ir_after_all = false;
  std::string print_ir_after;
};

// Runs the -O pipeline (or --passes) with the verifier after every pass; memory is always
// planned last if the passes did not.
void optimise(mlir::MLIRContext& context, mlir::ModuleOp module, const CompileOptions& opts) {
  static const bool registered = (register_passes(), true);  // names for --passes
  (void)registered;
  mlir::PassManager pm(&context);
  pm.enableVerifier(true);
  if (!opts.passes.empty()) {
    add_passes_by_name(pm, opts.passes);
  } else {
    build_pipeline(pm, PipelineOptions{opts.opt_level, opts.quant, opts.target});
  }
  if (opts.print_ir_after_all || !opts.print_ir_after.empty()) {
    context.disableMultithreading();  // IR printing at module scope needs it
    const std::string only = opts.print_ir_after;
    pm.enableIRPrinting([](mlir::Pass*, mlir::Operation*) { return false; },
                        [only](mlir::Pass* pass, mlir::Operation*) {
                          return only.empty() || pass->getArgument() == only;
                        },
                        /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false);
  }
  if (mlir::failed(pm.run(module))) throw Error("the pass pipeline failed (see the diagnostics above)");
  // What the backend needs whatever --passes said: layouts chosen, memory planned.
  mlir::PassManager finish(&context);
  bool packed = true;
  for (auto weight : module.getOps<q3::WeightOp>()) packed &= weight.getLayout().has_value();
  if (!packed) {
    PackWeightsOptions p;
    p.target = opts.target;
    finish.addPass(createPackWeights(p));
  }
  if (!module->hasAttr(kArenaSizeAttr)) finish.addPass(createPlanMemory());
  if (mlir::failed(finish.run(module))) throw Error("weight packing or memory planning failed");
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

// "[#######.............]  12/398 model.layers.0.mlp.up_proj.weight" on a terminal.
void show_progress(std::size_t done, std::size_t total, const std::string& name) {
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / std::max<std::size_t>(total, 1));
  std::fprintf(stderr, "\r[%s%s] %zu/%zu %-60.60s", std::string(filled, '#').c_str(),
               std::string(kWidth - filled, '.').c_str(), done, total, name.c_str());
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

// tokenizer.json and tokenizer_config.json from the model folder, when present.
void embed_tokenizer(const std::string& model, ArtifactWriter& writer) {
  if (!fs::is_directory(model)) return;
  nlohmann::json section = nlohmann::json::object();
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"}) {
    const fs::path path = fs::path(model) / file;
    if (!fs::exists(path)) continue;
    MappedFile mapped(path.string());
    section[file] = ArtifactWriter::range_to_json(writer.add_data(mapped.bytes()));
  }
  if (!section.empty()) writer.manifest()["tokenizer"] = section;
}

void run_compile(const CompileOptions& opts) {
  const auto start = std::chrono::steady_clock::now();
  const bool artifact = opts.emit == "artifact";
  if (artifact && opts.output.empty()) throw Error("compile: -o FILE is required to write an artifact");
  if (!opts.dtype.empty() && !opts.random_weights) throw Error("compile: --dtype applies only with --random-weights");
  // A model folder's checkpoint is validated (and gives the weight dtypes) even for IR.
  ModelSource source = open_model_source(opts.model, /*load_weights=*/!opts.random_weights);
  if (artifact && !opts.random_weights && !source.checkpoint) {
    throw Error(opts.model + ": a bare config.json has no weights; use --random-weights or a model folder");
  }

  std::map<std::string, DType> dtypes;
  if (source.checkpoint) {
    for (const auto& [name, view] : source.checkpoint->tensors()) dtypes[name] = view.dtype;
  }
  ModelConfig config = source.config;
  if (opts.random_weights) {
    if (opts.dtype == "f32") config.dtype = DType::F32;
    else if (opts.dtype == "bf16" || config.dtype != DType::F32) config.dtype = DType::BF16;
  }

  mlir::DialectRegistry registry;
  q3::register_dialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  auto module = build_qwen3_module(context, config, dtypes);
  if (mlir::failed(mlir::verify(*module))) {
    throw Error("internal error: the generated q3 module does not verify");
  }
  q3::ModuleInfo info = q3::summarize(*module);  // parameters as in the checkpoint
  std::unique_ptr<Backend> backend = create_backend(opts.target);  // an unknown target fails here
  if (opts.quant != "bf16" && opts.quant != "q8_0" && opts.quant != "q4_0") {
    throw Error("--quant must be bf16, q8_0 or q4_0");
  }
  if (!opts.passes.empty() || opts.opt_level > 0 || opts.quant != "bf16" || artifact) {
    optimise(context, *module, opts);
  }

  if (!artifact) {
    std::error_code ec;
    llvm::raw_fd_ostream out(opts.output.empty() ? "-" : opts.output, ec);
    if (ec) throw Error(opts.output + ": cannot write: " + ec.message());
    module->print(out);
    out << "\n";
    out.close();
    if (out.has_error()) throw Error(opts.output + ": write failed");
    std::cerr << "q3 IR for " << source.config_path << ": " << config.num_layers << " layers, "
              << info.weight_count << " weights, " << info.parameter_count << " parameters ("
              << human_count(info.parameter_count) << "), " << info.op_counts["q3.linear"]
              << " linear ops";
    if (!opts.output.empty() && opts.output != "-") std::cerr << ", written to " << opts.output;
    std::cerr << "\n";
    return;
  }

  ArtifactWriter writer(opts.output);
  writer.manifest()["model"] = model_config_to_json(config);
  writer.manifest()["weights"] =
      opts.random_weights ? nlohmann::json{{"source", "random"}, {"seed", opts.seed}}
                          : nlohmann::json{{"source", "stored"}};
  BackendOptions backend_options;
  backend_options.target_cpu = opts.cpu;
  if (::isatty(STDERR_FILENO)) backend_options.progress = show_progress;
  CheckpointWeights weights(source.checkpoint.get());
  backend->lower(*module, backend_options, weights, writer);
  embed_tokenizer(opts.model, writer);
  writer.finish();

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << "compiled " << source.config_path << " for " << opts.target << ": "
            << human_count(info.parameter_count) << " parameters, "
            << (opts.random_weights ? "random weights (seed " + std::to_string(opts.seed) + ")"
                                    : std::string("weights stored"))
            << ", " << human_bytes(static_cast<std::int64_t>(fs::file_size(opts.output)))
            << " written to " << opts.output << " in " << std::fixed << std::setprecision(1)
            << seconds << " s\n";
}

}  // namespace

void add_compile_command(CLI::App& app) {
  auto opts = std::make_shared<CompileOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compile", "Compile a Hugging Face Qwen3 model folder (or a bare config.json)");
  cmd->add_option("model", opts->model, "Model folder (config.json + safetensors) or config.json")
      ->required();
  cmd->add_option("--emit", opts->emit, "What to produce: an artifact (default) or the q3 IR")
      ->check(CLI::IsMember({"artifact", "ir"}));
  cmd->add_option("-o,--output", opts->output, "Output file (IR: default standard output)");
  cmd->add_option("--target", opts->target, "Backend to compile for (cpu, vulkan)");
  cmd->add_option("--cpu", opts->cpu,
                  "CPU to compile for, as LLVM names it (x86-64-v3, znver3, ...); default: this machine");
  cmd->add_flag("--random-weights", opts->random_weights,
                "Random weights of the config's shapes, generated at load from --seed (benchmarks)");
  cmd->add_option("--seed", opts->seed, "Seed of --random-weights (default 0)");
  cmd->add_option("--dtype", opts->dtype, "Weight dtype with --random-weights")
      ->check(CLI::IsMember({"bf16", "f32"}));
  cmd->add_option("-O", opts->opt_level, "Optimisation level: 0 (the graph as built) or 2 (default: fused)")
      ->check(CLI::IsMember({0, 2}));
  cmd->add_option("--quant", opts->quant,
                  "Weight format: bf16 (as in the checkpoint, default), q8_0 or q4_0 (blocks of 32)")
      ->check(CLI::IsMember({"bf16", "q8_0", "q4_0"}));
  cmd->add_option("--passes", opts->passes,
                  "Run these passes instead of the -O pipeline, e.g. q3-fuse-swiglu,q3-plan-memory");
  cmd->add_flag("--print-ir-after-all", opts->print_ir_after_all, "Print the IR after every pass (stderr)");
  cmd->add_option("--print-ir-after", opts->print_ir_after, "Print the IR after the named pass (stderr)");
  cmd->callback([opts] { run_compile(*opts); });
}

}  // namespace qwen3c::cli
