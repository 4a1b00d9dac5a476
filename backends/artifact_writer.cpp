#include "backends/artifact_writer.h"

#include <cstring>

#include "runtime/artifact/artifact_format.h"
#include "runtime/core/error.h"

namespace qwen3c {

using nlohmann::json;

ArtifactWriter::ArtifactWriter(const std::string& path) : file_(path) {
  std::vector<std::uint8_t> placeholder(kArtifactHeaderSize, 0);
  write(placeholder.data(), placeholder.size());
  manifest_["tensors"] = json::array();
}

void ArtifactWriter::write(const void* data, std::size_t size) {
  file_.write(data, size);
  offset_ += size;
}

json ArtifactWriter::range_to_json(const ArtifactRange& r) {
  return {{"offset", r.offset}, {"size", r.size}, {"checksum", r.checksum}};
}

ArtifactRange ArtifactWriter::add_data(std::span<const std::uint8_t> bytes) {
  static const std::uint8_t zeros[kArtifactAlignment] = {};
  const std::uint64_t pad = (kArtifactAlignment - offset_ % kArtifactAlignment) % kArtifactAlignment;
  write(zeros, pad);
  ArtifactRange range{offset_, bytes.size(), checksum(bytes.data(), bytes.size())};
  write(bytes.data(), bytes.size());
  return range;
}

void ArtifactWriter::add_tensor(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape,
                                const std::string& layout, std::span<const std::uint8_t> bytes) {
  ArtifactRange range = add_data(bytes);
  json entry = range_to_json(range);
  entry["name"] = name;
  entry["dtype"] = std::string(dtype_name(dtype));
  entry["shape"] = shape;
  entry["layout"] = layout;
  manifest_["tensors"].push_back(std::move(entry));
}

void ArtifactWriter::add_generated_tensor(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape,
                                          const std::string& layout) {
  manifest_["tensors"].push_back(
      {{"name", name}, {"dtype", std::string(dtype_name(dtype))}, {"shape", shape}, {"layout", layout}});
}

void ArtifactWriter::finish() {
  const std::string text = manifest_.dump();
  ArtifactHeader h{};
  std::memcpy(h.magic, kArtifactMagic, sizeof h.magic);
  h.version = kArtifactVersion;
  h.header_size = kArtifactHeaderSize;
  h.manifest_offset = offset_;
  h.manifest_size = text.size();
  h.manifest_checksum = checksum(text.data(), text.size());
  write(text.data(), text.size());
  h.file_size = offset_;
  h.header_checksum = checksum(&h, offsetof(ArtifactHeader, header_checksum));
  file_.seek(0);
  file_.write(&h, sizeof h);
  file_.commit();
}

}  // namespace qwen3c
