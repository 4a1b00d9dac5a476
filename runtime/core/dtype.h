#pragma once
// Element types of stored weights.

#include <cstddef>
#include <optional>
#include <string_view>

#include "runtime/core/weight_format.h"

namespace qwen3c {

// Weights are BF16, F16, F32 or block-quantised (Q8_0, Q4_0: runtime/core/weight_format.h);
// I64 appears only in token-id tensors (goldens, eval output).
enum class DType { BF16, F16, F32, I64, Q8_0, Q4_0 };

inline bool is_quantized(DType t) { return t == DType::Q8_0 || t == DType::Q4_0; }

inline std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::BF16:
    case DType::F16:
      return 2;
    case DType::F32:
      return 4;
    case DType::I64:
      return 8;
    case DType::Q8_0:  // per element: only meaningful through tensor_bytes()
    case DType::Q4_0:
      return 0;
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
    case DType::Q8_0:
      return "Q8_0";
    case DType::Q4_0:
      return "Q4_0";
  }
  return "?";
}

inline std::optional<DType> dtype_from_name(std::string_view name) {
  if (name == "BF16") return DType::BF16;
  if (name == "F16") return DType::F16;
  if (name == "F32") return DType::F32;
  if (name == "I64") return DType::I64;
  if (name == "Q8_0") return DType::Q8_0;
  if (name == "Q4_0") return DType::Q4_0;
  return std::nullopt;
}

inline bool is_float_dtype(DType t) { return t != DType::I64; }

// Bytes of a block of Q3_QBLOCK quantised values: an f16 scale and the values.
inline std::size_t quant_block_bytes(DType t) { return t == DType::Q8_0 ? Q3_Q8_0_BLOCK_BYTES : Q3_Q4_0_BLOCK_BYTES; }

}  // namespace qwen3c
