#pragma once
// Shared by the libFuzzer targets: qwen3c::Error is the expected answer to bad input;
// anything else (a crash, a sanitizer report, another exception) is a finding.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/core/error.h"

namespace qwen3c::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `body`; an Error is fine, any other exception aborts (libFuzzer reports it).
template <class F>
void expect_only_errors(F&& body) {
  try {
    body();
  } catch (const Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception (not qwen3c::Error): %s\n", e.what());
    std::abort();
  }
}

// A file holding the input, for readers that take paths (one per process, reused).
inline std::string write_input_file(const char* name, const std::uint8_t* data, std::size_t size) {
  static const std::string dir = [] {
    std::string d = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/qwen3c-fuzz-" +
                    std::to_string(::getpid());
    std::string cmd = "mkdir -p " + d;
    if (std::system(cmd.c_str()) != 0) std::abort();
    return d;
  }();
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || (size > 0 && std::fwrite(data, 1, size, f) != size)) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace qwen3c::fuzz
