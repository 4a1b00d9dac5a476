#include "runtime/core/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime/core/error.h"

namespace qwen3c {

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

mode_t current_umask() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

}  // namespace

void check_replaceable_output(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw Error(path + ": cannot check the output path: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw Error(path + ": is " + kind_of(st.st_mode) +
                "; refusing to replace it with the output (name a regular file)");
  }
  if (st.st_nlink > 1) {
    throw Error(path + ": has " + std::to_string(st.st_nlink) +
                " hard links; refusing to replace it (the other names would keep the old "
                "contents): remove it first or name another file");
  }
}

OutputFile::OutputFile(const std::string& path) : path_(path) {
  if (path.empty()) throw Error("the output path is empty");
  check_replaceable_output(path);
  // mkostemp opens with O_CREAT | O_EXCL: an existing name, a planted symlink included, is
  // never opened; the random suffix means a stale temporary does not block the write.
  std::vector<char> name(path.begin(), path.end());
  const std::string suffix = ".partial.XXXXXX";
  name.insert(name.end(), suffix.begin(), suffix.end());
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot create the output next to it: " + std::strerror(errno));
  temporary_ = name.data();
  // mkostemp makes the file 0600; an output gets the permissions any new file would.
  ::fchmod(fd, 0666 & ~current_umask());
  file_ = ::fdopen(fd, "wb");
  if (file_ == nullptr) {
    const int err = errno;
    ::close(fd);
    ::unlink(temporary_.c_str());
    throw Error(path + ": cannot write: " + std::strerror(err));
  }
}

OutputFile::~OutputFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_ && !temporary_.empty()) ::unlink(temporary_.c_str());
}

void OutputFile::fail(const std::string& what, int err) const {
  throw Error(path_ + ": " + what + ": " + std::strerror(err) + " (while writing " + temporary_ + ")");
}

void OutputFile::write(const void* data, std::size_t size) {
  if (size > 0 && std::fwrite(data, 1, size, file_) != size) fail("write failed", errno);
}

void OutputFile::seek(long offset) {
  if (std::fseek(file_, offset, SEEK_SET) != 0) fail("seek failed", errno);
}

void OutputFile::commit() {
  std::FILE* file = file_;
  file_ = nullptr;
  if (std::fflush(file) != 0 || ::fsync(::fileno(file)) != 0) {
    const int err = errno;
    std::fclose(file);
    fail("write failed", err);
  }
  if (std::fclose(file) != 0) fail("write failed", errno);
  // Checked again: the destination may have changed while the output was being written.
  check_replaceable_output(path_);
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) fail("cannot move the output into place", errno);
  committed_ = true;
}

}  // namespace qwen3c
