#pragma once
// Hand edits of an artifact's bytes for tests: its header, and its manifest rewritten with
// every checksum fixed, as a hand-edited (or older) artifact would be.

#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/artifact/artifact_format.h"

namespace qwen3c::testing {

inline ArtifactHeader header_of(const std::vector<std::uint8_t>& bytes) {
  if (bytes.size() < sizeof(ArtifactHeader)) throw std::runtime_error("not an artifact: shorter than its header");
  ArtifactHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  return h;
}

inline std::vector<std::uint8_t> with_manifest(std::vector<std::uint8_t> bytes,
                                               const std::function<void(nlohmann::json&)>& edit) {
  ArtifactHeader h = header_of(bytes);
  nlohmann::json manifest =
      nlohmann::json::parse(std::string(bytes.begin() + h.manifest_offset, bytes.begin() + h.manifest_offset + h.manifest_size));
  edit(manifest);
  const std::string text = manifest.dump();
  bytes.resize(h.manifest_offset);
  bytes.insert(bytes.end(), text.begin(), text.end());
  h.manifest_size = text.size();
  h.manifest_checksum = checksum(text.data(), text.size());
  h.file_size = bytes.size();
  h.header_checksum = checksum(&h, offsetof(ArtifactHeader, header_checksum));
  std::memcpy(bytes.data(), &h, sizeof h);
  return bytes;
}

}  // namespace qwen3c::testing
