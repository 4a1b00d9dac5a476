#pragma once
// Lowering of a q3 forward function (plain or fused, any weight format) to a flat schedule
// of CPU kernel calls. Activations live where q3-plan-memory placed them. Independent of
// LLVM: codegen.h turns a schedule into machine code.

#include <cstdint>
#include <string>
#include <vector>

#include "mlir/IR/BuiltinOps.h"

namespace qwen3c::cpu {

struct Operand {
  enum class Kind {
    Buffer,     // an activation: value = arena offset, width = floats per token row
    Weight,     // value = index in the tensor table
    TokenIds,   // the step's token ids
    Positions,  // the step's positions, one a row
    Slots,      // the step's sequences (cache slots), one a row
    KCache,     // value = layer: the layer's per-sequence key caches (float* [slots])
    VCache,     // value = layer
    KvType,     // the session's KV cache type (runtime/core/kv_type.h)
    Scratch,
    Logits,     // the output
    Rows,       // the number of token rows processed (all, or the logit rows in the tail) * value
    Int,        // constant int64 value
    Float,      // constant f32 real
    Thread,     // this thread's index and the thread count (every kernel takes both, last)
    Threads,
    Barrier,    // the barrier function and its context (kernels that sync inside)
    BarrierContext,
    WorkCounter,  // value = the call's index: its int64 counter of work handed out, shared by
                  // the threads and zero when a step starts (kernels that share out their work
                  // as it goes take it after Threads)
  };
  Kind kind;
  std::int64_t value = 0;
  std::int64_t width = 0;
  // A Buffer produced before the tail and read inside it: only its last rows are used.
  bool last_rows_only = false;
  double real = 0;
};

struct KernelCall {
  std::string kernel;  // a q3k_* function of the kernel library
  std::vector<Operand> args;
  // After the last attention op every op is row-local, so only the rows whose logits are
  // wanted are computed there.
  bool tail = false;
};

struct Schedule {
  std::vector<KernelCall> calls;
  std::int64_t arena_floats_per_token = 0;
  // Per-thread scratch the kernels need per token of a step, besides the attention scores
  // (max_context floats) and RoPE's table (head_dim floats).
  std::int64_t scratch_floats_per_token = 0;
  // ... and whatever the step's length, after those (the matrix products' weight panels).
  std::int64_t scratch_floats_fixed = 0;
  std::vector<std::string> weights;  // tensor-table order: the module's q3.weight symbols
};

// Lowers the optimised module (through the shared ForwardLowering walk). Throws
// qwen3c::Error naming the op when the module holds something the CPU backend cannot run,
// or when memory has not been planned. Weights are read in their declared format; f16
// ones are widened to f32 when the artifact is written.
Schedule lower_to_schedule(mlir::ModuleOp module);

}  // namespace qwen3c::cpu
