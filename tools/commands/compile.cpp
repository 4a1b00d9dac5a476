// qwen3c compile MODEL_DIR|config.json [--emit ir|artifact] [--target NAME] -o FILE
// The command line of the compiler library (backends/compiler.h).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>

#include "backends/compiler.h"
#include "llvm/Support/raw_ostream.h"
#include "runtime/core/error.h"
#include "tools/commands/commands.h"
#include "tools/commands/format.h"
#include "tools/commands/validators.h"

namespace qwen3c::cli {

namespace {

namespace fs = std::filesystem;

struct CompileCommand {
  CompileOptions options;
  std::string emit = "artifact";
  std::string output;
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

template <class T>
T or_throw(absl::StatusOr<T> result) {
  if (!result.ok()) throw Error(std::string(result.status().message()));
  return std::move(*result);
}

void emit_ir(const CompileCommand& cmd) {
  auto context = make_compiler_context();
  CompileSummary summary;
  mlir::OwningOpRef<mlir::ModuleOp> module = or_throw(build_module(*context, cmd.options, &summary));
  std::error_code ec;
  llvm::raw_fd_ostream out(cmd.output.empty() ? "-" : cmd.output, ec);
  if (ec) throw Error(cmd.output + ": cannot write: " + ec.message());
  module->print(out);
  out << "\n";
  out.close();
  if (out.has_error()) throw Error((cmd.output.empty() ? "standard output" : cmd.output) + ": write failed");
  const q3::ModuleInfo& info = summary.info;
  std::cerr << "q3 IR for " << summary.config_path << ": " << summary.config.num_layers << " layers, "
            << info.weight_count << " weights, " << info.parameter_count << " parameters ("
            << human_count(info.parameter_count) << "), " << info.op_counts.at("q3.linear") << " linear ops";
  if (!cmd.output.empty() && cmd.output != "-") std::cerr << ", written to " << cmd.output;
  std::cerr << "\n";
}

void run_compile(CompileCommand cmd) {
  if (cmd.emit == "ir") return emit_ir(cmd);
  const auto start = std::chrono::steady_clock::now();
  if (cmd.output.empty()) throw Error("compile: -o FILE is required to write an artifact");
  if (!cmd.options.cpu.empty() && cmd.options.target != "cpu") {
    throw Error("compile: --cpu applies to the cpu target only, not to --target " + cmd.options.target);
  }
  if (::isatty(STDERR_FILENO)) cmd.options.progress = show_progress;
  const CompileSummary summary = or_throw(compile_model(cmd.options, cmd.output));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const CompileOptions& o = cmd.options;
  std::cerr << "compiled " << summary.config_path << " for " << o.target << ": "
            << human_count(summary.info.parameter_count) << " parameters, "
            << (o.random_weights ? "random weights (seed " + std::to_string(o.seed) + ")" : std::string("weights stored"))
            << ", " << human_bytes(static_cast<std::int64_t>(fs::file_size(cmd.output))) << " written to "
            << cmd.output << " in " << std::fixed << std::setprecision(1) << seconds << " s\n";
}

}  // namespace

void add_compile_command(CLI::App& app) {
  auto cmd = std::make_shared<CompileCommand>();
  CompileOptions& o = cmd->options;
  CLI::App* sub = app.add_subcommand("compile", "Compile a Hugging Face Qwen3 model folder (or a bare config.json)");
  sub->add_option("model", o.model, "Model folder (config.json + safetensors) or config.json")->required();
  sub->add_option("--emit", cmd->emit, "What to produce: an artifact (default) or the q3 IR")
      ->check(CLI::IsMember({"artifact", "ir"}));
  sub->add_option("-o,--output", cmd->output, "Output file (IR: default standard output)");
  sub->add_option("--target", o.target, "Backend to compile for (default cpu):\n" + describe_backends());
  sub->add_option("--cpu", o.cpu, "CPU to compile for, as LLVM names it (native, x86-64-v3, znver3, ...); default: native (this machine)");
  sub->add_flag("--random-weights", o.random_weights,
                "Random weights of the config's shapes, generated at load from --seed (benchmarks)");
  sub->add_option("--seed", o.seed, "Seed of --random-weights (default 0)")
      ->check(count_in(0, std::numeric_limits<std::int64_t>::max()));
  sub->add_option("--dtype", o.random_dtype, "Weight dtype with --random-weights")->check(CLI::IsMember({"bf16", "f32"}));
  sub->add_option("-O", o.opt_level, "Optimisation level: 0 (the graph as built) or 2 (default: fused)")
      ->check(CLI::IsMember({0, 2}));
  sub->add_option("--quant", o.quant, "Weight format: bf16 (as in the checkpoint, default), q8_0 or q4_0 (blocks of 32)")
      ->check(CLI::IsMember({"bf16", "q8_0", "q4_0"}));
  sub->add_option("--precision", o.precision,
                  "Activations into matrix products: f32 (exact) or fast (bf16 / int8 blocks, as the weights' "
                  "instructions take them); default: the backend's (cpu: fast; others: f32)")
      ->check(CLI::IsMember({"f32", "fast"}));
  sub->add_option("--passes", o.passes, "Run these passes instead of the -O pipeline, e.g. q3-fuse-swiglu,q3-plan-memory");
  sub->add_flag("--print-ir-after-all", o.print_ir_after_all, "Print the IR after every pass (stderr)");
  sub->add_option("--print-ir-after", o.print_ir_after, "Print the IR after the named pass (stderr)");
  sub->callback([cmd] { run_compile(*cmd); });
}

}  // namespace qwen3c::cli
