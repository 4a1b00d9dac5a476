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

}  // namespace qwen3c::cli
