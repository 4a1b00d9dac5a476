#pragma once
// The names of the KV cache types, as `--kv-type` and `inspect` spell them.

#include <optional>
#include <string>
#include <vector>

#include "runtime/core/kv_type.h"

namespace qwen3c {

inline constexpr KvType kAllKvTypes[] = {KvType::F32, KvType::F16, KvType::BF16, KvType::Q8_0};

std::string kv_type_name(KvType type);
std::optional<KvType> parse_kv_type(const std::string& name);
// "f32, f16, bf16, q8_0"
std::string kv_type_list();

}  // namespace qwen3c
