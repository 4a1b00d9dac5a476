#pragma once
// The C entry points of the CPU kernels that host code calls directly: the kernel tests and
// kernel_bench link the kernels natively and call these (artifacts call them from generated
// code, whose signatures the lowering spells in LLVM IR). The kernels' own sources include
// this header, so a declaration here that drifts from its definition fails to compile
// (C linkage allows no overloads).
//
// Arguments, in order: activations, weights, then the shapes, then `fast` (the fast
// precision: activations rounded for the weights' multiply) where the kernel has it,
// scratch, output, and this thread's index among `threads`. `work`: the streamed products'
// shared claim counter (zero before the call; packed_matmul.cpp).

#include <stdint.h>

extern "C" {

// Packed weights (packing.h's layouts): y = x W^T and SwiGLU (gate and up pairs), per format;
// linear3: three matrices of one input, [tokens][rows_i] each.
#define Q3_DECLARE_PACKED_PRODUCTS(name)                                                                      \
  void q3k_packed_linear_##name(const float* x, const void* w, int64_t tokens, int64_t in, int64_t out_features, \
                                int64_t fast, float* scratch, float* out, int64_t thread, int64_t threads,     \
                                int64_t* work);                                                               \
  void q3k_packed_swiglu_##name(const float* x, const void* w, int64_t tokens, int64_t in, int64_t inter,      \
                                int64_t fast, float* scratch, float* out, int64_t thread, int64_t threads,     \
                                int64_t* work);                                                               \
  void q3k_packed_linear3_##name(const float* x, const void* w0, const void* w1, const void* w2,               \
                                 int64_t tokens, int64_t in, int64_t rows0, int64_t rows1, int64_t rows2,      \
                                 int64_t fast, float* scratch, float* out0, float* out1, float* out2,          \
                                 int64_t thread, int64_t threads, int64_t* work);
Q3_DECLARE_PACKED_PRODUCTS(bf16)
Q3_DECLARE_PACKED_PRODUCTS(q8_0)
Q3_DECLARE_PACKED_PRODUCTS(q4_0)
#undef Q3_DECLARE_PACKED_PRODUCTS

// Row-major weights (f32 checkpoints, and bf16 with an odd input count).
#define Q3_DECLARE_ROW_PRODUCT(name)                                                                          \
  void q3k_linear_##name(const float* x, const void* w, int64_t tokens, int64_t in, int64_t out_features,     \
                         float* scratch, float* out, int64_t thread, int64_t threads);
Q3_DECLARE_ROW_PRODUCT(f32)
Q3_DECLARE_ROW_PRODUCT(bf16)
Q3_DECLARE_ROW_PRODUCT(q8_0)
Q3_DECLARE_ROW_PRODUCT(q4_0)
#undef Q3_DECLARE_ROW_PRODUCT

// Attention of `tokens` query rows over their sequences' cached keys and values (every
// position up to each row's own); k_cache / v_cache: one pointer per (slot, KV head).
void q3k_cached_attention(const float* q, const int64_t* positions, const int64_t* slots, int64_t tokens,
                          const uint8_t* const* k_cache, const uint8_t* const* v_cache, int64_t kv_type,
                          int64_t heads, int64_t kv_heads, int64_t head_dim, float scale, int64_t integer_products,
                          float* scores, float* out, int64_t thread, int64_t threads);

}  // extern "C"
