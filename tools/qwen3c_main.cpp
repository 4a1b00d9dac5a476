// qwen3c: the compiler and the runtime in one command line.

#include "tools/cli_main.h"
#include "tools/commands/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"qwen3c: a graph compiler and runtime for Qwen3 models"};
  app.name("qwen3c");
  app.require_subcommand(1);
  qwen3c::cli::add_compile_command(app);
  qwen3c::cli::add_inspect_command(app);
  qwen3c::cli::add_runtime_commands(app);
  return qwen3c::cli::run_cli(app, argc, argv);
}
