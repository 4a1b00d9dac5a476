#pragma once
// `--kv-type`, on every command that runs a model: how the KV cache stores keys and values.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <string>

#include "runtime/core/error.h"
#include "runtime/core/kv_type_names.h"
#include "runtime/execution/session.h"

namespace qwen3c::cli {

inline void add_kv_type_flag(CLI::App& cmd, std::string& kv_type) {
  cmd.add_option("--kv-type", kv_type,
                 "KV cache storage: f32, f16, bf16 or q8_0 (default f16; f32 where the backend has only that)")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}));
}

// The flag's type; unset: f16 where the model's backend keeps it, else f32.
inline KvType resolve_kv_type(const std::string& flag, Model& model) {
  if (!flag.empty()) return *parse_kv_type(flag);
  const std::vector<KvType> offered = model.executor().kv_types();
  return std::find(offered.begin(), offered.end(), KvType::F16) != offered.end() ? KvType::F16 : KvType::F32;
}

}  // namespace qwen3c::cli
