#pragma once
// ModelConfig to and from the JSON stored in an artifact's manifest.

#include <nlohmann/json.hpp>

#include "runtime/core/model_config.h"

namespace qwen3c {

nlohmann::json model_config_to_json(const ModelConfig& config);
// Throws qwen3c::Error (prefixed with `where`) when a field is missing or out of range.
ModelConfig model_config_from_json(const nlohmann::json& json, const std::string& where);

}  // namespace qwen3c
