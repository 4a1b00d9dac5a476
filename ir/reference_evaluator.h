#pragma once
// A reference evaluator of q3 IR: runs any q3 module, as built or after any pass (fused,
// quantised), with plain loops that mirror each op's definition. Slow and simple on
// purpose: tests use it to check each pass on its own (logits before and after agree) and
// each backend kernel against it.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "mlir/IR/BuiltinOps.h"

namespace qwen3c::q3 {

class ReferenceEvaluator {
 public:
  // Values of a checkpoint tensor by name, as f32 (row-major).
  using TensorSource = std::function<std::vector<float>(const std::string& name)>;

  ReferenceEvaluator(mlir::ModuleOp module, TensorSource checkpoint);

  // Runs @forward over `ids` at the next positions of sequence 0, appending to the
  // evaluator's KV cache. Returns the logits of every token, [ids.size(), vocab].
  std::vector<float> forward(const std::vector<std::int64_t>& ids);

  // One step over rows of any sequences: row r is token ids[r] at positions[r] of
  // sequence slots[r] (whose earlier positions must be in the cache already).
  struct StepRows {
    std::vector<std::int64_t> ids, positions, slots;
  };
  std::vector<float> forward(const StepRows& rows);

  // Keys (or values) of (layer, slot): [positions, kv_heads * head_dim].
  using Cache = std::map<std::pair<std::int64_t, std::int64_t>, std::vector<float>>;

 private:
  const std::vector<float>& weight(const std::string& symbol);

  mlir::ModuleOp module_;
  TensorSource checkpoint_;
  std::map<std::string, std::vector<float>> weights_;        // as the IR says they are stored
  Cache keys_, values_;
  std::map<std::int64_t, std::int64_t> length_;  // positions held, by slot
};

}  // namespace qwen3c::q3
