#pragma once
// Reads a Hugging Face Qwen3 config.json in either layout found in the wild:
//  - published checkpoints: "rope_theta", "torch_dtype";
//  - newer transformers: "rope_parameters": {"rope_theta", "rope_type"}, "dtype",
//    "layer_types".
// Anything qwen3c cannot run faithfully is an error naming the file and the field.

#include <nlohmann/json.hpp>
#include <string>

#include "runtime/core/model_config.h"

namespace qwen3c {

// `source` names the file in error messages.
ModelConfig parse_hf_config(const nlohmann::json& json, const std::string& source);

// Reads and validates `path` (a config.json).
ModelConfig load_hf_config(const std::string& path);

}  // namespace qwen3c
