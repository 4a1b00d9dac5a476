//===- Q3Types.td - q3 types -----------------------------------*- tablegen -*-===//

#ifndef QWEN3C_IR_Q3TYPES_TD
#define QWEN3C_IR_Q3TYPES_TD

include "ir/Q3Dialect.td"

def Q3_KVCacheType : Q3_Type<"KVCache", "kv_cache"> {
  let summary = "The key/value cache of every attention layer";
  let description = [{
    State carried between forward steps: for each of `layers` attention layers, the keys
    and values of every past position, `kv_heads` heads of `head_dim` elements each, for
    each of several sequences ("slots"). The number of slots and their lengths are
    dynamic; the runtime chooses them and the maximum context.

    Example: `!q3.kv_cache<layers = 36, kv_heads = 8, head_dim = 128, element_type = f32>`
  }];
  let parameters = (ins
    "int64_t":$layers,
    "int64_t":$kv_heads,
    "int64_t":$head_dim,
    "::mlir::Type":$element_type
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Q3_Q8_0Type : Q3_Type<"Q8_0", "q8_0"> {
  let summary = "8-bit block-quantised weight element";
  let description = [{
    Blocks of 32 consecutive elements along the input dimension share one f16 scale d;
    element i is d * q_i with q_i a signed 8-bit integer (symmetric: d = max|x| / 127).
  }];
}

def Q3_Q4_0Type : Q3_Type<"Q4_0", "q4_0"> {
  let summary = "4-bit block-quantised weight element";
  let description = [{
    Blocks of 32 consecutive elements along the input dimension share one f16 scale d;
    element i is d * q_i with q_i in [-8, 7] (symmetric: d = -m / 8, m the block's
    element of largest magnitude, as llama.cpp's q4_0).
  }];
}

#endif // QWEN3C_IR_Q3TYPES_TD
