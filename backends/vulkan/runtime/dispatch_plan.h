#pragma once
// The Vulkan backend's dispatch plan: what the compiler stores in the artifact and the
// executor replays. A forward step is a fixed sequence of compute dispatches; each names its
// shader (SPIR-V in the artifact), the weights and KV-cache layer it binds, static push
// constants (arena offsets), and how many workgroups it needs as a function of the step's
// row count. Everything that changes between steps is in the step buffer (see
// shaders/common.glsl), so the command buffer is recorded once and its workgroup counts are
// written into an indirect-dispatch buffer each step.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/artifact/artifact.h"
#include "runtime/core/kv_type.h"
#include "runtime/core/rope_frequencies.h"

namespace qwen3c::vulkan {

inline constexpr std::uint32_t kWorkgroupSize = 64;

// Descriptor bindings, as in shaders/common.glsl.
enum Binding : std::uint32_t {
  kStepBinding = 0,
  kArenaBinding,
  kWeight0Binding,
  kWeight1Binding,
  kKeyCacheBinding,
  kValueCacheBinding,
  kDestinationBinding,
  kPartialsBinding,
  kBindingCount,
};

// Push-constant flags, as in shaders/common.glsl.
inline constexpr std::uint32_t kFlagTail = 1, kFlagIn0Last = 2, kFlagIn1Last = 4, kFlagIn2Last = 8,
                               kFlagToLogits = 16;

struct PushConstants {
  std::uint32_t in0 = 0, in1 = 0, in2 = 0, out0 = 0, out1 = 0, flags = 0;
  std::uint32_t row_base = 0, row_end = 0;  // the rows of w0 bound (the executor slices)
};

// How the executor may bind w0 a slice of rows at a time when it is larger than a binding
// may span: not at all, by output rows (matmul: the workgroup count follows the slice), or
// by looked-up rows (embedding: every slice's dispatch sees every token).
enum class Slicing { None, OutputRows, LookupRows };

// Workgroups along one axis: ceil((rows * per_row + constant) / divisor), or the step's
// attention split count. rows: the step's tokens, or its logit rows for tail dispatches.
struct GridAxis {
  std::int64_t per_row = 0;
  std::int64_t constant = 1;
  std::int64_t divisor = 1;
  bool splits = false;
};

struct Dispatch {
  std::string op;          // the q3 op it comes from, for messages and profiles
  std::uint32_t shader = 0;
  std::int64_t weight0 = -1, weight1 = -1;  // tensor-table indices bound at w0 / w1
  std::int64_t layer = -1;                  // KV-cache layer bound at kcache / vcache
  // With a layer: the shader for each cache type of kKvTypes, in that order (KV_TYPE).
  std::vector<std::uint32_t> kv_shaders;
  bool tail = false;
  PushConstants push;
  GridAxis x, y;
  // OutputRows: x counts workgroups over the weight's rows (per_row 0, constant the row
  // count, divisor the rows a workgroup computes); a slice swaps in its own row count.
  Slicing slicing = Slicing::None;
};

// The KV cache types the Vulkan shaders store (common.glsl's KV_TYPE): all but f32 need
// the device's storageBuffer16BitAccess. Artifacts compiled before q8_0 carry the first three.
inline constexpr KvType kKvTypes[] = {KvType::F32, KvType::F16, KvType::BF16, KvType::Q8_0};

struct ShaderEntry {
  std::string name;  // kernel and its constants, e.g. "matmul K=2560 N=4096 FORMAT_Q4_0"
  ArtifactRange code;
};

struct Plan {
  std::vector<ShaderEntry> shaders;
  std::vector<Dispatch> dispatches;
  std::int64_t arena_floats_per_token = 0;
  // RoPE: the step buffer carries cos / sin of position * theta^(-2i / head_dim).
  std::int64_t rope_head_dim = 0;
  double rope_theta = 0;
  RopeScaling rope_scaling;  // YaRN (runtime/core/rope_frequencies.h); plain RoPE by default
  // Attention partials: floats a (row, head, split) and the largest head count.
  std::int64_t attention_heads = 0;
  std::int64_t attention_head_dim = 0;
  // The last dispatch is argmax.comp: the greedy token of the last logit row, written just
  // past the logit rows in the logits buffer.
  bool device_argmax = false;
  // Cache types the cache dispatches have shaders for: the first this many of kKvTypes.
  std::size_t kv_types = std::size(kKvTypes);
};

nlohmann::json plan_to_json(const Plan& plan);
// Validates as it reads (indices in range, sizes sane); messages name the artifact.
Plan plan_from_json(const nlohmann::json& j, std::size_t tensor_count, std::int64_t layers, const Artifact& artifact);

// Workgroups of `axis` for a step.
std::uint64_t workgroups(const GridAxis& axis, std::uint64_t rows, std::uint64_t splits);

}  // namespace qwen3c::vulkan
