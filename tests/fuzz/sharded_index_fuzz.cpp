// model.safetensors.index.json of a sharded checkpoint, against the tiny fixture's real
// shards and config (linked into a private folder once).
#include <filesystem>

#include "frontend/checkpoint.h"
#include "frontend/hf_config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  static const qwen3c::ModelConfig config = qwen3c::load_hf_config(QWEN3C_TEST_DATA "/models/qwen3-tiny/config.json");
  const std::string index = qwen3c::fuzz::write_input_file("model.safetensors.index.json", data, size);
  const fs::path dir = fs::path(index).parent_path();
  static const bool linked = [&] {
    for (const char* shard : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}) {
      fs::create_symlink(fs::path(QWEN3C_TEST_DATA "/models/qwen3-tiny") / shard, dir / shard);
    }
    return true;
  }();
  (void)linked;
  qwen3c::fuzz::expect_only_errors([&] { qwen3c::Checkpoint::open(dir.string(), config); });
  return 0;
}
