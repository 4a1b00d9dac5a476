//===- Q3Dialect.td - the q3 dialect ---------------------------*- tablegen -*-===//
//
// The q3 dialect describes a Qwen3 model at the level a model author thinks in:
// embedding, norms, linear layers, rotary embeddings, attention over an explicit KV cache.
//
//===----------------------------------------------------------------------===//

#ifndef QWEN3C_IR_Q3DIALECT_TD
#define QWEN3C_IR_Q3DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Q3_Dialect : Dialect {
  let name = "q3";
  let cppNamespace = "::qwen3c::q3";
  let summary = "A graph dialect for the Qwen3 family of language models";
  let description = [{
    Values are tensors: activations are `tensor<?xNxf32>` where the leading, dynamic
    dimension is the number of tokens in a forward step; every other dimension is static.
    Weights are module-level `q3.weight` symbols naming a checkpoint tensor (shape and
    dtype only: the data is not copied into the IR) and are read with `q3.get_weight`.
    The KV cache is explicit state of type `!q3.kv_cache`, a function argument that
    `q3.attention` reads and appends to. A step's rows may belong to several sequences:
    `@forward` takes each row's token id, position and sequence (slot).
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
}

class Q3_Op<string mnemonic, list<Trait> traits = []> :
    Op<Q3_Dialect, mnemonic, traits>;

class Q3_Type<string name, string typeMnemonic, list<Trait> traits = []> :
    TypeDef<Q3_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

#endif // QWEN3C_IR_Q3DIALECT_TD
