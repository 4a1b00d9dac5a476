#pragma once
// qwen3c's passes over the q3 dialect (declared in Passes.td) and its pipelines.

#include <memory>
#include <string>

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace qwen3c {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

// Attribute names the passes set.
inline constexpr const char* kArenaOffsetsAttr = "q3.arena_offsets";
inline constexpr const char* kArenaSizeAttr = "q3.arena_floats_per_token";

struct PipelineOptions {
  int opt_level = 2;         // 0: the graph as built; 2: fuse, quantise, plan memory
  std::string quant = "";    // "", "bf16" (no quantisation), "q8_0" or "q4_0"
  std::string target = "";   // the backend whose weight layouts to pick ("": none)
  std::string precision = "f32";  // "f32", or "fast": activations rounded (q3-round-activations)
};

// Adds the -O<level> pipeline to `pm`: fusions (at -O2), quantisation (when asked),
// weight packing (when a target is given), and memory planning, which always runs.
void build_pipeline(mlir::OpPassManager& pm, const PipelineOptions& options);

// Parses "a,b,c" (pass names as registered) into `pm`; throws qwen3c::Error naming an
// unknown pass.
void add_passes_by_name(mlir::OpPassManager& pm, const std::string& names);

}  // namespace qwen3c
