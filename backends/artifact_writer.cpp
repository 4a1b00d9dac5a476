#include "backends/artifact_writer.h"

#include <cerrno>
#include <cstring>

#include "runtime/artifact_format.h"
#include "runtime/error.h"

namespace qwen3c {

using nlohmann::json;

ArtifactWriter::ArtifactWriter(const std::string& path)
    : path_(path), partial_path_(path + ".partial") {
  file_ = std::fopen(partial_path_.c_str(), "wb");
  if (file_ == nullptr) throw Error(path + ": cannot write: " + std::strerror(errno));
  std::vector<std::uint8_t> placeholder(kArtifactHeaderSize, 0);
  write(placeholder.data(), placeholder.size());
  manifest_["tensors"] = json::array();
}

ArtifactWriter::~ArtifactWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!finished_) std::remove(partial_path_.c_str());
}

void ArtifactWriter::write(const void* data, std::size_t size) {
  if (size > 0 && std::fwrite(data, 1, size, file_) != size) {
    throw Error(partial_path_ + ": write failed: " + std::strerror(errno));
  }
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

void ArtifactWriter::add_tensor(const std::string& name, DType dtype,
                                const std::vector<std::int64_t>& shape,
                                std::span<const std::uint8_t> bytes) {
  ArtifactRange range = add_data(bytes);
  json entry = range_to_json(range);
  entry["name"] = name;
  entry["dtype"] = std::string(dtype_name(dtype));
  entry["shape"] = shape;
  manifest_["tensors"].push_back(std::move(entry));
}

void ArtifactWriter::add_generated_tensor(const std::string& name, DType dtype,
                                          const std::vector<std::int64_t>& shape) {
  manifest_["tensors"].push_back(
      {{"name", name}, {"dtype", std::string(dtype_name(dtype))}, {"shape", shape}});
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
  if (std::fseek(file_, 0, SEEK_SET) != 0) throw Error(partial_path_ + ": seek failed");
  if (std::fwrite(&h, 1, sizeof h, file_) != sizeof h || std::fclose(file_) != 0) {
    file_ = nullptr;
    throw Error(partial_path_ + ": write failed: " + std::strerror(errno));
  }
  file_ = nullptr;
  if (std::rename(partial_path_.c_str(), path_.c_str()) != 0) {
    throw Error(path_ + ": cannot rename from " + partial_path_ + ": " + std::strerror(errno));
  }
  finished_ = true;
}

}  // namespace qwen3c
