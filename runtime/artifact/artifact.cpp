#include "runtime/artifact/artifact.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "runtime/artifact/artifact_format.h"
#include "runtime/core/error.h"
#include "runtime/core/input_file.h"
#include "runtime/core/model_config_json.h"
#include "runtime/core/weight_format.h"

namespace qwen3c {

namespace {

using nlohmann::json;

class Fd {
 public:
  explicit Fd(const std::string& path) : fd_(open_regular_file(path)) {}
  ~Fd() { ::close(fd_); }
  int get() const { return fd_; }

 private:
  int fd_;
};

void read_exact(const std::string& path, std::uint64_t offset, std::uint64_t size, void* dst) {
  Fd fd(path);
  auto* out = static_cast<std::uint8_t*>(dst);
  while (size > 0) {
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(size, 1 << 30));
    ssize_t n = ::pread(fd.get(), out, chunk, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(path + ": truncated or unreadable at offset " + std::to_string(offset));
    out += n;
    offset += static_cast<std::uint64_t>(n);
    size -= static_cast<std::uint64_t>(n);
  }
}

}  // namespace

ArtifactRange Artifact::range_from_json(const json& j, const std::string& what) const {
  auto field = [&](const char* key) {
    auto it = j.find(key);
    if (!j.is_object() || it == j.end() || !it->is_number_unsigned()) {
      throw Error(path_ + ": manifest: " + what + " has no valid '" + key + "'");
    }
    return it->get<std::uint64_t>();
  };
  ArtifactRange r{field("offset"), field("size"), field("checksum")};
  if (r.offset < kArtifactHeaderSize || r.offset > data_end_ || r.size > data_end_ - r.offset) {
    throw Error(path_ + ": manifest: " + what + " lies outside the data section");
  }
  return r;
}

Artifact Artifact::open(const std::string& path) {
  Artifact a;
  a.path_ = path;
  ::close(open_regular_file(path, &a.file_size_));  // a regular file, and its size
  if (a.file_size_ < kArtifactHeaderSize) {
    throw Error(path + ": truncated: " + std::to_string(a.file_size_) +
                " bytes is shorter than the artifact header");
  }
  ArtifactHeader h;
  read_exact(path, 0, sizeof h, &h);
  if (std::memcmp(h.magic, kArtifactMagic, sizeof h.magic) != 0) {
    throw Error(path + ": not a qwen3c artifact (bad magic)");
  }
  if (h.version != kArtifactVersion) {
    throw Error(path + ": artifact format version " + std::to_string(h.version) +
                ", this runtime reads version " + std::to_string(kArtifactVersion) +
                " (recompile the model)");
  }
  if (checksum(&h, offsetof(ArtifactHeader, header_checksum)) != h.header_checksum) {
    throw Error(path + ": header checksum mismatch (corrupted artifact)");
  }
  if (h.header_size != kArtifactHeaderSize) throw Error(path + ": unexpected header size");
  if (h.file_size != a.file_size_) {
    throw Error(path + ": truncated or extended: header records " + std::to_string(h.file_size) +
                " bytes, the file has " + std::to_string(a.file_size_));
  }
  if (h.manifest_size > kMaxManifestBytes || h.manifest_offset < kArtifactHeaderSize ||
      h.manifest_offset > a.file_size_ || h.manifest_size > a.file_size_ - h.manifest_offset) {
    throw Error(path + ": manifest lies outside the file");
  }
  a.data_end_ = h.manifest_offset;

  std::string text(h.manifest_size, '\0');
  read_exact(path, h.manifest_offset, h.manifest_size, text.data());
  if (checksum(text.data(), text.size()) != h.manifest_checksum) {
    throw Error(path + ": manifest checksum mismatch (corrupted artifact)");
  }
  try {
    a.manifest_ = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(path + ": manifest is not valid JSON: " + e.what());
  }
  const json& m = a.manifest_;
  if (!m.is_object()) throw Error(path + ": manifest is not an object");
  a.config_ = model_config_from_json(m.value("model", json()), path + ": manifest");

  auto backend = m.find("backend");
  if (backend == m.end() || !backend->is_object() || !backend->contains("name") ||
      !(*backend)["name"].is_string()) {
    throw Error(path + ": manifest has no backend name");
  }
  a.backend_ = (*backend)["name"].get<std::string>();

  auto weights = m.find("weights");
  if (weights == m.end() || !weights->is_object()) throw Error(path + ": manifest has no 'weights'");
  const std::string source = weights->value("source", "");
  if (source == "random") {
    auto seed = weights->find("seed");
    if (seed == weights->end() || !seed->is_number_unsigned()) throw Error(path + ": random weights without a seed");
    a.random_seed_ = seed->get<std::uint64_t>();
  } else if (source != "stored") {
    throw Error(path + ": unknown weight source '" + source + "'");
  }

  if (auto precision = m.find("precision"); precision != m.end()) {
    if (!precision->is_string() || (*precision != "f32" && *precision != "fast")) {
      throw Error(path + ": manifest: unknown precision");
    }
    a.precision_ = precision->get<std::string>();
  }

  auto tensors = m.find("tensors");
  if (tensors == m.end() || !tensors->is_array()) throw Error(path + ": manifest has no tensor table");
  for (const json& t : *tensors) {
    ArtifactTensor tensor;
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) {
      throw Error(path + ": manifest: tensor entry without a name");
    }
    tensor.name = t["name"].get<std::string>();
    const std::string what = "tensor '" + tensor.name + "'";
    auto dtype = dtype_from_name(t.value("dtype", ""));
    if (!dtype || !is_float_dtype(*dtype)) throw Error(path + ": manifest: " + what + " has a bad dtype");
    tensor.dtype = *dtype;
    if (!t.contains("shape") || !t["shape"].is_array() || t["shape"].size() > 4) {
      throw Error(path + ": manifest: " + what + " has a bad shape");
    }
    std::uint64_t elements = 1;
    for (const json& d : t["shape"]) {
      if (!d.is_number_unsigned() || d.get<std::uint64_t>() > (1ull << 32) ||
          __builtin_mul_overflow(elements, d.get<std::uint64_t>(), &elements)) {
        throw Error(path + ": manifest: " + what + " has a bad shape");
      }
      tensor.shape.push_back(d.get<std::int64_t>());
    }
    if (elements > (1ull << 40)) throw Error(path + ": manifest: " + what + " is too large");
    if (auto layout = t.find("layout"); layout != t.end()) {
      if (!layout->is_string() || layout->get_ref<const std::string&>().size() > 64) {
        throw Error(path + ": manifest: " + what + " has a bad layout");
      }
      tensor.layout = layout->get<std::string>();
    }
    if (is_quantized(tensor.dtype) && (tensor.shape.size() != 2 || tensor.shape[1] % Q3_QBLOCK != 0)) {
      throw Error(path + ": manifest: quantised " + what + " must be a matrix of whole blocks of 32");
    }
    if (!a.random_seed_) {
      tensor.range = a.range_from_json(t, what);
      if (tensor.range.size != tensor.byte_size()) {
        throw Error(path + ": manifest: " + what + " size does not match its shape and dtype");
      }
    }
    a.tensors_.push_back(std::move(tensor));
  }
  return a;
}

void Artifact::read(const ArtifactRange& range, void* dst, const std::string& what) const {
  read_exact(path_, range.offset, range.size, dst);
  if (checksum(dst, range.size) != range.checksum) {
    throw Error(path_ + ": checksum mismatch in " + what + " (corrupted artifact)");
  }
}

std::vector<std::uint8_t> Artifact::read_blob(const ArtifactRange& range, const std::string& what) const {
  std::vector<std::uint8_t> bytes(range.size);
  read(range, bytes.data(), what);
  return bytes;
}

}  // namespace qwen3c
