//===- Q3Ops.td - q3 operations --------------------------------*- tablegen -*-===//

#ifndef QWEN3C_IR_Q3OPS_TD
#define QWEN3C_IR_Q3OPS_TD

include "ir/Q3Dialect.td"
include "ir/Q3Types.td"
include "ir/Q3Attrs.td"
include "ir/Q3Interfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

// How a matrix product rounds its activations before multiplying (--precision fast):
// "bf16" (round to nearest even), or "q8_0" (blocks of 32 along the row as int8 with an f32
// scale, see quantize_activations_q8 in runtime/core/weight_format.h). Absent: f32 as they are.
def Q3_ActivationRounding : StringBasedAttr<
    CPred<"::llvm::isa<::mlir::StringAttr>($_self) && "
          "(::llvm::cast<::mlir::StringAttr>($_self).getValue() == \"bf16\" || "
          "::llvm::cast<::mlir::StringAttr>($_self).getValue() == \"q8_0\")">,
    "activation rounding (\"bf16\" or \"q8_0\")">;

// A batch of per-token activation rows: tensor<?xNxf32> (the token count may be static).
def Q3_Activation : 2DTensorOf<[F32]>;
def Q3_TokenIds : 1DTensorOf<[I64]>;
// Per-row indices of a step, tensor<?xi64>: the positions of the rows and the cache slot
// (sequence) each row belongs to. Buildable, so the ops that take them print no type.
def Q3_RowIndices : Type<
    CPred<"$_self == ::mlir::RankedTensorType::get({::mlir::ShapedType::kDynamic}, "
          "::mlir::IntegerType::get($_self.getContext(), 64))">,
    "tensor<?xi64> of per-row indices">,
    BuildableType<"::mlir::RankedTensorType::get({::mlir::ShapedType::kDynamic}, $_builder.getI64Type())">;
def Q3_WeightTensor : TensorOf<[BF16, F16, F32, Q3_Q8_0Type, Q3_Q4_0Type]>;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def Q3_WeightOp : Q3_Op<"weight", [Symbol]> {
  let summary = "Declares a weight tensor of the model, by name, shape and dtype";
  let description = [{
    The symbol name is the tensor's name in the checkpoint. The data stays in the
    checkpoint (or, after packing, in the artifact); the IR only records what it is.
    A weight made by a pass names its checkpoint tensors in `source`, concatenated
    along the first dimension (e.g. gate and up projections for SwiGLU). Quantised
    weights have a `!q3.q8_0` / `!q3.q4_0` element type; `layout` names the layout a
    backend's kernels read, set by weight packing.

    ```mlir
    q3.weight @model.norm.weight : tensor<2560xbf16>
    q3.weight @model.layers.0.mlp.gate_up_proj.weight : tensor<19456x2560x!q3.q4_0>
        {layout = "cpu.rows", source = ["model.layers.0.mlp.gate_proj.weight",
                                        "model.layers.0.mlp.up_proj.weight"]}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, TypeAttrOf<Q3_WeightTensor>:$type,
                       OptionalAttr<StrArrayAttr>:$source, OptionalAttr<StrAttr>:$layout);
  let assemblyFormat = "$sym_name `:` $type attr-dict";
  let hasVerifier = 1;
}

def Q3_GetWeightOp : Q3_Op<"get_weight",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Reads a weight declared by q3.weight";
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs Q3_WeightTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Model ops
//===----------------------------------------------------------------------===//

def Q3_EmbeddingOp : Q3_Op<"embedding", [Pure]> {
  let summary = "Looks up one row of the embedding table per token";
  let arguments = (ins Q3_WeightTensor:$table, Q3_TokenIds:$ids);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat =
      "$table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->` type($result)";
  let hasVerifier = 1;
}

def Q3_RmsNormOp : Q3_Op<"rms_norm", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMSNorm over the last dimension: x / sqrt(mean(x^2) + epsilon) * weight";
  let arguments = (ins Q3_Activation:$input, Q3_WeightTensor:$weight, F64Attr:$epsilon);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` type($input) `,` type($weight)";
  let hasVerifier = 1;
}

def Q3_HeadRmsNormOp : Q3_Op<"head_rms_norm", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMSNorm applied to each attention head of a row separately";
  let description = [{
    The input row holds `heads` heads of `head_dim` elements; each is normalised on its own
    and scaled by the same `weight` of `head_dim` elements (Qwen3's q_norm and k_norm).
  }];
  let arguments = (ins Q3_Activation:$input, Q3_WeightTensor:$weight, F64Attr:$epsilon);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` type($input) `,` type($weight)";
  let hasVerifier = 1;
}

def Q3_RopeOp : Q3_Op<"rope", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Rotary position embedding, rotate-half form, per head";
  let description = [{
    For each head of `head_dim` elements and token position p, element i < head_dim/2 is
    paired with element i + head_dim/2 and rotated by p * theta^(-2i/head_dim); with
    `yarn`, the frequencies and cos / sin are scaled as YaRN does (`#q3.yarn`).
  }];
  let arguments = (ins Q3_Activation:$input, Q3_TokenIds:$positions,
                       I64Attr:$head_dim, F64Attr:$theta, OptionalAttr<Q3_YarnAttr>:$yarn);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = "$input `,` $positions attr-dict `:` type($input) `,` type($positions)";
  let hasVerifier = 1;
}

def Q3_AttentionOp : Q3_Op<"attention", [
    AllTypesMatch<["query", "result"]>, AllTypesMatch<["key", "value"]>]> {
  let summary = "Causal grouped-query attention that appends to the KV cache";
  let description = [{
    Row r of the step belongs to sequence `slots[r]` of the cache, at position
    `positions[r]`. Appends every row's key and value to layer `layer` of its sequence,
    then lets each row's query attend to the positions 0..positions[r] of its own
    sequence (causal), query head h reading KV head h / (num_heads / num_kv_heads).
    Scores are scaled by `scale` before the softmax. Rows of several sequences in one
    step share every weight read (batched decoding); their order does not matter.
    `integer_products` (--precision fast): where the cache holds q8_0, each query is
    rounded as q8_0 activations (blocks of 32 int8 values with a scale) and its scores are
    int8 dot products, as llama.cpp scores a q8_0 cache, and the values are summed by
    int16 dot products with each block's weights (probability times value scale) rounded
    to 15 bits; other cache types ignore it.
  }];
  let arguments = (ins
    Q3_Activation:$query,
    Q3_Activation:$key,
    Q3_Activation:$value,
    Arg<Q3_KVCacheType, "read, then appended to", [MemRead, MemWrite]>:$cache,
    Q3_RowIndices:$positions,
    Q3_RowIndices:$slots,
    I64Attr:$layer,
    I64Attr:$num_heads,
    I64Attr:$num_kv_heads,
    I64Attr:$head_dim,
    F64Attr:$scale,
    UnitAttr:$integer_products
  );
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $cache `at` $positions `in` $slots attr-dict
      `:` type($query) `,` type($key) `,` qualified(type($cache))
  }];
  let hasVerifier = 1;
}

def Q3_LinearOp : Q3_Op<"linear", [Pure, Q3_MatrixProductOpInterface]> {
  let extraClassDeclaration = [{ static constexpr bool kGated = false; }];
  let summary = "y = x W^T, with W stored [out_features, in_features] as in the checkpoint";
  let arguments = (ins Q3_Activation:$input, Q3_WeightTensor:$weight,
                       OptionalAttr<Q3_ActivationRounding>:$round_activations);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat =
      "$input `,` $weight attr-dict `:` type($input) `,` type($weight) `->` type($result)";
  let hasVerifier = 1;
}

def Q3_SiluOp : Q3_Op<"silu", [Pure, SameOperandsAndResultType]> {
  let summary = "x * sigmoid(x), elementwise";
  let arguments = (ins Q3_Activation:$input);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Q3_MulOp : Q3_Op<"mul", [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "Elementwise product";
  let arguments = (ins Q3_Activation:$lhs, Q3_Activation:$rhs);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Q3_AddOp : Q3_Op<"add", [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "Elementwise sum (the residual connections)";
  let arguments = (ins Q3_Activation:$lhs, Q3_Activation:$rhs);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}


//===----------------------------------------------------------------------===//
// Fused ops (made by the passes in passes/)
//===----------------------------------------------------------------------===//

def Q3_QkNormRopeAppendOp : Q3_Op<"qk_norm_rope_append", [AllTypesMatch<["query", "result"]>]> {
  let summary = "Per-head RMSNorm and RoPE of queries and keys, then the KV-cache append";
  let description = [{
    The prologue of attention in one op: queries and keys are normalised per head
    (`query_norm`, `key_norm`) and rotated (RoPE at `positions`); row r's key and value
    are appended to layer `layer` of sequence `slots[r]` at `positions[r]`. Returns the
    rotated queries, which `q3.cached_attention` consumes.
  }];
  let arguments = (ins
    Q3_Activation:$query, Q3_Activation:$key, Q3_Activation:$value,
    Q3_WeightTensor:$query_norm, Q3_WeightTensor:$key_norm,
    Arg<Q3_KVCacheType, "appended to", [MemWrite]>:$cache,
    Q3_RowIndices:$positions, Q3_RowIndices:$slots,
    I64Attr:$layer, I64Attr:$num_heads, I64Attr:$num_kv_heads, I64Attr:$head_dim,
    F64Attr:$epsilon, F64Attr:$theta, OptionalAttr<Q3_YarnAttr>:$yarn);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $query_norm `,` $key_norm `,` $cache `at` $positions `in` $slots
      attr-dict `:` type($query) `,` type($key) `,` type($value) `,` type($query_norm) `,` type($key_norm)
      `,` qualified(type($cache))
  }];
  let hasVerifier = 1;
}

def Q3_CachedAttentionOp : Q3_Op<"cached_attention", [AllTypesMatch<["query", "result"]>]> {
  let summary = "Causal grouped-query attention over the KV cache (keys already appended)";
  let description = [{
    Row r of the step attends to positions 0..positions[r] of sequence slots[r] in layer
    `layer` of the cache: scores scaled by `scale`, softmax, weighted sum of values;
    query head h reads KV head h / (num_heads / num_kv_heads). `integer_products`: as on
    q3.attention.
  }];
  let arguments = (ins Q3_Activation:$query, Arg<Q3_KVCacheType, "read", [MemRead]>:$cache,
    Q3_RowIndices:$positions, Q3_RowIndices:$slots,
    I64Attr:$layer, I64Attr:$num_heads, I64Attr:$num_kv_heads, I64Attr:$head_dim, F64Attr:$scale,
    UnitAttr:$integer_products);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat =
      "$query `,` $cache `at` $positions `in` $slots attr-dict `:` type($query) `,` qualified(type($cache))";
  let hasVerifier = 1;
}

def Q3_SwigluOp : Q3_Op<"swiglu", [Pure, Q3_MatrixProductOpInterface]> {
  let extraClassDeclaration = [{ static constexpr bool kGated = true; }];
  let summary = "silu(x Wg^T) * (x Wu^T) with gate and up stacked in one weight [2I, H]";
  let arguments = (ins Q3_Activation:$input, Q3_WeightTensor:$weight,
                       OptionalAttr<Q3_ActivationRounding>:$round_activations);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat =
      "$input `,` $weight attr-dict `:` type($input) `,` type($weight) `->` type($result)";
  let hasVerifier = 1;
}

def Q3_RmsNormLinearOp : Q3_Op<"rms_norm_linear", [Pure, Q3_MatrixProductOpInterface]> {
  let extraClassDeclaration = [{ static constexpr bool kGated = false; }];
  let summary = "linear(rms_norm(x, norm_weight), weight): the norm folded into the matmul";
  let arguments = (ins Q3_Activation:$input, Q3_WeightTensor:$norm_weight,
                       Q3_WeightTensor:$weight, F64Attr:$epsilon,
                       OptionalAttr<Q3_ActivationRounding>:$round_activations);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = [{
    $input `,` $norm_weight `,` $weight attr-dict
      `:` type($input) `,` type($norm_weight) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Q3_RmsNormSwigluOp : Q3_Op<"rms_norm_swiglu", [Pure, Q3_MatrixProductOpInterface]> {
  let extraClassDeclaration = [{ static constexpr bool kGated = true; }];
  let summary = "swiglu(rms_norm(x, norm_weight), weight)";
  let arguments = (ins Q3_Activation:$input, Q3_WeightTensor:$norm_weight,
                       Q3_WeightTensor:$weight, F64Attr:$epsilon,
                       OptionalAttr<Q3_ActivationRounding>:$round_activations);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = [{
    $input `,` $norm_weight `,` $weight attr-dict
      `:` type($input) `,` type($norm_weight) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Q3_AddRmsNormOp : Q3_Op<"add_rms_norm", [Pure,
    AllTypesMatch<["lhs", "rhs", "sum", "normalized"]>]> {
  let summary = "The residual add and the RMSNorm after it: (a + b, rms_norm(a + b))";
  let arguments = (ins Q3_Activation:$lhs, Q3_Activation:$rhs, Q3_WeightTensor:$weight,
                       F64Attr:$epsilon);
  let results = (outs Q3_Activation:$sum, Q3_Activation:$normalized);
  let assemblyFormat = "$lhs `,` $rhs `,` $weight attr-dict `:` type($lhs) `,` type($weight)";
  let hasVerifier = 1;
}

#endif // QWEN3C_IR_Q3OPS_TD
