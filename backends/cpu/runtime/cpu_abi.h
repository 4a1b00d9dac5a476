#pragma once
// The entry point the CPU backend generates into each artifact's shared object, shared by
// the code generator and the executor.
//
// One call runs a forward step over `tokens` rows; row t is token ids[t] at position
// positions[t] of sequence slots[t] (rows of several sequences share one step):
//   weights    pointers to each weight tensor, in the artifact's tensor-table order
//   k_cache    per layer, an array of key caches, one per (sequence, KV head):
//              k_cache[layer][slot * kv_heads + head] is max_context rows of head_dim
//              elements (v likewise) ...
//   kv_type    ... stored as this KvType (runtime/core/kv_type.h; kernels/kv_cache.h)
//   arena      tokens * arena_floats_per_token floats of activation memory
//   scratch    this thread's max(max_context, 2 * head_dim, tokens * scratch_floats_per_token
//              + scratch_floats_fixed) floats
//   logits     [logit_rows, vocab]: logits of the last logit_rows rows
//
// The step runs on `threads` threads at once, each calling the entry with its own `thread`
// index and scratch: every kernel does its share of the work, then all meet at `barrier`
// (one call a kernel; a spin barrier costs well under a microsecond). Kernels that hand out
// their work as they go share `work`, one counter a kernel call of the schedule, which the
// caller zeroes before each step.

#include <cstdint>

namespace qwen3c::cpu {

inline constexpr const char* kEntryPoint = "q3_forward";

using BarrierFn = void (*)(void* context);

using ForwardFn = void (*)(const void* const* weights, std::uint8_t* const* const* k_cache,
                           std::uint8_t* const* const* v_cache, std::int64_t kv_type, const std::int64_t* ids,
                           const std::int64_t* positions, const std::int64_t* slots, std::int64_t tokens,
                           float* arena, float* scratch, float* logits, std::int64_t logit_rows,
                           std::int64_t thread, std::int64_t threads, BarrierFn barrier,
                           void* barrier_context, std::int64_t* work);

}  // namespace qwen3c::cpu
