#pragma once
// The CPU backend's section of an artifact's manifest: written by the compiler side
// (compiler/cpu_backend.cpp), read and validated by the executor, in one place.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/artifact/artifact.h"

namespace qwen3c::cpu {

// The fingerprint's symbol in the generated code (a 64-bit constant).
inline constexpr const char* kCodeFingerprint = "q3_code_fingerprint";

// XXH3 of `fingerprint_text` with the kernel tier and the target features it was made for.
std::uint64_t code_fingerprint(const std::string& fingerprint_text, const std::string& kernel_tier,
                               const std::vector<std::string>& target_features);

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
  // The weights each call reads whole, as tensor-table indices (for `bench --profile-calls`:
  // which matrix a call multiplies and the bytes it streams; none for a table lookup). Empty
  // lists where an artifact predates them.
  std::vector<std::vector<std::int64_t>> kernel_weights;

  nlohmann::json to_json() const;

  // What the generated code was built for, as text: the model configuration, the
  // precision, the tensor table (names, dtypes, shapes, layouts), the memory plan and the
  // kernel count, read from a manifest. The compiler bakes a hash of it (with the tier and
  // features) into the code as kCodeFingerprint; the executor recomputes it from the
  // manifest it was handed and refuses a mismatch, so an edited manifest (a tensor dropped,
  // a layer count or the arena changed) cannot steer the code into memory it does not own.
  static std::string fingerprint_text(const nlohmann::json& manifest, const CpuManifest& m);
  // Throws qwen3c::Error naming the artifact and the field at fault.
  static CpuManifest from_json(const Artifact& artifact);
};

}  // namespace qwen3c::cpu
