#pragma once
// The portable backend's artifact code: the forward step as data, a list of kernel calls
// that the executor interprets with plain C++ loops (runtime/kernels.h). Written by the
// compiler side (compiler/portable_backend.cpp), read back and bounds-checked here, so a
// damaged or hostile artifact is refused instead of indexing out of range.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/core/rope_frequencies.h"

#include "runtime/artifact/artifact.h"

namespace qwen3c::portable {

// The kernels the executor knows, one per q3 op (the norm-folded matrix products and the
// gated one share `matmul`).
enum class Kernel {
  Embedding,
  RmsNorm,             // per `group` values of a row (a head for head_rms_norm)
  Rope,
  Attention,           // appends k and v to the cache, then attends
  QkNormRopeAppend,
  CachedAttention,
  Matmul,              // x W^T, optional folded RMSNorm in front, optional SwiGLU gating
  AddRmsNorm,
  Silu,
  Mul,
  Add,
};

// Where a kernel reads or writes rows.
struct Operand {
  enum class Kind { Arena, Ids, Positions, Logits } kind = Kind::Arena;
  std::int64_t offset = 0;  // Arena: floats per token before the value (value at offset * tokens)
  std::int64_t width = 0;   // floats a row
  bool last_rows_only = false;  // read in the tail, produced before it: its last rows only
};

struct Step {
  Kernel kernel;
  std::vector<Operand> inputs, outputs;
  std::vector<std::int64_t> weights;  // tensor-table indices
  // Kernel parameters: epsilon, theta, scale; heads, kv_heads, head_dim, layer, group,
  // gated (0/1). Absent ones are 0.
  double epsilon = 0, theta = 0, scale = 0;
  RopeScaling rope;  // YaRN's ramp and attention factor (runtime/core/rope_frequencies.h)
  std::int64_t heads = 0, kv_heads = 0, head_dim = 0, layer = 0, group = 0, gated = 0;
  bool tail = false;  // computes only the logit rows
};

struct Program {
  std::int64_t arena_floats_per_token = 0;
  std::vector<Step> steps;

  nlohmann::json to_json() const;
  // Checks every index and size against the artifact (weights, layers, widths, arena).
  static Program from_json(const Artifact& artifact);
};

const char* kernel_name(Kernel k);

}  // namespace qwen3c::portable
