#include "runtime/core/model_config.h"

namespace qwen3c {

std::string layer_weight_name(std::int64_t layer, const std::string& suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

std::vector<WeightSpec> expected_weights(const ModelConfig& c) {
  std::vector<WeightSpec> specs;
  specs.push_back({kEmbedTokens, {c.vocab_size, c.hidden_size}});
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    auto add = [&](const char* suffix, std::vector<std::int64_t> shape) {
      specs.push_back({layer_weight_name(i, suffix), std::move(shape)});
    };
    add("input_layernorm.weight", {c.hidden_size});
    add("self_attn.q_proj.weight", {c.q_dim(), c.hidden_size});
    add("self_attn.k_proj.weight", {c.kv_dim(), c.hidden_size});
    add("self_attn.v_proj.weight", {c.kv_dim(), c.hidden_size});
    add("self_attn.q_norm.weight", {c.head_dim});
    add("self_attn.k_norm.weight", {c.head_dim});
    add("self_attn.o_proj.weight", {c.hidden_size, c.q_dim()});
    add("post_attention_layernorm.weight", {c.hidden_size});
    add("mlp.gate_proj.weight", {c.intermediate_size, c.hidden_size});
    add("mlp.up_proj.weight", {c.intermediate_size, c.hidden_size});
    add("mlp.down_proj.weight", {c.hidden_size, c.intermediate_size});
  }
  specs.push_back({kFinalNorm, {c.hidden_size}});
  if (!c.tie_word_embeddings) {
    specs.push_back({kLmHead, {c.vocab_size, c.hidden_size}});
  }
  return specs;
}

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

std::int64_t tensor_bytes(DType dtype, const std::vector<std::int64_t>& shape) {
  if (is_quantized(dtype)) return element_count(shape) / Q3_QBLOCK * static_cast<std::int64_t>(quant_block_bytes(dtype));
  return element_count(shape) * static_cast<std::int64_t>(dtype_size(dtype));
}

std::int64_t parameter_count(const ModelConfig& config) {
  std::int64_t total = 0;
  for (const WeightSpec& w : expected_weights(config)) total += element_count(w.shape);
  return total;
}

}  // namespace qwen3c
