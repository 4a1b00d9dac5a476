#pragma once
// The CPU backend's section of an artifact's manifest: written by the compiler side
// (compiler/cpu_backend.cpp), read and validated by the executor, in one place.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/artifact/artifact.h"

namespace qwen3c::cpu {

struct CpuManifest {
  std::string target_cpu;                    // the LLVM CPU name the code was generated for
  std::vector<std::string> target_features;  // the features it may use ("avx2", ...)
  std::string kernel_tier;                   // "generic", "avx2", "avx512" or "amx"
  std::string entry;                         // the forward entry point's symbol
  ArtifactRange code;                        // the shared object
  std::int64_t arena_floats_per_token = 0;   // the memory plan's arena
  std::int64_t scratch_floats_per_token = 0; // per-thread scratch (see cpu_abi.h)
  std::int64_t scratch_floats_fixed = 0;
  std::int64_t kernel_calls = 0;             // for `inspect`
  std::vector<std::string> kernels;          // each call's kernel, in order (for profiles)
  std::vector<std::int64_t> kernel_barriers; // barriers each call meets inside (attention: 1)

  nlohmann::json to_json() const;
  // Throws qwen3c::Error naming the artifact and the field at fault.
  static CpuManifest from_json(const Artifact& artifact);
};

}  // namespace qwen3c::cpu
