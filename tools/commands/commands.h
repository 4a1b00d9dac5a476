#pragma once
// The qwen3c subcommands. Each adds itself to the CLI11 app; its callback does the work and
// throws qwen3c::Error on bad input (main turns that into a message and exit code 1).

#include <CLI/CLI.hpp>

namespace qwen3c::cli {

void add_compile_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_tokenize_commands(CLI::App& app);
void add_run_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_devices_command(CLI::App& app);
void add_serve_command(CLI::App& app);
// The commands that only run artifacts (eval, run, chat, bench, devices, tokenize,
// detokenize, serve): all of qwen3c-run, and part of qwen3c.
void add_runtime_commands(CLI::App& app);

// --device, for the commands that load an artifact: -1 (the default) lets the backend pick.
inline void add_device_option(CLI::App* cmd, int& device) {
  cmd->add_option("--device", device, "Device of a GPU backend (see `qwen3c devices`; default: the best)")
      ->check(CLI::Range(0, 255));
}

}  // namespace qwen3c::cli
