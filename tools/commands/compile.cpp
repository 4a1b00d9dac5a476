// qwen3c compile MODEL_DIR|config.json --emit ir [-o FILE]

#include <fstream>
#include <iostream>
#include <memory>

#include "frontend/checkpoint.h"
#include "frontend/graph_builder.h"
#include "ir/module_info.h"
#include "ir/registration.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "runtime/error.h"
#include "tools/commands/commands.h"
#include "tools/commands/format.h"

namespace qwen3c::cli {

namespace {

struct CompileOptions {
  std::string model;
  std::string emit;
  std::string output;
};

void run_compile(const CompileOptions& opts) {
  ModelSource source = open_model_source(opts.model, /*load_weights=*/true);
  std::map<std::string, DType> dtypes;
  if (source.checkpoint) {
    for (const auto& [name, view] : source.checkpoint->tensors()) dtypes[name] = view.dtype;
  }

  mlir::DialectRegistry registry;
  q3::register_dialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  auto module = build_qwen3_module(context, source.config, dtypes);
  if (mlir::failed(mlir::verify(*module))) {
    throw Error("internal error: the generated q3 module does not verify");
  }

  if (opts.output.empty() || opts.output == "-") {
    module->print(llvm::outs());
    llvm::outs() << "\n";
    llvm::outs().flush();
  } else {
    std::error_code ec;
    llvm::raw_fd_ostream out(opts.output, ec);
    if (ec) throw Error(opts.output + ": cannot write: " + ec.message());
    module->print(out);
    out << "\n";
    out.close();
    if (out.has_error()) throw Error(opts.output + ": write failed");
  }

  q3::ModuleInfo info = q3::summarize(*module);
  std::cerr << "q3 IR for " << source.config_path << ": " << source.config.num_layers
            << " layers, " << info.weight_count << " weights, " << info.parameter_count
            << " parameters (" << human_count(info.parameter_count) << "), "
            << info.op_counts["q3.linear"] << " linear ops";
  if (!opts.output.empty() && opts.output != "-") std::cerr << ", written to " << opts.output;
  std::cerr << "\n";
}

}  // namespace

void add_compile_command(CLI::App& app) {
  auto opts = std::make_shared<CompileOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compile", "Compile a Hugging Face Qwen3 model folder (or a bare config.json)");
  cmd->add_option("model", opts->model, "Model folder (config.json + safetensors) or config.json")
      ->required();
  cmd->add_option("--emit", opts->emit, "What to produce: 'ir' prints the q3 MLIR graph")
      ->required()
      ->check(CLI::IsMember({"ir"}));
  cmd->add_option("-o,--output", opts->output, "Output file (default: standard output)");
  cmd->callback([opts] { run_compile(*opts); });
}

}  // namespace qwen3c::cli
