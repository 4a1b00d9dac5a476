#pragma once
// Writes a .q3c artifact (format in runtime/artifact/artifact_format.h) as a stream: data is appended
// tensor by tensor, so peak memory stays near one tensor; the manifest and header are
// written last. The file appears under its name only when finish() succeeds.

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "runtime/artifact/artifact.h"
#include "runtime/core/dtype.h"
#include "runtime/core/output_file.h"

namespace qwen3c {

class ArtifactWriter {
 public:
  // Refuses a destination that is not a regular file (see OutputFile).
  explicit ArtifactWriter(const std::string& path);
  ArtifactWriter(const ArtifactWriter&) = delete;
  ArtifactWriter& operator=(const ArtifactWriter&) = delete;

  // Appends 64-byte aligned data; returns where it went, with its checksum.
  ArtifactRange add_data(std::span<const std::uint8_t> bytes);
  // A weight tensor, in the tensor table in call order, stored in the backend's `layout`.
  void add_tensor(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape,
                  const std::string& layout, std::span<const std::uint8_t> bytes);
  // A weight the runtime generates from the manifest's seed (random-weight artifacts): made
  // row-major, then put in `layout` by the executor.
  void add_generated_tensor(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape,
                            const std::string& layout);

  // Top-level manifest sections ("model", "backend", "weights", "tokenizer", ...).
  nlohmann::json& manifest() { return manifest_; }
  static nlohmann::json range_to_json(const ArtifactRange& range);

  void finish();

 private:
  void write(const void* data, std::size_t size);

  OutputFile file_;
  std::uint64_t offset_ = 0;
  nlohmann::json manifest_ = nlohmann::json::object();
};

}  // namespace qwen3c
