#include "backends/vulkan/compiler/planner.h"

#include <sstream>

#include "backends/forward_function.h"
#include "ir/Q3.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "passes/Passes.h"
#include "runtime/core/error.h"

namespace qwen3c::vulkan {

std::string ShaderVariant::name() const {
  std::string text = kernel;
  for (const auto& [key, value] : defines) text += " " + key + "=" + value;
  return text;
}

namespace {

using mlir::Operation;
using mlir::Value;

// Rows and token rows a matmul workgroup computes (see shaders/matmul.comp).
constexpr std::int64_t kMatmulRows = 4;
constexpr std::int64_t kMatmulTokens = 4;


std::string format_define(Value weight) {
  mlir::Type e = element_of(weight);
  if (e.isBF16()) return "FORMAT_BF16";
  if (mlir::isa<q3::Q8_0Type>(e)) return "FORMAT_Q8_0";
  if (mlir::isa<q3::Q4_0Type>(e)) return "FORMAT_Q4_0";
  return "FORMAT_F32";  // f32, and f16 widened when written
}

std::string real(double v) {
  std::ostringstream s;
  s.precision(9);
  s << std::scientific << v;
  return s.str();
}

class Lowering {
 public:
  explicit Lowering(mlir::ModuleOp module) : module_(module) {}

  LoweredModule run() {
    auto size = module_->getAttrOfType<mlir::IntegerAttr>(kArenaSizeAttr);
    if (!size) throw Error("Vulkan backend: the module has no memory plan (run q3-plan-memory)");
    out_.plan.arena_floats_per_token = size.getInt();
    std::int64_t index = 0;
    for (auto weight : module_.getOps<q3::WeightOp>()) weight_index_[weight.getSymName().str()] = index++;
    const ForwardFunction forward = forward_function(module_);
    output_ = forward.logits;
    for (std::size_t i = 0; i < forward.ops.size(); ++i) {
      tail_ = i >= forward.tail_start;
      place_results(forward.ops[i]);
      lower(forward.ops[i]);
    }
    // Greedy decoding reads back one token instead of a row of logits.
    Builder b = start(forward.ops.back(), "argmax");
    b.variant.defines = {{"VOCAB", std::to_string(row_width(output_))}};
    b.d.push.flags |= kFlagToLogits;
    b.d.x = constant(1);
    b.d.y = constant(1);
    emit(std::move(b));
    out_.plan.device_argmax = true;
    return std::move(out_);
  }

 private:
  struct Place {
    std::int64_t offset = 0;
    bool in_tail = false;
  };

  void place_results(Operation* op) {
    auto offsets = op->getAttrOfType<mlir::DenseI64ArrayAttr>(kArenaOffsetsAttr);
    for (unsigned r = 0; r < op->getNumResults(); ++r) {
      Value v = op->getResult(r);
      if (v == output_ || !offsets || offsets[r] < 0) continue;
      places_[v] = Place{offsets[r], tail_};
    }
  }

  std::int64_t weight(Value v) {
    auto get = v.getDefiningOp<q3::GetWeightOp>();
    if (!get) throw Error("Vulkan backend: a weight operand is not a q3.get_weight");
    return weight_index_.at(get.getName().str());
  }

  // A dispatch under construction: inputs and outputs fill the push constants.
  struct Builder {
    Dispatch d;
    ShaderVariant variant;
  };
  Builder start(Operation* op, std::string kernel) {
    Builder b;
    b.d.op = op->getName().getStringRef().str();
    b.d.tail = tail_;
    if (tail_) b.d.push.flags |= kFlagTail;
    b.variant.kernel = std::move(kernel);
    return b;
  }
  void input(Builder& b, int slot, Value v) {
    auto it = places_.find(v);
    if (it == places_.end()) throw Error("Vulkan backend: an activation has no place in the memory plan");
    const auto offset = static_cast<std::uint32_t>(it->second.offset);
    const std::uint32_t last[] = {kFlagIn0Last, kFlagIn1Last, kFlagIn2Last};
    (slot == 0 ? b.d.push.in0 : slot == 1 ? b.d.push.in1 : b.d.push.in2) = offset;
    if (tail_ && !it->second.in_tail) b.d.push.flags |= last[slot];
  }
  void output(Builder& b, int slot, Value v) {
    if (v == output_) {
      if (slot != 0) throw Error("Vulkan backend: the logits must be an op's first result");
      b.d.push.flags |= kFlagToLogits;
      return;
    }
    auto it = places_.find(v);
    if (it == places_.end()) throw Error("Vulkan backend: a result has no place in the memory plan");
    (slot == 0 ? b.d.push.out0 : b.d.push.out1) = static_cast<std::uint32_t>(it->second.offset);
  }
  static GridAxis per_row(std::int64_t units, std::int64_t divisor = 1) { return {units, 0, divisor, false}; }
  static GridAxis constant(std::int64_t groups) { return {0, groups, 1, false}; }

  void emit(Builder b) {
    const std::string name = b.variant.name();
    auto it = shader_index_.find(name);
    if (it == shader_index_.end()) {
      it = shader_index_.emplace(name, static_cast<std::uint32_t>(out_.variants.size())).first;
      out_.variants.push_back(b.variant);
      out_.plan.shaders.push_back({name, {}});
    }
    b.d.shader = it->second;
    out_.plan.dispatches.push_back(std::move(b.d));
  }

  void norm_defines(Builder& b, Value norm, double eps) {
    b.variant.defines["NORM_BF16"] = element_of(norm).isBF16() ? "1" : "0";
    b.variant.defines["EPS"] = real(eps);
  }

  void rope(std::int64_t head_dim, double theta) {
    if (out_.plan.rope_head_dim != 0 && (out_.plan.rope_head_dim != head_dim || out_.plan.rope_theta != theta)) {
      throw Error("Vulkan backend: RoPE ops with different head sizes or thetas in one model");
    }
    out_.plan.rope_head_dim = head_dim;
    out_.plan.rope_theta = theta;
  }

  void attention(Operation* op, Value query, Value result, std::int64_t layer, std::int64_t heads,
                 std::int64_t kv_heads, std::int64_t head_dim, double scale) {
    out_.plan.attention_heads = std::max(out_.plan.attention_heads, heads);
    if (out_.plan.attention_head_dim != 0 && out_.plan.attention_head_dim != head_dim) {
      throw Error("Vulkan backend: attention ops with different head sizes in one model");
    }
    out_.plan.attention_head_dim = head_dim;
    Builder b = start(op, "attention");
    b.variant.defines = {{"HEAD_DIM", std::to_string(head_dim)}, {"HEADS", std::to_string(heads)},
                         {"KV_HEADS", std::to_string(kv_heads)}, {"SCALE", real(scale)}};
    input(b, 0, query);
    b.d.layer = layer;
    b.d.x = per_row(heads);
    b.d.y = GridAxis{0, 1, 1, true};
    emit(std::move(b));
    Builder r = start(op, "attention_reduce");
    r.variant.defines = {{"HEAD_DIM", std::to_string(head_dim)}, {"HEADS", std::to_string(heads)}};
    output(r, 0, result);
    r.d.x = per_row(heads);
    r.d.y = constant(1);
    emit(std::move(r));
  }

  void matmul(Operation* op, Value x, Value w, Value result, bool swiglu, Value norm = {}, double eps = 0) {
    Builder b = start(op, "matmul");
    const std::int64_t k = row_width(x), n = row_width(result);
    // Threads a row: enough for its 8-element chunks, a power of two up to the workgroup.
    std::int64_t lanes = 1;
    while (lanes < kWorkgroupSize && lanes * 8 < k) lanes *= 2;
    const std::int64_t rows_per_group = kMatmulRows * (kWorkgroupSize / lanes);
    b.variant.defines = {{"K", std::to_string(k)}, {"N", std::to_string(n)}, {format_define(w), "1"},
                         {"NR", std::to_string(kMatmulRows)}, {"NT", std::to_string(kMatmulTokens)},
                         {"LANES", std::to_string(lanes)}};
    if (format_define(w) == "FORMAT_Q8_0" || format_define(w) == "FORMAT_Q4_0") {
      if (k % 32 != 0) throw Error("Vulkan backend: quantised rows must be multiples of 32: " + describe(op));
    }
    if (swiglu) b.variant.defines["SWIGLU"] = "1";
    if (norm) {
      b.variant.defines["NORM"] = "1";
      norm_defines(b, norm, eps);
      b.d.weight1 = weight(norm);
    }
    input(b, 0, x);
    b.d.weight0 = weight(w);
    output(b, 0, result);
    b.d.x = GridAxis{0, n, rows_per_group, false};
    b.d.push.row_end = static_cast<std::uint32_t>(n);
    if (!swiglu) {  // SwiGLU's gate and up rows live in two halves: never sliced
      b.d.slicing = Slicing::OutputRows;
    }
    b.d.y = per_row(1, kMatmulTokens);
    emit(std::move(b));
  }

  void elementwise(Operation* op, const char* which, Value a, Value b_value, Value result) {
    Builder b = start(op, "elementwise");
    const std::int64_t width = row_width(a);
    b.variant.defines = {{"WIDTH", std::to_string(width)}, {which, "1"}};
    input(b, 0, a);
    if (b_value) input(b, 1, b_value);
    output(b, 0, result);
    b.d.x = per_row(width, kWorkgroupSize);
    b.d.y = constant(1);
    emit(std::move(b));
  }

  void lower(Operation* op) {
    if (mlir::isa<q3::GetWeightOp, mlir::func::ReturnOp>(op)) return;
    if (auto e = mlir::dyn_cast<q3::EmbeddingOp>(op)) {
      if (tail_) throw Error("Vulkan backend: embedding after the last attention op");
      Builder b = start(op, "embedding");
      b.variant.defines = {{"K", std::to_string(row_width(e.getResult()))}, {format_define(e.getTable()), "1"}};
      b.d.weight0 = weight(e.getTable());
      b.d.push.row_end = static_cast<std::uint32_t>(
          mlir::cast<mlir::RankedTensorType>(e.getTable().getType()).getDimSize(0));
      b.d.slicing = Slicing::LookupRows;
      output(b, 0, e.getResult());
      b.d.x = per_row(1);
      b.d.y = constant(1);
      emit(std::move(b));
    } else if (auto n = mlir::dyn_cast<q3::RmsNormOp>(op)) {
      Builder b = start(op, "rms_norm");
      b.variant.defines = {{"WIDTH", std::to_string(row_width(n.getInput()))}, {"UNITS", "1"}};
      norm_defines(b, n.getWeight(), n.getEpsilon().convertToDouble());
      input(b, 0, n.getInput());
      b.d.weight1 = weight(n.getWeight());
      output(b, 0, n.getResult());
      b.d.x = per_row(1);
      b.d.y = constant(1);
      emit(std::move(b));
    } else if (auto n = mlir::dyn_cast<q3::HeadRmsNormOp>(op)) {
      const std::int64_t head = mlir::cast<mlir::RankedTensorType>(n.getWeight().getType()).getDimSize(0);
      const std::int64_t units = row_width(n.getInput()) / head;
      Builder b = start(op, "rms_norm");
      b.variant.defines = {{"WIDTH", std::to_string(head)}, {"UNITS", std::to_string(units)}};
      norm_defines(b, n.getWeight(), n.getEpsilon().convertToDouble());
      input(b, 0, n.getInput());
      b.d.weight1 = weight(n.getWeight());
      output(b, 0, n.getResult());
      b.d.x = per_row(units);
      b.d.y = constant(1);
      emit(std::move(b));
    } else if (auto r = mlir::dyn_cast<q3::RopeOp>(op)) {
      const auto head = static_cast<std::int64_t>(r.getHeadDim());
      rope(head, r.getTheta().convertToDouble());
      if (tail_) throw Error("Vulkan backend: RoPE after the last attention op");
      Builder b = start(op, "rope");
      const std::int64_t units = row_width(r.getInput()) / head;
      b.variant.defines = {{"HEAD_DIM", std::to_string(head)}, {"UNITS", std::to_string(units)},
                           {"ROPE_HALF", std::to_string(head / 2)}};
      input(b, 0, r.getInput());
      output(b, 0, r.getResult());
      b.d.x = per_row(units);
      b.d.y = constant(1);
      emit(std::move(b));
    } else if (auto a = mlir::dyn_cast<q3::AttentionOp>(op)) {
      const auto layer = static_cast<std::int64_t>(a.getLayer());
      const auto kv_dim = static_cast<std::int64_t>(a.getNumKvHeads() * a.getHeadDim());
      Builder b = start(op, "kv_append");
      b.variant.defines = {{"KV_DIM", std::to_string(kv_dim)}};
      input(b, 1, a.getKey());
      input(b, 2, a.getValue());
      b.d.layer = layer;
      b.d.x = per_row(1);
      b.d.y = constant(1);
      emit(std::move(b));
      attention(op, a.getQuery(), a.getResult(), layer, a.getNumHeads(), a.getNumKvHeads(), a.getHeadDim(),
                a.getScale().convertToDouble());
    } else if (auto p = mlir::dyn_cast<q3::QkNormRopeAppendOp>(op)) {
      if (element_of(p.getQueryNorm()) != element_of(p.getKeyNorm())) {
        throw Error("Vulkan backend: q and k norm weights must share a dtype");
      }
      const auto head = static_cast<std::int64_t>(p.getHeadDim());
      rope(head, p.getTheta().convertToDouble());
      Builder b = start(op, "qk_norm_rope_append");
      b.variant.defines = {{"HEAD_DIM", std::to_string(head)},
                           {"HEADS", std::to_string(p.getNumHeads())},
                           {"KV_HEADS", std::to_string(p.getNumKvHeads())},
                           {"ROPE_HALF", std::to_string(head / 2)}};
      norm_defines(b, p.getQueryNorm(), p.getEpsilon().convertToDouble());
      input(b, 0, p.getQuery());
      input(b, 1, p.getKey());
      input(b, 2, p.getValue());
      output(b, 0, p.getResult());
      b.d.weight0 = weight(p.getQueryNorm());
      b.d.weight1 = weight(p.getKeyNorm());
      b.d.layer = static_cast<std::int64_t>(p.getLayer());
      b.d.x = per_row(p.getNumHeads() + p.getNumKvHeads());
      b.d.y = constant(1);
      emit(std::move(b));
    } else if (auto c = mlir::dyn_cast<q3::CachedAttentionOp>(op)) {
      attention(op, c.getQuery(), c.getResult(), static_cast<std::int64_t>(c.getLayer()), c.getNumHeads(),
                c.getNumKvHeads(), c.getHeadDim(), c.getScale().convertToDouble());
    } else if (auto l = mlir::dyn_cast<q3::LinearOp>(op)) {
      matmul(op, l.getInput(), l.getWeight(), l.getResult(), false);
    } else if (auto s = mlir::dyn_cast<q3::SwigluOp>(op)) {
      matmul(op, s.getInput(), s.getWeight(), s.getResult(), true);
    } else if (auto l = mlir::dyn_cast<q3::RmsNormLinearOp>(op)) {
      matmul(op, l.getInput(), l.getWeight(), l.getResult(), false, l.getNormWeight(),
             l.getEpsilon().convertToDouble());
    } else if (auto s = mlir::dyn_cast<q3::RmsNormSwigluOp>(op)) {
      matmul(op, s.getInput(), s.getWeight(), s.getResult(), true, s.getNormWeight(),
             s.getEpsilon().convertToDouble());
    } else if (auto n = mlir::dyn_cast<q3::AddRmsNormOp>(op)) {
      Builder b = start(op, "add_rms_norm");
      b.variant.defines = {{"WIDTH", std::to_string(row_width(n.getLhs()))}};
      norm_defines(b, n.getWeight(), n.getEpsilon().convertToDouble());
      input(b, 0, n.getLhs());
      input(b, 1, n.getRhs());
      b.d.weight1 = weight(n.getWeight());
      output(b, 0, n.getSum());
      output(b, 1, n.getNormalized());
      b.d.x = per_row(1);
      b.d.y = constant(1);
      emit(std::move(b));
    } else if (auto s = mlir::dyn_cast<q3::SiluOp>(op)) {
      elementwise(op, "OP_SILU", s.getInput(), {}, s.getResult());
    } else if (auto m = mlir::dyn_cast<q3::MulOp>(op)) {
      elementwise(op, "OP_MUL", m.getLhs(), m.getRhs(), m.getResult());
    } else if (auto add = mlir::dyn_cast<q3::AddOp>(op)) {
      elementwise(op, "OP_ADD", add.getLhs(), add.getRhs(), add.getResult());
    } else {
      throw Error("Vulkan backend: unsupported op " + describe(op));
    }
  }

  mlir::ModuleOp module_;
  LoweredModule out_;
  std::map<std::string, std::int64_t> weight_index_;
  std::map<std::string, std::uint32_t> shader_index_;
  llvm::DenseMap<Value, Place> places_;
  Value output_;
  bool tail_ = false;
};

}  // namespace

LoweredModule lower_to_dispatches(mlir::ModuleOp module) { return Lowering(module).run(); }

}  // namespace qwen3c::vulkan
