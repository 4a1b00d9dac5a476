#pragma once
// Memory-mapped safetensors files. Every header is validated before any tensor is used:
// the file is untrusted input.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/core/mapped_file.h"

namespace qwen3c {

inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

struct TensorView {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::span<const std::uint8_t> bytes;  // points into the mapped file
  std::string file;                     // the file it came from, for messages
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws qwen3c::Error naming the file and the problem.
  // Model weights are BF16, F16 or F32; `allow_i64` also admits I64 (token ids in goldens).
  explicit SafetensorsFile(const std::string& path, bool allow_i64 = false);

  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::string& path() const { return file_.path(); }
  // Drops the resident pages of a tensor of this file that has been consumed.
  void release(const TensorView& tensor) const { file_.release(tensor.bytes); }

 private:
  MappedFile file_;
  std::map<std::string, TensorView> tensors_;
};

}  // namespace qwen3c
