#pragma once
// The entry point the CPU backend generates into each artifact's shared object, shared by
// the code generator and the executor.
//
// One call runs a forward step over `tokens` tokens at positions past..past+tokens-1:
//   weights    pointers to each weight tensor, in the artifact's tensor-table order
//   k_cache    per layer, the key cache [max_context, kv_heads * head_dim] f32 (v likewise)
//   arena      tokens * arena_floats_per_token floats of activation memory
//   scratch    this thread's max(max_context, head_dim, tokens * scratch_floats_per_token
//              + scratch_floats_fixed) floats
//   logits     [logit_rows, vocab]: logits of the last logit_rows tokens (1 or tokens)
//
// The step runs on `threads` threads at once, each calling the entry with its own `thread`
// index and scratch: every kernel does its share of the work, then all meet at `barrier`
// (one call a kernel; a spin barrier costs well under a microsecond).

#include <cstdint>

namespace qwen3c::cpu {

inline constexpr const char* kEntryPoint = "q3_forward";

using BarrierFn = void (*)(void* context);

using ForwardFn = void (*)(const void* const* weights, float* const* k_cache,
                           float* const* v_cache, const std::int64_t* ids,
                           const std::int64_t* positions, std::int64_t tokens, std::int64_t past,
                           float* arena, float* scratch, float* logits, std::int64_t logit_rows,
                           std::int64_t thread, std::int64_t threads, BarrierFn barrier,
                           void* barrier_context);

}  // namespace qwen3c::cpu
