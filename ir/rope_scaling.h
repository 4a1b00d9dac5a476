#pragma once
// The kernel-level rope parameters (runtime/core/rope_frequencies.h) of a q3 rope op's
// attributes: plain RoPE without `yarn`, YaRN's ramp and attention factor with it.

#include <cstdint>

#include "ir/Q3.h"
#include "runtime/core/rope_frequencies.h"

namespace qwen3c {

YarnConfig yarn_config(q3::YarnAttr yarn);
RopeScaling rope_scaling(std::int64_t head_dim, double theta, q3::YarnAttr yarn);  // yarn may be null
// The attribute for a config's YaRN (frontend).
q3::YarnAttr yarn_attr(mlir::MLIRContext* context, const YarnConfig& yarn);

}  // namespace qwen3c
