// qwen3c: the command line. Exit codes: 0 success, 1 bad input or failure (with a message
// naming the problem), 2 usage error (unknown flag, missing argument).

#include <CLI/CLI.hpp>
#include <iostream>

#include "runtime/error.h"
#include "tools/commands/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"qwen3c: a graph compiler and runtime for Qwen3 models"};
  app.name("qwen3c");
  app.require_subcommand(1);
  qwen3c::cli::add_compile_command(app);
  qwen3c::cli::add_inspect_command(app);
  qwen3c::cli::add_eval_command(app);
  qwen3c::cli::add_run_command(app);
  qwen3c::cli::add_chat_command(app);
  qwen3c::cli::add_bench_command(app);
  qwen3c::cli::add_devices_command(app);
  qwen3c::cli::add_tokenize_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "qwen3c: " << e.what() << "\n"
              << "Run 'qwen3c --help' or 'qwen3c COMMAND --help' for usage.\n";
    return 2;
  } catch (const qwen3c::Error& e) {
    std::cerr << "qwen3c: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "qwen3c: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
