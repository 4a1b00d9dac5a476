#pragma once
// A read-only memory mapping of a whole file. Weights are read through it without copying.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace qwen3c {

class MappedFile {
 public:
  // Maps `path` read-only; throws qwen3c::Error naming the path when it cannot.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }
  // Drops the resident pages of `range` (inside this mapping): read once, they need not
  // count against the process's memory. Reading them again re-reads the file.
  void release(std::span<const std::uint8_t> range) const;

 private:
  void release();

  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace qwen3c
