#pragma once
// Emits the q3 module of a dense Qwen3 model: the whole forward step as ops over weights
// referenced by name. This is the only place that knows the Qwen3 layer structure.

#include <map>
#include <string>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "runtime/core/model_config.h"

namespace qwen3c {

// Name of the function a q3 module exposes: (ids, positions, kv cache) -> logits.
inline constexpr const char* kForwardFunction = "forward";

// `weight_dtypes` gives each tensor's stored dtype (from the checkpoint); without it every
// weight takes the config's dtype. The context must have the q3 dialects loaded.
mlir::OwningOpRef<mlir::ModuleOp> build_qwen3_module(
    mlir::MLIRContext& context, const ModelConfig& config,
    const std::map<std::string, DType>& weight_dtypes = {});

}  // namespace qwen3c
