#pragma once
// Element types of stored weights.

#include <cstddef>
#include <optional>
#include <string_view>

namespace qwen3c {

enum class DType { BF16, F16, F32 };

inline std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::BF16:
    case DType::F16:
      return 2;
    case DType::F32:
      return 4;
  }
  return 0;
}

// The safetensors spelling: "BF16", "F16", "F32".
inline std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::BF16:
      return "BF16";
    case DType::F16:
      return "F16";
    case DType::F32:
      return "F32";
  }
  return "?";
}

inline std::optional<DType> dtype_from_name(std::string_view name) {
  if (name == "BF16") return DType::BF16;
  if (name == "F16") return DType::F16;
  if (name == "F32") return DType::F32;
  return std::nullopt;
}

}  // namespace qwen3c
