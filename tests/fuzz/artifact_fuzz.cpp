// A .q3c artifact: header, manifest, tensor table, and every byte range the manifest
// lists (read and checksummed, as `inspect --verify` does), plus the embedded tokenizer.
#include "runtime/artifact/artifact.h"
#include "runtime/text/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

namespace {
void read_every_range(const qwen3c::Artifact& a, const nlohmann::json& j) {
  if (j.is_object()) {
    if (j.contains("offset") && j.contains("size") && j.contains("checksum")) {
      const qwen3c::ArtifactRange r = a.range_from_json(j, "range");
      if (r.size <= (64u << 20)) a.read_blob(r, "range");
      return;
    }
    for (const auto& [key, value] : j.items()) read_every_range(a, value);
  } else if (j.is_array()) {
    for (const auto& value : j) read_every_range(a, value);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = qwen3c::fuzz::write_input_file("artifact.q3c", data, size);
  qwen3c::fuzz::expect_only_errors([&] {
    qwen3c::Artifact a = qwen3c::Artifact::open(path);
    (void)a.config().kv_dim();
    for (const auto& t : a.tensors()) (void)t.byte_size();
    read_every_range(a, a.manifest());
  });
  qwen3c::fuzz::expect_only_errors([&] { qwen3c::Tokenizer::load(path); });
  return 0;
}
