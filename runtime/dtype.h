#pragma once
// Element types of stored weights.

#include <cstddef>
#include <optional>
#include <string_view>

namespace qwen3c {

// Weights are BF16, F16 or F32; I64 appears only in token-id tensors (goldens, eval output).
enum class DType { BF16, F16, F32, I64 };

inline std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::BF16:
    case DType::F16:
      return 2;
    case DType::F32:
      return 4;
    case DType::I64:
      return 8;
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
    case DType::I64:
      return "I64";
  }
  return "?";
}

inline std::optional<DType> dtype_from_name(std::string_view name) {
  if (name == "BF16") return DType::BF16;
  if (name == "F16") return DType::F16;
  if (name == "F32") return DType::F32;
  if (name == "I64") return DType::I64;
  return std::nullopt;
}

inline bool is_float_dtype(DType t) { return t != DType::I64; }

}  // namespace qwen3c
