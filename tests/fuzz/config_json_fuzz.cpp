// config.json, in both layouts (flat, and nested under text_config), through the strict
// JSON parser and the config validation.
#include "frontend/hf_config.h"
#include "runtime/core/strict_json.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  qwen3c::fuzz::expect_only_errors([&] {
    const nlohmann::json j = qwen3c::parse_strict_json(qwen3c::fuzz::as_text(data, size), "config.json");
    const qwen3c::ModelConfig config = qwen3c::parse_hf_config(j, "config.json");
    (void)config.kv_dim();
  });
  return 0;
}
