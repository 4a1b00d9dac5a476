#pragma once
// The architecture of a dense Qwen3 model, normalised from whichever config.json layout it
// came from, and the list of weight tensors that architecture has.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/core/rope_frequencies.h"

namespace qwen3c {

struct ModelConfig {
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_layers = 0;
  std::int64_t num_heads = 0;
  std::int64_t num_kv_heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 1e6;
  std::optional<YarnConfig> yarn;  // rope_scaling {"rope_type": "yarn", ...}
  bool tie_word_embeddings = false;
  // The dtype the checkpoint declares (torch_dtype / dtype); weights may still differ.
  DType dtype = DType::BF16;
  std::int64_t bos_token_id = -1;  // -1 when the config has none
  std::int64_t eos_token_id = -1;

  std::int64_t q_dim() const { return num_heads * head_dim; }
  std::int64_t kv_dim() const { return num_kv_heads * head_dim; }
  bool operator==(const ModelConfig&) const = default;
};

// One weight tensor of the architecture, under its Hugging Face name.
struct WeightSpec {
  std::string name;
  std::vector<std::int64_t> shape;
};

// Every tensor a checkpoint for `config` must hold, in a stable order (embedding, layers in
// order, final norm, then lm_head when the embeddings are not tied).
std::vector<WeightSpec> expected_weights(const ModelConfig& config);

// Hugging Face tensor names.
std::string layer_weight_name(std::int64_t layer, const std::string& suffix);
inline constexpr const char* kEmbedTokens = "model.embed_tokens.weight";
inline constexpr const char* kFinalNorm = "model.norm.weight";
inline constexpr const char* kLmHead = "lm_head.weight";

std::int64_t element_count(const std::vector<std::int64_t>& shape);

// Bytes a tensor of `shape` takes in `dtype` (quantised: whole blocks of 32 along the last
// dimension, which must be a multiple of 32).
std::int64_t tensor_bytes(DType dtype, const std::vector<std::int64_t>& shape);

// Parameters the architecture has (tied lm_head counted once), from the config alone.
std::int64_t parameter_count(const ModelConfig& config);

}  // namespace qwen3c
