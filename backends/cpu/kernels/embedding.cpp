// Embedding lookup: out[t] = table[ids[t]] as f32; threads split the tokens.
#include "kernel_abi.h"

#define Q3_EMBEDDING(name, W)                                                                    \
  Q3_KERNEL void q3k_embedding_##name(const void* table, const int64_t* ids, int64_t tokens,     \
                                      int64_t hidden, float* out, int64_t thread, int64_t threads) { \
    const q3k::Range r = q3k::share(tokens, thread, threads);                                    \
    for (int64_t t = r.begin; t < r.end; ++t) {                                                  \
      q3k::load_row(static_cast<const W*>(table), ids[t], hidden, out + t * hidden);             \
    }                                                                                            \
  }
Q3_FOR_EACH_WEIGHT_FORMAT(Q3_EMBEDDING)
