// qwen3c inspect MODEL_DIR|config.json|ARTIFACT: what the model is and what it weighs.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "frontend/checkpoint.h"
#include "runtime/artifact/artifact.h"
#include "runtime/artifact/artifact_format.h"
#include "runtime/core/error.h"
#include "runtime/core/kv_type_names.h"
#include "runtime/execution/executor.h"
#include "runtime/core/input_file.h"
#include "runtime/core/model_config.h"
#include "tools/commands/commands.h"
#include "tools/commands/format.h"

namespace qwen3c::cli {

namespace {

bool is_artifact(const std::string& path) {
  const int fd = open_regular_file(path);
  char magic[sizeof kArtifactMagic] = {};
  const bool whole = ::read(fd, magic, sizeof magic) == static_cast<ssize_t>(sizeof magic);
  ::close(fd);
  return whole && std::equal(magic, magic + sizeof magic, kArtifactMagic);
}

void print_config(const ModelConfig& c) {
  const std::int64_t params = parameter_count(c);
  std::cout << "architecture: qwen3 (dense)\n"
            << "layers:       " << c.num_layers << "\n"
            << "hidden:       " << c.hidden_size << "\n"
            << "intermediate: " << c.intermediate_size << "\n"
            << "heads:        " << c.num_heads << " query, " << c.num_kv_heads
            << " key/value, head_dim " << c.head_dim << "\n"
            << "vocab:        " << c.vocab_size << "\n"
            << "context:      " << c.max_position_embeddings << " positions\n"
            << "rope theta:   " << c.rope_theta << "\n";
  if (c.yarn) {
    std::cout << "rope scaling: yarn, factor " << c.yarn->factor << " over " << c.yarn->original_context
              << " original positions (beta_fast " << c.yarn->beta_fast << ", beta_slow " << c.yarn->beta_slow
              << ", attention factor " << c.yarn->attention_factor << ")\n";
  }
  std::cout
            << "rms_norm_eps: " << c.rms_norm_eps << "\n"
            << "tied lm_head: " << (c.tie_word_embeddings ? "yes" : "no") << "\n"
            << "parameters:   " << params << " (" << human_count(params) << ")\n";
}

// The KV cache a sequence of `context` positions takes in each storage type (--kv-type).
void print_kv_cache(const ModelConfig& c, std::int64_t context) {
  std::cout << "KV cache at context " << context << " (one sequence):\n";
  for (KvType type : kAllKvTypes) {
    const auto bytes = static_cast<std::int64_t>(kv_cache_bytes_per_position(c, type)) * context;
    std::cout << "  " << kv_type_name(type) << (kv_type_name(type).size() < 4 ? ": " : ":") << std::string(4, ' ')
              << bytes << " bytes (" << human_bytes(bytes) << ")\n";
  }
}

void print_bytes(const std::map<std::string, std::int64_t>& bytes_by_dtype) {
  for (const auto& [dtype, bytes] : bytes_by_dtype) {
    std::cout << "  " << dtype << ": " << bytes << " bytes (" << human_bytes(bytes) << ")\n";
  }
}

void inspect_artifact(const std::string& path, std::int64_t context) {
  Artifact a = Artifact::open(path);
  std::cout << "artifact:     " << path << " (" << human_bytes(static_cast<std::int64_t>(a.file_size()))
            << ")\n";
  print_config(a.config());
  std::map<std::string, std::int64_t> bytes;
  for (const ArtifactTensor& t : a.tensors()) bytes[std::string(dtype_name(t.dtype))] += t.byte_size();
  std::cout << "weights:      " << a.tensors().size() << " tensors, "
            << (a.random_seed() ? "random, generated at load from seed " + std::to_string(*a.random_seed())
                                : std::string("stored"))
            << "\n";
  print_bytes(bytes);
  std::cout << "precision:    " << a.precision()
            << (a.precision() == "fast" ? " (activations rounded to bf16 / int8 blocks for the products)" : "")
            << "\n";
  const nlohmann::json& b = a.backend_manifest();
  std::cout << "backend:      " << a.backend() << "\n";
  for (const auto& [key, value] : b.items()) {
    if (key == "name" || key == "code") continue;
    if (value.is_array() && !value.empty() && value[0].is_object()) {
      // Tables (a Vulkan plan's shaders and dispatches): one line an entry, named.
      std::cout << "  " << key << ": " << value.size() << "\n";
      if (key == "shaders") {
        for (const auto& v : value) std::cout << "    " << v.value("name", "?") << "\n";
      }
    } else if (value.is_array() && value.size() > 16) {
      // Per-kernel tables (names, profiling barriers): a count, not hundreds of values.
      std::cout << "  " << key << ": " << value.size() << " entries\n";
    } else if (value.is_array()) {
      std::string list;
      for (const auto& v : value) list += (list.empty() ? "" : " ") + (v.is_string() ? v.get<std::string>() : v.dump());
      std::cout << "  " << key << ": " << list << "\n";
    } else {
      std::cout << "  " << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
    }
  }
  std::cout << "tokenizer:    " << (a.manifest().contains("tokenizer") ? "embedded" : "none") << "\n";
  // What a session allocates: the activation arena the memory plan sized (per token of a
  // step), here for a 4096-token prefill, and the KV cache.
  if (b.contains("arena_floats_per_token") && b["arena_floats_per_token"].is_number_integer()) {
    constexpr std::int64_t kStep = 4096;
    const std::int64_t arena = b["arena_floats_per_token"].get<std::int64_t>() * kStep * 4;
    std::cout << "activation arena: " << arena << " bytes (" << human_bytes(arena) << ") for a " << kStep
              << "-token step; " << b["arena_floats_per_token"].get<std::int64_t>() * 4 << " bytes per token\n";
  }
  print_kv_cache(a.config(), context);
}

void inspect_model(const std::string& path, std::int64_t context) {
  ModelSource source = open_model_source(path, /*load_weights=*/true);
  const ModelConfig& c = source.config;
  std::map<std::string, std::int64_t> bytes_by_dtype;
  for (const WeightSpec& spec : expected_weights(c)) {
    DType dtype = c.dtype;
    if (source.checkpoint) dtype = source.checkpoint->tensor(spec.name).dtype;
    bytes_by_dtype[std::string(dtype_name(dtype))] += element_count(spec.shape) * dtype_size(dtype);
  }
  std::cout << "model:        " << source.config_path << "\n";
  print_config(c);
  std::cout << "weights:      " << (source.checkpoint ? "checkpoint" : "config dtype, no checkpoint") << "\n";
  print_bytes(bytes_by_dtype);
  if (source.checkpoint) {
    std::cout << "files:        " << source.checkpoint->files().size() << " safetensors file(s)\n";
  }
  print_kv_cache(c, context);
}

// Every byte range the manifest names, wherever it names one ({"offset", "size",
// "checksum"}: tensors, the backend's code and shaders, embedded tokenizer files), with
// the path of JSON keys that leads to it.
void collect_ranges(const nlohmann::json& j, const std::string& where,
                    std::vector<std::pair<std::string, const nlohmann::json*>>& out) {
  if (j.is_object()) {
    if (j.contains("offset") && j.contains("size") && j.contains("checksum")) {
      out.emplace_back(j.is_object() && j.contains("name") && j["name"].is_string()
                           ? where + " (" + j["name"].get<std::string>() + ")"
                           : where,
                       &j);
      return;
    }
    for (const auto& [key, value] : j.items()) collect_ranges(value, where.empty() ? key : where + "." + key, out);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) collect_ranges(j[i], where + "[" + std::to_string(i) + "]", out);
  }
}

// Reads and checksums every range: loading only reads what a run needs, so a changed byte
// in, say, the embedded tokenizer_config.json would otherwise go unnoticed.
void verify_artifact(const std::string& path) {
  Artifact a = Artifact::open(path);
  std::vector<std::pair<std::string, const nlohmann::json*>> ranges;
  collect_ranges(a.manifest(), "", ranges);
  std::uint64_t bytes = 0;
  for (const auto& [what, j] : ranges) {
    const ArtifactRange range = a.range_from_json(*j, what);
    a.read_blob(range, what);  // throws naming `what` on a checksum mismatch
    bytes += range.size;
  }
  std::cout << path << ": verified " << ranges.size() << " byte ranges (" << human_bytes(static_cast<std::int64_t>(bytes))
            << "), the header and the manifest: every checksum matches\n";
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto verify = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Summarise a model folder, config.json or compiled artifact");
  cmd->add_option("model", *path, "Model folder, config.json or .q3c artifact")->required();
  cmd->add_flag("--verify", *verify, "Read every byte range an artifact's manifest lists and check its checksum");
  auto context = std::make_shared<std::int64_t>(4096);
  cmd->add_option("-c,--context", *context, "Positions to size the KV cache for (default 4096)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 24));
  cmd->callback([path, verify, context] {
    const bool artifact = path_exists(*path) && !is_directory_path(*path) && is_artifact(*path);
    if (*verify) {
      if (!artifact) throw Error(*path + ": --verify checks artifacts; this is not one");
      verify_artifact(*path);
    } else if (artifact) {
      inspect_artifact(*path, *context);
    } else {
      inspect_model(*path, *context);
    }
  });
}

}  // namespace qwen3c::cli
