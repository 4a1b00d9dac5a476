#include "frontend/checkpoint.h"

#include <filesystem>
#include <set>

#include "frontend/hf_config.h"
#include "runtime/core/strict_json.h"
#include "runtime/core/error.h"
#include "runtime/core/input_file.h"

namespace qwen3c {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
constexpr std::size_t kMaxIndexBytes = 64 << 20;

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// A shard name from an index must stay inside the model folder.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

}  // namespace

void Checkpoint::add_file(std::unique_ptr<SafetensorsFile> file) {
  for (const auto& [name, view] : file->tensors()) {
    auto [it, inserted] = tensors_.emplace(name, view);
    if (!inserted) {
      throw Error(file->path() + ": tensor '" + name + "' is also in " + it->second.file);
    }
  }
  files_.push_back(std::move(file));
}

Checkpoint Checkpoint::open(const std::string& dir, const ModelConfig& config) {
  Checkpoint ckpt;
  const fs::path index_path = fs::path(dir) / kIndexFile;
  const fs::path single_path = fs::path(dir) / kSingleFile;
  if (path_exists(index_path)) {
    const std::string where = index_path.string();
    nlohmann::json index = read_strict_json_file(where, kMaxIndexBytes);
    if (!index.is_object()) throw Error(where + ": expected a JSON object");
    auto map_it = index.find("weight_map");
    if (map_it == index.end() || !map_it->is_object()) {
      throw Error(where + ": field 'weight_map' is missing or not an object");
    }
    std::map<std::string, std::string> tensor_to_shard;
    std::set<std::string> shard_names;
    for (const auto& [tensor, shard] : map_it->items()) {
      if (!shard.is_string()) throw Error(where + ": weight_map['" + tensor + "'] must be a file name");
      const std::string& shard_name = shard.get_ref<const std::string&>();
      if (!is_plain_file_name(shard_name)) {
        throw Error(where + ": weight_map['" + tensor + "'] names '" + shard_name +
                    "', which is not a plain file name in the model folder");
      }
      tensor_to_shard[tensor] = shard_name;
      shard_names.insert(shard_name);
    }
    for (const std::string& shard_name : shard_names) {
      const fs::path shard_path = fs::path(dir) / shard_name;
      if (!path_exists(shard_path)) {
        throw Error(where + ": names shard '" + shard_name + "', which does not exist in " + dir);
      }
      ckpt.add_file(std::make_unique<SafetensorsFile>(shard_path.string()));
    }
    // The index and the shards must agree tensor by tensor.
    for (const auto& [tensor, shard_name] : tensor_to_shard) {
      auto it = ckpt.tensors_.find(tensor);
      if (it == ckpt.tensors_.end() || fs::path(it->second.file).filename() != shard_name) {
        throw Error(where + ": maps tensor '" + tensor + "' to shard '" + shard_name +
                    "', which does not contain it");
      }
    }
    for (const auto& [tensor, view] : ckpt.tensors_) {
      if (!tensor_to_shard.count(tensor)) {
        throw Error(view.file + ": holds tensor '" + tensor + "', which " + where +
                    " does not list");
      }
    }
  } else if (path_exists(single_path)) {
    ckpt.add_file(std::make_unique<SafetensorsFile>(single_path.string()));
  } else {
    throw Error(dir + ": no " + kSingleFile + " or " + kIndexFile + " found");
  }
  ckpt.check_against(config, dir);
  return ckpt;
}

void Checkpoint::check_against(const ModelConfig& config, const std::string& dir) const {
  std::set<std::string> expected_names;
  for (const WeightSpec& spec : expected_weights(config)) {
    expected_names.insert(spec.name);
    auto it = tensors_.find(spec.name);
    if (it == tensors_.end()) {
      throw Error(dir + ": missing tensor '" + spec.name + "' required by config.json");
    }
    if (it->second.shape != spec.shape) {
      throw Error(it->second.file + ": tensor '" + spec.name + "' has shape " +
                  shape_string(it->second.shape) + ", config.json implies " +
                  shape_string(spec.shape));
    }
  }
  // Tied checkpoints sometimes store lm_head.weight anyway (a copy of the embedding).
  if (config.tie_word_embeddings) {
    auto it = tensors_.find(kLmHead);
    if (it != tensors_.end()) {
      const std::vector<std::int64_t> want = {config.vocab_size, config.hidden_size};
      if (it->second.shape != want) {
        throw Error(it->second.file + ": tensor '" + std::string(kLmHead) + "' has shape " +
                    shape_string(it->second.shape) + ", config.json implies " +
                    shape_string(want));
      }
      expected_names.insert(kLmHead);
    }
  }
  for (const auto& [name, view] : tensors_) {
    if (!expected_names.count(name)) {
      throw Error(view.file + ": unexpected tensor '" + name +
                  "' (not part of the Qwen3 architecture config.json describes)");
    }
  }
}

const TensorView& Checkpoint::tensor(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error("checkpoint has no tensor '" + name + "'");
  return it->second;
}

void Checkpoint::release(const std::string& name) const {
  const TensorView& view = tensor(name);
  for (const auto& file : files_) {
    if (file->path() == view.file) file->release(view);
  }
}

std::vector<std::string> Checkpoint::files() const {
  std::vector<std::string> out;
  for (const auto& f : files_) out.push_back(f->path());
  return out;
}

ModelSource open_model_source(const std::string& path, bool load_weights) {
  ModelSource source;
  std::error_code ec;
  if (is_directory_path(path)) {
    source.config_path = (fs::path(path) / "config.json").string();
    if (!path_exists(source.config_path)) throw Error(path + ": no config.json in the model folder");
    source.config = load_hf_config(source.config_path);
    if (load_weights) {
      source.checkpoint = std::make_unique<Checkpoint>(Checkpoint::open(path, source.config));
    }
  } else if (fs::is_regular_file(path, ec)) {
    source.config_path = path;
    source.config = load_hf_config(path);
  } else {
    throw Error(path + ": no such model folder or config file");
  }
  return source;
}

}  // namespace qwen3c
