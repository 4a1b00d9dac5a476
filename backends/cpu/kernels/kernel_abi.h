#pragma once
// Shared by the CPU kernels. The kernels are compiled to LLVM bitcode when qwen3c is built
// and linked into every artifact's generated code, where the compiler calls them with the
// model's dimensions as constants so that LLVM specialises each call site.
//
// Conventions: activations are row-major float rows; weights are row-major [out, in] in
// BF16 (uint16_t) or F32; every size is int64_t; kernels never allocate.

#include <stdint.h>

#define Q3_KERNEL extern "C"

namespace q3k {

inline float load(const float* p, int64_t i) { return p[i]; }

inline float load(const uint16_t* p, int64_t i) {
  uint32_t bits = static_cast<uint32_t>(p[i]) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

}  // namespace q3k
