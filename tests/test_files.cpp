#include "tests/test_files.h"

#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

#include "runtime/core/dtype.h"
#include "runtime/core/model_config.h"

namespace qwen3c::testing {

namespace fs = std::filesystem;

std::string test_data(const std::string& relative) {
  return (fs::path(QWEN3C_TEST_DATA) / relative).string();
}

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path p = fs::temp_directory_path() / ("qwen3c-test-" + std::to_string(rd()));
    if (fs::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  const std::string text = read_text(path);
  return {text.begin(), text.end()};
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

void write_raw_safetensors(const std::string& path, const std::string& header,
                           std::size_t data_bytes) {
  std::vector<std::uint8_t> bytes(8);
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(n >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.resize(bytes.size() + data_bytes, 0);
  write_bytes(path, bytes);
}

void write_safetensors(const std::string& path, const std::vector<TensorSpec>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    auto dtype = dtype_from_name(t.dtype);
    std::uint64_t bytes = static_cast<std::uint64_t>(element_count(t.shape)) *
                          (dtype ? dtype_size(*dtype) : 1);
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  write_raw_safetensors(path, text, offset);
}

nlohmann::json tiny_config(bool tied) {
  return {
      {"architectures", {"Qwen3ForCausalLM"}},
      {"attention_bias", false},
      {"bos_token_id", 1},
      {"eos_token_id", 2},
      {"head_dim", 4},
      {"hidden_act", "silu"},
      {"hidden_size", 8},
      {"intermediate_size", 12},
      {"max_position_embeddings", 128},
      {"model_type", "qwen3"},
      {"num_attention_heads", 2},
      {"num_hidden_layers", 2},
      {"num_key_value_heads", 1},
      {"rms_norm_eps", 1e-6},
      {"rope_scaling", nullptr},
      {"rope_theta", 10000.0},
      {"sliding_window", nullptr},
      {"tie_word_embeddings", tied},
      {"torch_dtype", "float32"},
      {"use_sliding_window", false},
      {"vocab_size", 16},
  };
}

std::vector<TensorSpec> tiny_tensors(const nlohmann::json& config) {
  ModelConfig c;
  c.vocab_size = config.at("vocab_size");
  c.hidden_size = config.at("hidden_size");
  c.intermediate_size = config.at("intermediate_size");
  c.num_layers = config.at("num_hidden_layers");
  c.num_heads = config.at("num_attention_heads");
  c.num_kv_heads = config.at("num_key_value_heads");
  c.head_dim = config.at("head_dim");
  c.tie_word_embeddings = config.at("tie_word_embeddings");
  std::vector<TensorSpec> out;
  for (const WeightSpec& w : expected_weights(c)) out.push_back({w.name, "F32", w.shape});
  return out;
}

void write_model(const fs::path& dir, const nlohmann::json& config,
                 const std::vector<TensorSpec>& tensors) {
  fs::create_directories(dir);
  write_text((dir / "config.json").string(), config.dump(2));
  write_safetensors((dir / "model.safetensors").string(), tensors);
}

}  // namespace qwen3c::testing
