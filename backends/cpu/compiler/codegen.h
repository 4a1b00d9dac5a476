#pragma once
// Turns a kernel schedule into native code: the schedule becomes an LLVM function that calls
// the kernel library (LLVM bitcode built with qwen3c) with the model's dimensions as
// constants; the module is optimised at O3 for the target CPU, emitted as an object and
// linked into a shared object.

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cpu/compiler/lowering.h"

namespace qwen3c::cpu {

struct CompiledCode {
  std::vector<std::uint8_t> shared_object;
  std::string cpu;                    // the LLVM CPU name compiled for
  std::vector<std::string> features;  // every feature the code may use ("avx2", "fma", ...)
  std::string kernel_tier;            // the kernel library tier linked in (kernel_tiers.h)
};

// `cpu`: an LLVM CPU name ("x86-64-v3", "znver3"...), or "" for this machine.
// `fingerprint_text`: what the code is built for (CpuManifest::fingerprint_text); its hash,
// with the tier and features chosen here, is defined in the code as kCodeFingerprint.
CompiledCode compile_schedule(const Schedule& schedule, const std::string& cpu, const std::string& fingerprint_text);

}  // namespace qwen3c::cpu
