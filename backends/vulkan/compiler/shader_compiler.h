#pragma once
// GLSL compute kernels (shaders/*.comp, embedded in the compiler) -> validated SPIR-V, with
// shaderc and SPIRV-Tools, specialised by #defines.

#include <cstdint>
#include <vector>

#include "backends/vulkan/compiler/lowering.h"

namespace qwen3c::vulkan {

// Throws qwen3c::Error with the compiler's or validator's message and the variant's name.
std::vector<std::uint32_t> compile_shader(const ShaderVariant& variant);

}  // namespace qwen3c::vulkan
