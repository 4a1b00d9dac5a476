#pragma once
// The shared main() of the qwen3c binaries. Exit codes: 0 success, 1 bad input or failure
// (with a message naming the problem), 2 usage error (unknown flag, missing argument).

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "runtime/core/error.h"

namespace qwen3c::cli {

inline int run_cli(CLI::App& app, int argc, char** argv) {
  const std::string name = app.get_name();
  // CLI11 answers an unknown command with "A subcommand is required": name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
      found = found || sub->check_name(argv[1]);
      known += (known.empty() ? "" : ", ") + sub->get_name();
    }
    if (!found) {
      std::cerr << name << ": unknown command '" << argv[1] << "' (commands: " << known << ")\n"
                << "Run '" << name << " --help' for usage.\n";
      return 2;
    }
  }
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
  // Output that did not arrive (a full disk, a closed pipe) is a failure, not a success.
  std::cout.flush();
  if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::cerr << name << ": error: writing standard output failed\n";
    return 1;
  }
  return 0;
}

}  // namespace qwen3c::cli
