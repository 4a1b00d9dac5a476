// qwen3c devices: the devices each backend can run on, for --device.

#include <cstdio>

#include "runtime/core/error.h"
#include "runtime/execution/executor.h"
#include "tools/commands/commands.h"

namespace qwen3c::cli {

void add_devices_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("devices", "List the devices GPU backends can run on (indices for --device)");
  cmd->callback([] {
    std::vector<std::string> errors;
    const std::vector<DeviceInfo> devices = list_devices(&errors);
    for (const DeviceInfo& d : devices) {
      std::printf("%s %d: %s (%s, %.1f GiB) %s\n", d.backend.c_str(), d.index, d.name.c_str(), d.kind.c_str(),
                  static_cast<double>(d.memory_bytes) / (1u << 30), d.details.c_str());
    }
    for (const std::string& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    if (devices.empty()) throw Error("no devices found" + std::string(errors.empty() ? "" : " (see above)"));
  });
}

void add_runtime_commands(CLI::App& app) {
  add_eval_command(app);
  add_run_command(app);
  add_chat_command(app);
  add_bench_command(app);
  add_devices_command(app);
  add_tokenize_commands(app);
  add_serve_command(app);
}

}  // namespace qwen3c::cli
