#pragma once
// Helpers that write model folders for tests: configs, safetensors files (well-formed or
// deliberately broken) and temporary directories.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace qwen3c::testing {

std::string test_data(const std::string& relative);  // path under tests/data

// A fixture name as a test-name suffix: "qwen3-tiny" -> "qwen3_tiny".
inline std::string test_name(std::string name) {
  for (char& c : name) {
    if (c == '-' || c == '.') c = '_';
  }
  return name;
}

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct TensorSpec {
  std::string name;
  std::string dtype;  // safetensors spelling
  std::vector<std::int64_t> shape;
};

void write_text(const std::string& path, const std::string& text);
void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes);
// A whole file; a file that cannot be read throws (the test fails naming it) rather than
// reading as empty.
std::string read_text(const std::string& path);
std::vector<std::uint8_t> read_bytes(const std::string& path);

// A well-formed safetensors file with zero-filled tensors laid out back to back.
void write_safetensors(const std::string& path, const std::vector<TensorSpec>& tensors);

// A safetensors file from a header as given plus `data_bytes` bytes of data.
void write_raw_safetensors(const std::string& path, const std::string& header,
                           std::size_t data_bytes);

// A small valid Qwen3 config (published layout): vocab 16, hidden 8, 2 layers, 2/1 heads of 4.
nlohmann::json tiny_config(bool tied = true);
// The tensors that config needs, all F32.
std::vector<TensorSpec> tiny_tensors(const nlohmann::json& config);

// Writes config.json and model.safetensors for `config` into `dir`.
void write_model(const std::filesystem::path& dir, const nlohmann::json& config,
                 const std::vector<TensorSpec>& tensors);

}  // namespace qwen3c::testing
