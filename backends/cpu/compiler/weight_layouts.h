#pragma once
// Which layout each weight gets on the CPU (runtime/packing.h has the layouts).

#include <optional>
#include <string>

#include "ir/Q3.h"

namespace qwen3c::cpu {

// Packed for bf16 (even inputs), q8_0 and q4_0 matrices, "x2" halves for a SwiGLU weight;
// the shared row-major layouts otherwise (vectors, f32 matrices).
std::optional<std::string> cpu_weight_layout(q3::WeightOp weight, std::string* why);

}  // namespace qwen3c::cpu
