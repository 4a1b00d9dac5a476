// qwen3c inspect MODEL_DIR|config.json: what the model is and what it weighs.

#include <iostream>
#include <map>
#include <memory>

#include "frontend/checkpoint.h"
#include "runtime/model_config.h"
#include "tools/commands/commands.h"
#include "tools/commands/format.h"

namespace qwen3c::cli {

namespace {

void run_inspect(const std::string& path) {
  ModelSource source = open_model_source(path, /*load_weights=*/true);
  const ModelConfig& c = source.config;
  std::map<std::string, std::int64_t> bytes_by_dtype;
  for (const WeightSpec& spec : expected_weights(c)) {
    DType dtype = c.dtype;
    if (source.checkpoint) dtype = source.checkpoint->tensor(spec.name).dtype;
    bytes_by_dtype[std::string(dtype_name(dtype))] += element_count(spec.shape) * dtype_size(dtype);
  }
  const std::int64_t params = parameter_count(c);

  std::cout << "model:        " << source.config_path << "\n"
            << "architecture: qwen3 (dense)\n"
            << "layers:       " << c.num_layers << "\n"
            << "hidden:       " << c.hidden_size << "\n"
            << "intermediate: " << c.intermediate_size << "\n"
            << "heads:        " << c.num_heads << " query, " << c.num_kv_heads
            << " key/value, head_dim " << c.head_dim << "\n"
            << "vocab:        " << c.vocab_size << "\n"
            << "context:      " << c.max_position_embeddings << " positions\n"
            << "rope theta:   " << c.rope_theta << "\n"
            << "rms_norm_eps: " << c.rms_norm_eps << "\n"
            << "tied lm_head: " << (c.tie_word_embeddings ? "yes" : "no") << "\n"
            << "parameters:   " << params << " (" << human_count(params) << ")\n"
            << "weights:      " << (source.checkpoint ? "checkpoint" : "config dtype, no checkpoint")
            << "\n";
  for (const auto& [dtype, bytes] : bytes_by_dtype) {
    std::cout << "  " << dtype << ": " << bytes << " bytes (" << human_bytes(bytes) << ")\n";
  }
  if (source.checkpoint) {
    std::cout << "files:        " << source.checkpoint->files().size() << " safetensors file(s)\n";
  }
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Summarise a model folder or config.json: shape, parameters, bytes by dtype");
  cmd->add_option("model", *path, "Model folder or config.json")->required();
  cmd->callback([path] { run_inspect(*path); });
}

}  // namespace qwen3c::cli
