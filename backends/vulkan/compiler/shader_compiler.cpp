#include "backends/vulkan/compiler/shader_compiler.h"

#include <shaderc/shaderc.hpp>
#include <spirv-tools/libspirv.hpp>

#include <cstring>
#include <string>

#include "backends/vulkan/runtime/dispatch_plan.h"
#include "runtime/core/error.h"

namespace qwen3c::vulkan {

struct EmbeddedText {
  const char* name;
  const char* text;
};
extern const EmbeddedText kEmbeddedTexts[];
extern const std::size_t kEmbeddedTextCount;

namespace {

std::string source_of(const std::string& file) {
  for (std::size_t i = 0; i < kEmbeddedTextCount; ++i) {
    if (file == kEmbeddedTexts[i].name) return kEmbeddedTexts[i].text;
  }
  throw Error("Vulkan backend: no shader named " + file);
}

// The kernel's full text: version, extensions, constants, shared code, the kernel itself.
std::string assemble(const ShaderVariant& v) {
  std::string text =
      "#version 450\n"
      "#extension GL_KHR_shader_subgroup_basic : require\n"
      "#extension GL_KHR_shader_subgroup_arithmetic : require\n"
      "#extension GL_EXT_shader_16bit_storage : enable\n"
      "#define WG " + std::to_string(kWorkgroupSize) + "\n";
  for (const auto& [key, value] : v.defines) text += "#define " + key + " " + value + "\n";
  text += source_of("common.glsl");
  bool has_format = false;
  for (const auto& [key, value] : v.defines) has_format |= key.rfind("FORMAT_", 0) == 0;
  if (has_format) text += source_of("weight_format.h") + source_of("weights.glsl");
  text += source_of(v.kernel + ".comp");
  return text;
}

}  // namespace

std::vector<std::uint32_t> compile_shader(const ShaderVariant& variant) {
  shaderc::Compiler compiler;
  shaderc::CompileOptions options;
  options.SetTargetEnvironment(shaderc_target_env_vulkan, shaderc_env_version_vulkan_1_1);
  options.SetTargetSpirv(shaderc_spirv_version_1_3);
  options.SetOptimizationLevel(shaderc_optimization_level_performance);
  options.SetWarningsAsErrors();
  const std::string source = assemble(variant);
  shaderc::SpvCompilationResult result =
      compiler.CompileGlslToSpv(source, shaderc_compute_shader, (variant.kernel + ".comp").c_str(), options);
  if (result.GetCompilationStatus() != shaderc_compilation_status_success) {
    throw Error("Vulkan backend: shader '" + variant.name() + "' does not compile:\n" + result.GetErrorMessage());
  }
  std::vector<std::uint32_t> words(result.cbegin(), result.cend());

  spvtools::SpirvTools tools(SPV_ENV_VULKAN_1_1);
  std::string problems;
  tools.SetMessageConsumer([&](spv_message_level_t, const char*, const spv_position_t& at, const char* message) {
    problems += "  word " + std::to_string(at.index) + ": " + message + "\n";
  });
  if (!tools.Validate(words)) {
    throw Error("Vulkan backend: shader '" + variant.name() + "' is not valid SPIR-V:\n" + problems);
  }
  return words;
}

}  // namespace qwen3c::vulkan
