//===- Passes.td - q3 passes -----------------------------------*- tablegen -*-===//
//
// Every qwen3c pass: one file each in passes/, registered by name, composed into the
// -O0 (nothing) and -O2 pipelines (pipelines.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef QWEN3C_PASSES_TD
#define QWEN3C_PASSES_TD

include "mlir/Pass/PassBase.td"

class Q3ModulePass<string name> : Pass<name, "mlir::ModuleOp"> {
  let options = [
    Option<"verbose", "verbose", "bool", /*default=*/"false",
           "Emit a remark for every candidate that is not rewritten, saying why">,
  ];
}

def FuseSwiglu : Q3ModulePass<"q3-fuse-swiglu"> {
  let summary = "Fuse mul(silu(x Wg^T), x Wu^T) into q3.swiglu with [Wg; Wu] in one weight";
  let description = [{
    Precondition: both linears read the same input, have weights of the same type, and
    the silu and both linears have no other user. The stacked weight is a new q3.weight
    whose `source` lists the gate and up checkpoint tensors; the old declarations go when
    unused.
  }];
}

def FuseQkNormRope : Q3ModulePass<"q3-fuse-qk-norm-rope"> {
  let summary = "Fuse per-head q/k RMSNorm, RoPE and the KV-cache append into one op";
  let description = [{
    Rewrites attention(rope(head_rms_norm(q)), rope(head_rms_norm(k)), v) into
    qk_norm_rope_append (which also appends k and v to the cache) followed by
    cached_attention. Precondition: the norms and ropes are used only there, share the
    positions, epsilon, theta and head_dim.
  }];
}

def FuseAddRmsNorm : Q3ModulePass<"q3-fuse-add-rms-norm"> {
  let summary = "Fuse a residual add with the RMSNorm that reads it (q3.add_rms_norm)";
}

def FoldRmsNorm : Q3ModulePass<"q3-fold-rms-norm"> {
  let summary = "Fold an RMSNorm into the linear / swiglu ops that consume it";
  let description = [{
    Precondition: every user of the norm is a q3.linear or q3.swiglu reading it as input;
    each becomes q3.rms_norm_linear / q3.rms_norm_swiglu and the norm disappears.
  }];
}

def QuantizeWeights : Q3ModulePass<"q3-quantize-weights"> {
  let summary = "Quantise matrix weights to q8_0 or q4_0 (blocks of 32, one f16 scale)";
  let description = [{
    Matrix weights of linear, swiglu and embedding ops get the chosen quantised element
    type. The output projection (lm_head, or the tied embedding that serves as it) is
    quantised to q8_0 at most: logits are the most sensitive product of the model.
    Norm weights keep their dtype. Weights whose rows are not whole blocks of 32 stay.
  }];
  let options = [
    Option<"verbose", "verbose", "bool", "false", "Report weights left unquantised">,
    Option<"quant", "quant", "std::string", "\"q8_0\"", "q8_0 or q4_0">,
  ];
}

def RoundActivations : Q3ModulePass<"q3-round-activations"> {
  let summary = "Round each matrix product's activations to what its weights' instructions want";
  let description = [{
    The `fast` precision: a product with bf16 weights rounds its activations to bf16, one
    with q8_0 or q4_0 weights quantises them to int8 blocks of 32 with an f32 scale (the
    `round_activations` attribute); products with f32 weights keep f32 activations.
    Accumulation stays f32 (or int32 per block), as llama.cpp and Hugging Face's bf16 path
    do. Every attention gets `integer_products`: against a q8_0 cache its queries are
    rounded the same way and scored by int8 dot products, and its values summed by int16
    ones. Run after q3-quantize-weights.
  }];
}

def PackWeights : Q3ModulePass<"q3-pack-weights"> {
  let summary = "Choose, for every weight, the layout the target backend's kernels read";
  let description = [{
    Sets `layout` on each q3.weight to what the target backend (a provider registered in
    passes/weight_layouts.h) says its kernels read for that weight and its uses; the
    backend writes the data in that layout when it builds the artifact, so nothing is
    repacked at load. Fails if a weight is used in a way the backend has no layout for.
  }];
  let options = [
    Option<"verbose", "verbose", "bool", "false", "Report the layout chosen for each weight">,
    Option<"target", "target", "std::string", "\"cpu\"", "The backend whose layouts to use">,
  ];
}

def PlanMemory : Q3ModulePass<"q3-plan-memory"> {
  let summary = "Assign every activation an offset in one arena, by liveness";
  let description = [{
    Activations are [tokens, width] f32 rows, so offsets are in floats per token: value v
    lives at arena + offset(v) * tokens. First fit over live intervals; buffers are
    reused once their last reader has run. Sets `q3.arena_offsets` on each op and
    `q3.arena_floats_per_token` on the module; the returned logits are not placed.
  }];
}

#endif // QWEN3C_PASSES_TD
