#include "frontend/safetensors_writer.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/model_config.h"

namespace qwen3c {

void write_safetensors_file(const std::string& path, const std::vector<TensorToWrite>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    const std::uint64_t size = static_cast<std::uint64_t>(element_count(t.shape)) * dtype_size(t.dtype);
    if (size != t.bytes.size()) throw Error("safetensors writer: '" + t.name + "' has the wrong byte size");
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape},
                      {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write");
  const std::uint64_t length = text.size();
  char prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>(length >> (8 * i));
  out.write(prefix, 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const TensorToWrite& t : tensors) {
    out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  }
  if (!out) throw Error(path + ": write failed");
}

}  // namespace qwen3c
