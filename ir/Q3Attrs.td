//===- Q3Attrs.td - q3 attributes ------------------------------*- tablegen -*-===//

#ifndef QWEN3C_IR_Q3ATTRS_TD
#define QWEN3C_IR_Q3ATTRS_TD

include "ir/Q3Dialect.td"

def Q3_YarnAttr : AttrDef<Q3_Dialect, "Yarn"> {
  let mnemonic = "yarn";
  let summary = "YaRN rope scaling (how Qwen3 reaches contexts past its training length)";
  let description = [{
    The rotary frequencies of dimensions that turn fewer than `beta_slow` times over the
    `original_context` positions the model was trained on are divided by `factor`; those
    that turn more than `beta_fast` times are kept; between, a linear blend (its ends
    rounded outward when `truncate`). cos and sin are multiplied by `attention_factor`.
    As Hugging Face transformers' `_compute_yarn_parameters`, every default resolved.

    Example: `#q3.yarn<factor = 4.0, original_context = 32768, beta_fast = 32.0,
    beta_slow = 1.0, attention_factor = 1.1386294, truncate = true>`
  }];
  let parameters = (ins
    "::mlir::FloatAttr":$factor,
    "int64_t":$original_context,
    "::mlir::FloatAttr":$beta_fast,
    "::mlir::FloatAttr":$beta_slow,
    "::mlir::FloatAttr":$attention_factor,
    "::mlir::BoolAttr":$truncate
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // QWEN3C_IR_Q3ATTRS_TD
