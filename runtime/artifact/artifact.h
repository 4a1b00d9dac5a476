#pragma once
// Reading a .q3c artifact: header, manifest and tensor table are validated on open; data is
// read (and checksummed) on demand.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/core/model_config.h"

namespace qwen3c {

// A byte range of the data section.
struct ArtifactRange {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t checksum = 0;
};

struct ArtifactTensor {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  ArtifactRange range;  // empty for generated (random) weights
  std::string layout;   // the backend's name for how the bytes are arranged ("" in old artifacts)
  std::uint64_t byte_size() const { return static_cast<std::uint64_t>(tensor_bytes(dtype, shape)); }
};

class Artifact {
 public:
  // Opens and validates `path`: magic, version, sizes, checksums of header and manifest,
  // every range inside the data section. Throws qwen3c::Error saying what is wrong.
  static Artifact open(const std::string& path);

  const std::string& path() const { return path_; }
  const ModelConfig& config() const { return config_; }
  const std::string& backend() const { return backend_; }
  // The backend's own section of the manifest (its executor interprets it).
  const nlohmann::json& backend_manifest() const { return manifest_.at("backend"); }
  const nlohmann::json& manifest() const { return manifest_; }
  const std::vector<ArtifactTensor>& tensors() const { return tensors_; }
  // How the matrix products treat activations: "f32" (as they are) or "fast" (rounded to
  // what the weights' instructions take). Artifacts from before the option are "f32".
  const std::string& precision() const { return precision_; }
  // Set when weights are generated at load from this seed instead of stored.
  std::optional<std::uint64_t> random_seed() const { return random_seed_; }
  std::uint64_t file_size() const { return file_size_; }

  // Reads a range into `dst`, verifying its checksum; `what` names it in errors.
  void read(const ArtifactRange& range, void* dst, const std::string& what) const;
  std::vector<std::uint8_t> read_blob(const ArtifactRange& range, const std::string& what) const;
  // A range described by a manifest object {"offset", "size", "checksum"}.
  ArtifactRange range_from_json(const nlohmann::json& j, const std::string& what) const;

 private:
  std::string path_;
  std::uint64_t file_size_ = 0;
  std::uint64_t data_end_ = 0;
  nlohmann::json manifest_;
  ModelConfig config_;
  std::string backend_;
  std::vector<ArtifactTensor> tensors_;
  std::optional<std::uint64_t> random_seed_;
  std::string precision_ = "f32";
};

}  // namespace qwen3c
