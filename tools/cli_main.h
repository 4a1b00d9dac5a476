#pragma once
// The shared main() of the qwen3c binaries. Exit codes: 0 success, 1 bad input or failure
// (with a message naming the problem), 2 usage error (unknown flag, missing argument).

#include <CLI/CLI.hpp>
#include <iostream>

#include "runtime/core/error.h"

namespace qwen3c::cli {

inline int run_cli(CLI::App& app, int argc, char** argv) {
  const std::string name = app.get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << name << ": " << e.what() << "\n"
              << "Run '" << name << " --help' or '" << name << " COMMAND --help' for usage.\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << name << ": error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace qwen3c::cli
