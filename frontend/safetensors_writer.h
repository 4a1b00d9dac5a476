#pragma once
// Writes a safetensors file (used by `qwen3c eval` for its outputs).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"

namespace qwen3c {

struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::span<const std::uint8_t> bytes;
};

void write_safetensors_file(const std::string& path, const std::vector<TensorToWrite>& tensors);

}  // namespace qwen3c
