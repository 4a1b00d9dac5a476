#pragma once
// The .q3c artifact file format, shared by the writer (compiler) and the reader (runtime).
//
//   [0, 64)                 ArtifactHeader (little-endian)
//   [64, manifest_offset)   data: tensors and backend blobs, each 64-byte aligned
//   [manifest_offset, +size) manifest: UTF-8 JSON (model config, backend, tensor table,
//                           blobs, weight source), last in the file
//
// Every byte range carries an XXH3-64 checksum: the header its own, the manifest in the
// header, each tensor and blob in the manifest.

#include <cstdint>

namespace qwen3c {

inline constexpr char kArtifactMagic[8] = {'Q', '3', 'C', 'A', 'R', 'T', '\r', '\n'};
// 2: a step's rows may belong to several sequences (the CPU entry point takes each row's
// slot and per-sequence caches; the Vulkan step buffer carries the slots).
// 3: the KV cache type is chosen when running (the CPU entry point takes it; caches are
// byte rows), and rope ops may carry YaRN scaling.
// 4: the CPU entry point takes a work counter per kernel call (the packed matrix products
// hand out their rows to the threads as they go).
// 5: the Vulkan step header's eighth word is the rows the logits buffer holds (the device
// argmax's word follows them), no longer the step's row capacity.
inline constexpr std::uint32_t kArtifactVersion = 5;
inline constexpr std::uint64_t kArtifactAlignment = 64;
inline constexpr std::uint64_t kArtifactHeaderSize = 64;
inline constexpr std::uint64_t kMaxManifestBytes = 256ull << 20;

struct ArtifactHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t header_size;
  std::uint64_t file_size;
  std::uint64_t manifest_offset;
  std::uint64_t manifest_size;
  std::uint64_t manifest_checksum;
  std::uint64_t reserved;
  std::uint64_t header_checksum;  // XXH3-64 of the 56 bytes before it
};
static_assert(sizeof(ArtifactHeader) == kArtifactHeaderSize);

std::uint64_t checksum(const void* data, std::uint64_t size);

}  // namespace qwen3c
