#pragma once
// A file written under a temporary name and moved over its destination only when complete,
// so a failed or interrupted write never leaves half a file under the real name.
//
// Safe against what a hostile or careless setup can put at the destination: the temporary is
// created exclusively (O_EXCL, so a symlink planted at its name is never followed), and a
// destination that is not a regular file with one name (a device such as /dev/null, a FIFO,
// a directory, a symbolic link, a file with other hard links) is refused, not replaced.

#include <cstddef>
#include <cstdio>
#include <string>

namespace qwen3c {

class OutputFile {
 public:
  // Checks the destination and creates the temporary next to it; throws Error naming `path`.
  explicit OutputFile(const std::string& path);
  ~OutputFile();  // removes the temporary unless commit() ran
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::FILE* stream() { return file_; }
  void write(const void* data, std::size_t size);
  void seek(long offset);
  // Flushes, closes and renames the temporary over the destination.
  void commit();

  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const std::string& what, int err) const;

  std::string path_;
  std::string temporary_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// Throws Error when `path` exists and is anything but a regular file with a single name.
void check_replaceable_output(const std::string& path);

}  // namespace qwen3c
