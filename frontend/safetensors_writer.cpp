#include "frontend/safetensors_writer.h"

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/core/model_config.h"
#include "runtime/core/output_file.h"

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
  OutputFile out(path);
  const std::uint64_t length = text.size();
  char prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>(length >> (8 * i));
  out.write(prefix, 8);
  out.write(text.data(), text.size());
  for (const TensorToWrite& t : tensors) out.write(t.bytes.data(), t.bytes.size());
  out.commit();
}

}  // namespace qwen3c
