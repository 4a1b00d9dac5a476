#include "runtime/core/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "runtime/core/error.h"

namespace qwen3c {

namespace fs = std::filesystem;

int open_regular_file(const std::string& path, std::uint64_t* size) {
  if (path.empty()) throw Error("an empty path names no file");
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error(path + ": cannot stat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + (S_ISDIR(st.st_mode) ? ": is a directory, not a file" : ": not a regular file"));
  }
  if (size != nullptr) *size = static_cast<std::uint64_t>(st.st_size);
  // Regular files ignore O_NONBLOCK, but clear it so no later read can see EAGAIN.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

namespace {
fs::file_status status_or_throw(const fs::path& path) {
  std::error_code ec;
  fs::file_status s = fs::status(path, ec);
  if (ec && s.type() != fs::file_type::not_found) throw Error(path.string() + ": " + ec.message());
  return s;
}
}  // namespace

bool path_exists(const fs::path& path) { return fs::exists(status_or_throw(path)); }

bool is_directory_path(const fs::path& path) { return fs::is_directory(status_or_throw(path)); }

}  // namespace qwen3c
