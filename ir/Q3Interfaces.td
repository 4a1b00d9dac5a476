//===- Q3Interfaces.td - q3 op interfaces -----------------------*- tablegen -*-===//

#ifndef QWEN3C_IR_Q3INTERFACES_TD
#define QWEN3C_IR_Q3INTERFACES_TD

include "mlir/IR/OpBase.td"

def Q3_MatrixProductOpInterface : OpInterface<"MatrixProductOpInterface"> {
  let cppNamespace = "::qwen3c::q3";
  let description = [{
    An op whose core is a product of activation rows with a matrix weight, x W^T, W stored
    [out_features, in_features]: q3.linear, q3.swiglu (gate and up stacked in W, silu(gate)
    * up in the epilogue) and their forms with an RMSNorm folded in front. Passes and
    backends ask these questions of any of them instead of casting to each op.
  }];
  let methods = [
    InterfaceMethod<"The activation rows the product reads", "::mlir::Value", "getInput">,
    InterfaceMethod<"The matrix weight (a q3.get_weight result)", "::mlir::Value", "getWeight">,
    InterfaceMethod<"The RMSNorm weight folded in front of the product, or a null value",
      "::mlir::Value", "getFoldedNormWeight", (ins), [{
        if constexpr (requires(ConcreteOp op) { op.getNormWeight(); }) return $_op.getNormWeight();
        else return ::mlir::Value();
      }]>,
    InterfaceMethod<"The folded RMSNorm's epsilon (0 without one)", "double", "getFoldedNormEpsilon", (ins), [{
        if constexpr (requires(ConcreteOp op) { op.getNormWeight(); }) return $_op.getEpsilon().convertToDouble();
        else return 0.0;
      }]>,
    InterfaceMethod<"Whether W holds gate and up halves combined as silu(gate) * up",
      "bool", "isGated", (ins), [{ return ConcreteOp::kGated; }]>,
    InterfaceMethod<"How the activations are rounded before the product: \"bf16\", \"q8_0\" or \"\" (f32)",
      "::llvm::StringRef", "getActivationRounding", (ins), [{
        if (auto a = $_op.getRoundActivationsAttr()) return a.getValue();
        return ::llvm::StringRef();
      }]>,
    InterfaceMethod<"Rows of W (output features before any gating)", "int64_t", "getWeightRows", (ins), [{
        return ::mlir::cast<::mlir::RankedTensorType>($_op.getWeight().getType()).getDimSize(0);
      }]>,
    InterfaceMethod<"Columns of W (the input features)", "int64_t", "getWeightColumns", (ins), [{
        return ::mlir::cast<::mlir::RankedTensorType>($_op.getWeight().getType()).getDimSize(1);
      }]>,
  ];
}

#endif // QWEN3C_IR_Q3INTERFACES_TD
