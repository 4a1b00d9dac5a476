// Embedding lookup: out[t] = table[ids[t]] as f32.
#include "kernel_abi.h"

#define Q3_EMBEDDING(name, W)                                                                \
  Q3_KERNEL void q3k_embedding_##name(const void* table, const int64_t* ids, int64_t tokens, \
                                      int64_t hidden, float* out) {                          \
    for (int64_t t = 0; t < tokens; ++t) {                                                   \
      q3k::load_row(static_cast<const W*>(table), ids[t], hidden, out + t * hidden);         \
    }                                                                                        \
  }
Q3_FOR_EACH_WEIGHT_FORMAT(Q3_EMBEDDING)
