#include "runtime/core/kv_type_names.h"

namespace qwen3c {

std::string kv_type_name(KvType type) {
  switch (type) {
    case KvType::F32: return "f32";
    case KvType::F16: return "f16";
    case KvType::BF16: return "bf16";
    case KvType::Q8_0: return "q8_0";
  }
  return "?";
}

std::optional<KvType> parse_kv_type(const std::string& name) {
  for (KvType t : kAllKvTypes) {
    if (kv_type_name(t) == name) return t;
  }
  return std::nullopt;
}

std::string kv_type_list() {
  std::string out;
  for (KvType t : kAllKvTypes) out += (out.empty() ? "" : ", ") + kv_type_name(t);
  return out;
}

}  // namespace qwen3c
