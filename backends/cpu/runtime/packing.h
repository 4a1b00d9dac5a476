#pragma once
// The CPU backend's packed weight layouts (kernels/packed_layout.h): rearranging row-major
// bytes into them. Done by the compiler when it writes an artifact, and by the executor for
// weights generated at load (random-weight artifacts), which come out row-major.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"

namespace qwen3c::cpu {

inline constexpr const char* kPackedLayout = "cpu.n16k2";        // bf16 matrices
inline constexpr const char* kPackedBlockLayout = "cpu.n16b32";  // q8_0 / q4_0 matrices
inline constexpr const char* kPackedHalvesSuffix = "x2";         // SwiGLU: gate and up packed apart

bool is_packed_layout(const std::string& layout);

// `row_major` (the weight's bytes in its stored format) in `layout`; unchanged for the
// shared row-major layouts. In place: a packed group holds exactly its rows' bytes.
void pack_in_place(const std::string& layout, DType dtype, std::span<const std::int64_t> shape, std::uint8_t* bytes,
                   std::size_t size);
std::vector<std::uint8_t> pack_weight(const std::string& layout, DType dtype, std::span<const std::int64_t> shape,
                                      std::vector<std::uint8_t> row_major);

}  // namespace qwen3c::cpu
