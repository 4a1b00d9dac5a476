//===- Q3Ops.td - q3 operations --------------------------------*- tablegen -*-===//

#ifndef QWEN3C_IR_Q3OPS_TD
#define QWEN3C_IR_Q3OPS_TD

include "ir/Q3Dialect.td"
include "ir/Q3Types.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

// A batch of per-token activation rows: tensor<?xNxf32> (the token count may be static).
def Q3_Activation : 2DTensorOf<[F32]>;
def Q3_TokenIds : 1DTensorOf<[I64]>;
def Q3_WeightTensor : TensorOf<[BF16, F16, F32]>;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def Q3_WeightOp : Q3_Op<"weight", [Symbol]> {
  let summary = "Declares a weight tensor of the model, by name, shape and dtype";
  let description = [{
    The symbol name is the tensor's name in the checkpoint. The data stays in the
    checkpoint (or, after packing, in the artifact); the IR only records what it is.

    ```mlir
    q3.weight @model.norm.weight : tensor<2560xbf16>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, TypeAttrOf<Q3_WeightTensor>:$type);
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
    paired with element i + head_dim/2 and rotated by p * theta^(-2i/head_dim).
  }];
  let arguments = (ins Q3_Activation:$input, Q3_TokenIds:$positions,
                       I64Attr:$head_dim, F64Attr:$theta);
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = "$input `,` $positions attr-dict `:` type($input) `,` type($positions)";
  let hasVerifier = 1;
}

def Q3_AttentionOp : Q3_Op<"attention", [
    AllTypesMatch<["query", "result"]>, AllTypesMatch<["key", "value"]>]> {
  let summary = "Causal grouped-query attention that appends to the KV cache";
  let description = [{
    Appends this step's keys and values to layer `layer` of the cache, then lets each
    query token attend to every cached position up to and including its own (causal),
    query head h reading KV head h / (num_heads / num_kv_heads). Scores are scaled by
    `scale` before the softmax.
  }];
  let arguments = (ins
    Q3_Activation:$query,
    Q3_Activation:$key,
    Q3_Activation:$value,
    Arg<Q3_KVCacheType, "read, then appended to", [MemRead, MemWrite]>:$cache,
    I64Attr:$layer,
    I64Attr:$num_heads,
    I64Attr:$num_kv_heads,
    I64Attr:$head_dim,
    F64Attr:$scale
  );
  let results = (outs Q3_Activation:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $cache attr-dict
      `:` type($query) `,` type($key) `,` qualified(type($cache))
  }];
  let hasVerifier = 1;
}

def Q3_LinearOp : Q3_Op<"linear", [Pure]> {
  let summary = "y = x W^T, with W stored [out_features, in_features] as in the checkpoint";
  let arguments = (ins Q3_Activation:$input, Q3_WeightTensor:$weight);
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

#endif // QWEN3C_IR_Q3OPS_TD
