// Embedding lookup: out[t] = table[ids[t]] as f32.
#include "kernel_abi.h"

namespace {
template <class W>
void embedding(const W* table, const int64_t* ids, int64_t tokens, int64_t hidden, float* out) {
  for (int64_t t = 0; t < tokens; ++t) {
    const int64_t row = ids[t] * hidden;
    for (int64_t i = 0; i < hidden; ++i) out[t * hidden + i] = q3k::load(table, row + i);
  }
}
}  // namespace

Q3_KERNEL void q3k_embedding_bf16(const void* table, const int64_t* ids, int64_t tokens,
                                  int64_t hidden, float* out) {
  embedding(static_cast<const uint16_t*>(table), ids, tokens, hidden, out);
}

Q3_KERNEL void q3k_embedding_f32(const void* table, const int64_t* ids, int64_t tokens,
                                 int64_t hidden, float* out) {
  embedding(static_cast<const float*>(table), ids, tokens, hidden, out);
}
