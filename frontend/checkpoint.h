#pragma once
// A Hugging Face model folder: config.json plus weights in one safetensors file or in shards
// listed by model.safetensors.index.json. Opening one validates the files and checks that
// the tensors are exactly those the config implies, with the right shapes.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend/safetensors.h"
#include "runtime/core/model_config.h"

namespace qwen3c {

class Checkpoint {
 public:
  // Opens the weights in `dir` and checks them against `config`.
  static Checkpoint open(const std::string& dir, const ModelConfig& config);

  // The tensor named `name`; throws when absent.
  const TensorView& tensor(const std::string& name) const;
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  // Drops the resident pages of a tensor once it has been consumed (compiling a large model
  // then needs memory for about one tensor, not the whole checkpoint).
  void release(const std::string& name) const;
  // The shard files, in the order they were opened.
  std::vector<std::string> files() const;

 private:
  void add_file(std::unique_ptr<SafetensorsFile> file);
  void check_against(const ModelConfig& config, const std::string& dir) const;

  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorView> tensors_;
};

// A model folder with its parsed config. `path` may also be a config.json, in which case
// there are no weights (enough for emitting IR).
struct ModelSource {
  std::string config_path;
  ModelConfig config;
  std::unique_ptr<Checkpoint> checkpoint;  // null for a bare config.json
};
ModelSource open_model_source(const std::string& path, bool load_weights = true);

}  // namespace qwen3c
