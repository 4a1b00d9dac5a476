#include "ir/Q3.h"

#include "llvm/ADT/TypeSwitch.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace qwen3c::q3;

#include "ir/Q3Dialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "ir/Q3Types.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "ir/Q3Attrs.cpp.inc"

void Q3Dialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ir/Q3Ops.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "ir/Q3Types.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "ir/Q3Attrs.cpp.inc"
      >();
}

LogicalResult YarnAttr::verify(function_ref<InFlightDiagnostic()> emitError, FloatAttr factor,
                               int64_t originalContext, FloatAttr betaFast, FloatAttr betaSlow,
                               FloatAttr attentionFactor, BoolAttr truncate) {
  if (!(factor.getValueAsDouble() >= 1.0)) return emitError() << "yarn factor must be at least 1";
  if (originalContext <= 0) return emitError() << "yarn original_context must be positive";
  if (!(betaFast.getValueAsDouble() > 0) || !(betaSlow.getValueAsDouble() > 0)) {
    return emitError() << "yarn beta_fast and beta_slow must be positive";
  }
  if (!(attentionFactor.getValueAsDouble() > 0)) return emitError() << "yarn attention_factor must be positive";
  return success();
}

LogicalResult KVCacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t layers, int64_t kvHeads, int64_t headDim,
                                  Type elementType) {
  if (layers <= 0 || kvHeads <= 0 || headDim <= 0) {
    return emitError() << "kv_cache dimensions must be positive, got layers = " << layers
                       << ", kv_heads = " << kvHeads << ", head_dim = " << headDim;
  }
  if (!elementType.isF32() && !elementType.isF16() && !elementType.isBF16()) {
    return emitError() << "kv_cache element type must be f32, f16 or bf16, got " << elementType;
  }
  return success();
}
