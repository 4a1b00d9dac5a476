#pragma once
// Opening files other people made, safely: a FIFO or a device named where a file belongs
// is refused at once (a plain open() of a FIFO waits forever for a writer), and filesystem
// failures (a symlink loop, no permission) become errors that name the path.

#include <cstdint>
#include <filesystem>
#include <string>

namespace qwen3c {

// A read-only descriptor of the regular file at `path` (the caller closes it), and its
// size in `size` when given. Throws qwen3c::Error naming the path when it cannot be opened
// or is not a regular file.
int open_regular_file(const std::string& path, std::uint64_t* size = nullptr);

// Whether `path` exists; throws qwen3c::Error for anything but "it does not" (a symlink
// loop, a permission error), where std::filesystem would throw its raw message.
bool path_exists(const std::filesystem::path& path);

// Whether `path` is a directory (following links), with the same errors as path_exists.
bool is_directory_path(const std::filesystem::path& path);

}  // namespace qwen3c
