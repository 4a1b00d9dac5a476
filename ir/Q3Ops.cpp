// Verifiers of the q3 operations: shapes, dtypes and head counts.

#include "ir/Q3.h"
#include "runtime/core/weight_format.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace qwen3c::q3;

namespace {

RankedTensorType rankedType(Value v) { return cast<RankedTensorType>(v.getType()); }

// Two activations in one op must have the same number of token rows when both are known.
LogicalResult verifySameRows(Operation* op, Value a, Value b, StringRef aName, StringRef bName) {
  int64_t ra = rankedType(a).getDimSize(0), rb = rankedType(b).getDimSize(0);
  if (!ShapedType::isDynamic(ra) && !ShapedType::isDynamic(rb) && ra != rb) {
    return op->emitOpError() << aName << " has " << ra << " rows but " << bName << " has " << rb;
  }
  return success();
}

LogicalResult verifyStaticWeight(Operation* op, Value weight, int64_t rank, StringRef name) {
  auto type = rankedType(weight);
  if (!type.hasStaticShape()) return op->emitOpError() << name << " must have a static shape";
  if (type.getRank() != rank) {
    return op->emitOpError() << name << " must have rank " << rank << ", got " << type;
  }
  return success();
}

LogicalResult verifyNorm(Operation* op, Value input, Value weight, double epsilon,
                         bool perHead) {
  if (failed(verifyStaticWeight(op, weight, 1, "weight"))) return failure();
  if (!(epsilon > 0)) return op->emitOpError() << "epsilon must be positive, got " << epsilon;
  int64_t width = rankedType(input).getDimSize(1);
  int64_t normSize = rankedType(weight).getDimSize(0);
  if (perHead ? (width % normSize != 0) : (width != normSize)) {
    return op->emitOpError() << "weight of " << normSize << " elements does not "
                             << (perHead ? "divide" : "match") << " rows of " << width;
  }
  return success();
}

}  // namespace

#include "ir/Q3Interfaces.cpp.inc"

#define GET_OP_CLASSES
#include "ir/Q3Ops.cpp.inc"

LogicalResult WeightOp::verify() {
  auto type = dyn_cast<RankedTensorType>(getType());
  if (!type || !type.hasStaticShape()) {
    return emitOpError() << "weight type must be a statically shaped tensor, got " << getType();
  }
  if (isa<Q8_0Type, Q4_0Type>(type.getElementType()) &&
      (type.getRank() != 2 || type.getDimSize(1) % Q3_QBLOCK != 0)) {
    return emitOpError() << "quantised weights must be matrices whose rows are whole blocks of 32, got " << type;
  }
  if (auto source = getSource(); source && source->empty()) {
    return emitOpError() << "source must name at least one checkpoint tensor";
  }
  return success();
}

LogicalResult GetWeightOp::verifySymbolUses(SymbolTableCollection& symbolTable) {
  auto weight = symbolTable.lookupNearestSymbolFrom<WeightOp>(*this, getNameAttr());
  if (!weight) return emitOpError() << "'" << getName() << "' does not name a q3.weight";
  if (weight.getType() != getType()) {
    return emitOpError() << "result type " << getType() << " differs from the declared type "
                         << weight.getType() << " of @" << getName();
  }
  return success();
}

LogicalResult EmbeddingOp::verify() {
  if (failed(verifyStaticWeight(*this, getTable(), 2, "table"))) return failure();
  auto table = rankedType(getTable());
  auto result = rankedType(getResult());
  if (result.getDimSize(1) != table.getDimSize(1)) {
    return emitOpError() << "result rows of " << result.getDimSize(1)
                         << " elements do not match the table's " << table.getDimSize(1);
  }
  int64_t tokens = rankedType(getIds()).getDimSize(0), rows = result.getDimSize(0);
  if (!ShapedType::isDynamic(tokens) && !ShapedType::isDynamic(rows) && tokens != rows) {
    return emitOpError() << "has " << tokens << " ids but " << rows << " result rows";
  }
  return success();
}

LogicalResult RmsNormOp::verify() {
  return verifyNorm(*this, getInput(), getWeight(), getEpsilon().convertToDouble(), false);
}

LogicalResult HeadRmsNormOp::verify() {
  return verifyNorm(*this, getInput(), getWeight(), getEpsilon().convertToDouble(), true);
}

LogicalResult RopeOp::verify() {
  int64_t headDim = getHeadDim();
  if (headDim <= 0 || headDim % 2 != 0) {
    return emitOpError() << "head_dim must be positive and even, got " << headDim;
  }
  if (rankedType(getInput()).getDimSize(1) % headDim != 0) {
    return emitOpError() << "rows of " << rankedType(getInput()).getDimSize(1)
                         << " elements are not a whole number of heads of " << headDim;
  }
  if (!(getTheta().convertToDouble() > 0)) return emitOpError() << "theta must be positive";
  int64_t tokens = rankedType(getPositions()).getDimSize(0);
  int64_t rows = rankedType(getInput()).getDimSize(0);
  if (!ShapedType::isDynamic(tokens) && !ShapedType::isDynamic(rows) && tokens != rows) {
    return emitOpError() << "has " << tokens << " positions but " << rows << " rows";
  }
  return success();
}

LogicalResult AttentionOp::verify() {
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads(), headDim = getHeadDim();
  if (heads <= 0 || kvHeads <= 0 || headDim <= 0) {
    return emitOpError() << "num_heads, num_kv_heads and head_dim must be positive";
  }
  if (heads % kvHeads != 0) {
    return emitOpError() << "num_kv_heads (" << kvHeads << ") must divide num_heads (" << heads
                         << ")";
  }
  if (rankedType(getQuery()).getDimSize(1) != heads * headDim) {
    return emitOpError() << "query rows must hold num_heads x head_dim = " << heads * headDim
                         << " elements, got " << rankedType(getQuery()).getDimSize(1);
  }
  if (rankedType(getKey()).getDimSize(1) != kvHeads * headDim) {
    return emitOpError() << "key/value rows must hold num_kv_heads x head_dim = "
                         << kvHeads * headDim << " elements, got "
                         << rankedType(getKey()).getDimSize(1);
  }
  if (failed(verifySameRows(*this, getQuery(), getKey(), "query", "key"))) return failure();
  KVCacheType cache = getCache().getType();
  if (cache.getKvHeads() != kvHeads || cache.getHeadDim() != headDim) {
    return emitOpError() << "cache " << cache << " does not hold " << kvHeads
                         << " KV heads of " << headDim;
  }
  auto layer = static_cast<int64_t>(getLayer());
  if (layer < 0 || layer >= cache.getLayers()) {
    return emitOpError() << "layer " << layer << " is outside the cache's "
                         << cache.getLayers() << " layers";
  }
  if (!(getScale().convertToDouble() > 0)) return emitOpError() << "scale must be positive";
  return success();
}

LogicalResult LinearOp::verify() {
  if (failed(verifyStaticWeight(*this, getWeight(), 2, "weight"))) return failure();
  auto weight = rankedType(getWeight());
  int64_t in = rankedType(getInput()).getDimSize(1);
  int64_t out = rankedType(getResult()).getDimSize(1);
  if (weight.getDimSize(1) != in) {
    return emitOpError() << "weight " << weight << " expects rows of " << weight.getDimSize(1)
                         << " elements, input has " << in;
  }
  if (weight.getDimSize(0) != out) {
    return emitOpError() << "weight " << weight << " produces " << weight.getDimSize(0)
                         << " features, result has " << out;
  }
  return verifySameRows(*this, getInput(), getResult(), "input", "result");
}

//===----------------------------------------------------------------------===//
// Fused ops
//===----------------------------------------------------------------------===//

namespace {

// Head counts and the cache shared by the attention-related ops.
LogicalResult verifyHeads(Operation* op, Value query, int64_t heads, int64_t kvHeads, int64_t headDim,
                          KVCacheType cache, int64_t layer) {
  if (heads <= 0 || kvHeads <= 0 || headDim <= 0 || heads % kvHeads != 0) {
    return op->emitOpError() << "needs positive head counts with num_kv_heads dividing num_heads";
  }
  if (rankedType(query).getDimSize(1) != heads * headDim) {
    return op->emitOpError() << "query rows must hold num_heads x head_dim = " << heads * headDim
                             << " elements, got " << rankedType(query).getDimSize(1);
  }
  if (cache.getKvHeads() != kvHeads || cache.getHeadDim() != headDim) {
    return op->emitOpError() << "cache " << cache << " does not hold " << kvHeads << " KV heads of " << headDim;
  }
  if (layer < 0 || layer >= cache.getLayers()) {
    return op->emitOpError() << "layer " << layer << " is outside the cache's " << cache.getLayers() << " layers";
  }
  return success();
}

// A [out, in] matrix weight applied to rows of `in` elements.
LogicalResult verifyMatrix(Operation* op, Value input, Value weight, int64_t expectedOut, StringRef what) {
  if (failed(verifyStaticWeight(op, weight, 2, "weight"))) return failure();
  auto w = rankedType(weight);
  if (w.getDimSize(1) != rankedType(input).getDimSize(1)) {
    return op->emitOpError() << "weight " << w << " expects rows of " << w.getDimSize(1)
                             << " elements, input has " << rankedType(input).getDimSize(1);
  }
  if (w.getDimSize(0) != expectedOut) {
    return op->emitOpError() << "weight " << w << " has " << w.getDimSize(0) << " rows, " << what
                             << " needs " << expectedOut;
  }
  return success();
}

}  // namespace

LogicalResult QkNormRopeAppendOp::verify() {
  const auto layer = static_cast<int64_t>(getLayer());
  const auto heads = static_cast<int64_t>(getNumHeads()), kvHeads = static_cast<int64_t>(getNumKvHeads());
  const auto headDim = static_cast<int64_t>(getHeadDim());
  if (failed(verifyHeads(*this, getQuery(), heads, kvHeads, headDim, getCache().getType(), layer))) return failure();
  if (headDim % 2 != 0) return emitOpError() << "head_dim must be even for RoPE";
  for (Value kv : {getKey(), getValue()}) {
    if (rankedType(kv).getDimSize(1) != kvHeads * headDim) {
      return emitOpError() << "key/value rows must hold num_kv_heads x head_dim = " << kvHeads * headDim
                           << " elements, got " << rankedType(kv).getDimSize(1);
    }
  }
  for (Value norm : {getQueryNorm(), getKeyNorm()}) {
    if (failed(verifyStaticWeight(*this, norm, 1, "norm weight"))) return failure();
    if (rankedType(norm).getDimSize(0) != headDim) return emitOpError() << "norm weights must have head_dim elements";
  }
  if (!(getEpsilon().convertToDouble() > 0) || !(getTheta().convertToDouble() > 0)) {
    return emitOpError() << "epsilon and theta must be positive";
  }
  return verifySameRows(*this, getQuery(), getKey(), "query", "key");
}

LogicalResult CachedAttentionOp::verify() {
  if (!(getScale().convertToDouble() > 0)) return emitOpError() << "scale must be positive";
  return verifyHeads(*this, getQuery(), static_cast<int64_t>(getNumHeads()), static_cast<int64_t>(getNumKvHeads()),
                     static_cast<int64_t>(getHeadDim()), getCache().getType(), static_cast<int64_t>(getLayer()));
}

LogicalResult SwigluOp::verify() {
  const int64_t out = rankedType(getResult()).getDimSize(1);
  if (failed(verifyMatrix(*this, getInput(), getWeight(), 2 * out, "gate and up stacked"))) return failure();
  return verifySameRows(*this, getInput(), getResult(), "input", "result");
}

LogicalResult RmsNormLinearOp::verify() {
  if (failed(verifyNorm(*this, getInput(), getNormWeight(), getEpsilon().convertToDouble(), false))) return failure();
  if (failed(verifyMatrix(*this, getInput(), getWeight(), rankedType(getResult()).getDimSize(1), "the result")))
    return failure();
  return verifySameRows(*this, getInput(), getResult(), "input", "result");
}

LogicalResult RmsNormSwigluOp::verify() {
  if (failed(verifyNorm(*this, getInput(), getNormWeight(), getEpsilon().convertToDouble(), false))) return failure();
  const int64_t out = rankedType(getResult()).getDimSize(1);
  if (failed(verifyMatrix(*this, getInput(), getWeight(), 2 * out, "gate and up stacked"))) return failure();
  return verifySameRows(*this, getInput(), getResult(), "input", "result");
}

LogicalResult AddRmsNormOp::verify() {
  return verifyNorm(*this, getLhs(), getWeight(), getEpsilon().convertToDouble(), false);
}
