// qwen3c-run: the runtime alone (run, chat, bench, eval, devices, tokenize), for machines
// that run artifacts compiled elsewhere. Links no LLVM, MLIR or shaderc (checked at
// configure time).

#include "tools/cli_main.h"
#include "tools/commands/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"qwen3c-run: runs artifacts compiled by qwen3c"};
  app.name("qwen3c-run");
  app.require_subcommand(1);
  qwen3c::cli::add_runtime_commands(app);
  return qwen3c::cli::run_cli(app, argc, argv);
}
