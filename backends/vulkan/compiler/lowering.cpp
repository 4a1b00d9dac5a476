#include "backends/vulkan/compiler/lowering.h"

#include <sstream>

#include "backends/forward_lowering.h"
#include "ir/Q3.h"
#include "ir/rope_scaling.h"
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

// Each q3 op becomes one or more dispatches of a specialised shader variant.
class DispatchLowering : public ForwardLowering {
 public:
  explicit DispatchLowering(mlir::ModuleOp module) : ForwardLowering(module, "Vulkan backend") {}

  LoweredModule lower() {
    run();
    out_.plan.arena_floats_per_token = arena_floats_per_token();
    // Greedy decoding reads back one token instead of a row of logits.
    Builder b = start(nullptr, "argmax");
    b.variant.defines = {{"VOCAB", std::to_string(vocab_)}};
    b.d.op = "argmax";
    b.d.tail = true;
    b.d.push.flags |= kFlagTail | kFlagToLogits;
    b.d.x = constant(1);
    b.d.y = constant(1);
    emit(std::move(b));
    out_.plan.device_argmax = true;
    return std::move(out_);
  }

 private:
  // A dispatch under construction: inputs and outputs fill the push constants.
  struct Builder {
    Dispatch d;
    ShaderVariant variant;
  };
  Builder start(Operation* op, std::string kernel) {
    Builder b;
    if (op != nullptr) b.d.op = op->getName().getStringRef().str();
    b.d.tail = in_tail();
    if (in_tail()) b.d.push.flags |= kFlagTail;
    b.variant.kernel = std::move(kernel);
    return b;
  }
  void input(Builder& b, int slot, Value v) {
    const Place p = ForwardLowering::input(v);
    const std::uint32_t last[] = {kFlagIn0Last, kFlagIn1Last, kFlagIn2Last};
    (slot == 0 ? b.d.push.in0 : slot == 1 ? b.d.push.in1 : b.d.push.in2) = static_cast<std::uint32_t>(p.offset);
    if (p.last_rows_only) b.d.push.flags |= last[slot];
  }
  void output(Builder& b, int slot, Value v) {
    if (is_logits(v)) {
      if (slot != 0) throw Error("Vulkan backend: the logits must be an op's first result");
      vocab_ = row_width(v);
      b.d.push.flags |= kFlagToLogits;
      return;
    }
    (slot == 0 ? b.d.push.out0 : b.d.push.out1) = static_cast<std::uint32_t>(ForwardLowering::output(v).offset);
  }
  static GridAxis per_row(std::int64_t units, std::int64_t divisor = 1) { return {units, 0, divisor, false}; }
  static GridAxis constant(std::int64_t groups) { return {0, groups, 1, false}; }

  std::uint32_t shader(const ShaderVariant& variant) {
    const std::string name = variant.name();
    auto it = shader_index_.find(name);
    if (it == shader_index_.end()) {
      it = shader_index_.emplace(name, static_cast<std::uint32_t>(out_.variants.size())).first;
      out_.variants.push_back(variant);
      out_.plan.shaders.push_back({name, {}});
    }
    return it->second;
  }
  // A dispatch that reads or writes the KV cache gets a variant per cache type the
  // runtime may choose (kKvTypes); the others one shader.
  void emit(Builder b) {
    b.d.shader = shader(b.variant);
    if (b.d.layer >= 0) {
      for (KvType type : kKvTypes) {
        ShaderVariant typed = b.variant;
        typed.defines["KV_TYPE"] = std::to_string(static_cast<int>(type));
        b.d.kv_shaders.push_back(shader(typed));
      }
    }
    out_.plan.dispatches.push_back(std::move(b.d));
  }

  void norm_defines(Builder& b, Value norm, double eps) {
    b.variant.defines["NORM_BF16"] = element_of(norm).isBF16() ? "1" : "0";
    b.variant.defines["EPS"] = real(eps);
  }

  void rope(std::int64_t head_dim, double theta, q3::YarnAttr yarn) {
    const RopeScaling s = rope_scaling(head_dim, theta, yarn);
    const RopeScaling& had = out_.plan.rope_scaling;
    if (out_.plan.rope_head_dim != 0 &&
        (out_.plan.rope_head_dim != head_dim || out_.plan.rope_theta != theta || had.factor != s.factor ||
         had.ramp_low != s.ramp_low || had.ramp_span != s.ramp_span || had.attention_factor != s.attention_factor)) {
      throw Error("Vulkan backend: RoPE ops with different head sizes, thetas or scaling in one model");
    }
    out_.plan.rope_head_dim = head_dim;
    out_.plan.rope_theta = theta;
    out_.plan.rope_scaling = s;
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

  // linear, swiglu and their norm-folded forms: the matmul shader's variants.
  void matmul(q3::MatrixProductOpInterface m, Value result) {
    Operation* op = m.getOperation();
    const Value x = m.getInput(), w = m.getWeight(), norm = m.getFoldedNormWeight();
    const bool swiglu = m.isGated();
    Builder b = start(op, "matmul");
    const std::int64_t k = row_width(x), n = row_width(result);
    // Threads a row: enough for its 8-element chunks, a power of two up to the workgroup.
    std::int64_t lanes = 1;
    while (lanes < kWorkgroupSize && lanes * 8 < k) lanes *= 2;
    const std::int64_t rows_per_group = kMatmulRows * (kWorkgroupSize / lanes);
    b.variant.defines = {{"K", std::to_string(k)}, {"N", std::to_string(n)}, {format_define(w), "1"},
                         {"NR", std::to_string(kMatmulRows)}, {"NT", std::to_string(kMatmulTokens)},
                         {"LANES", std::to_string(lanes)}};
    if (swiglu) b.variant.defines["SWIGLU"] = "1";
    if (norm) {
      b.variant.defines["NORM"] = "1";
      norm_defines(b, norm, m.getFoldedNormEpsilon());
      b.d.weight1 = weight_index(norm);
    }
    input(b, 0, x);
    b.d.weight0 = weight_index(w);
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

  void visit(q3::EmbeddingOp e) override {
    Builder b = start(e, "embedding");
    b.variant.defines = {{"K", std::to_string(row_width(e.getResult()))}, {format_define(e.getTable()), "1"}};
    b.d.weight0 = weight_index(e.getTable());
    b.d.push.row_end =
        static_cast<std::uint32_t>(mlir::cast<mlir::RankedTensorType>(e.getTable().getType()).getDimSize(0));
    b.d.slicing = Slicing::LookupRows;
    output(b, 0, e.getResult());
    b.d.x = per_row(1);
    b.d.y = constant(1);
    emit(std::move(b));
  }
  // RMSNorm of `units` pieces of `width` values a row (one: rms_norm; a head each: head_rms_norm).
  void rms_norm(Operation* op, Value in, Value weight, Value result, std::int64_t width, std::int64_t units,
                double eps) {
    Builder b = start(op, "rms_norm");
    b.variant.defines = {{"WIDTH", std::to_string(width)}, {"UNITS", std::to_string(units)}};
    norm_defines(b, weight, eps);
    input(b, 0, in);
    b.d.weight1 = weight_index(weight);
    output(b, 0, result);
    b.d.x = per_row(units);
    b.d.y = constant(1);
    emit(std::move(b));
  }
  void visit(q3::RmsNormOp n) override {
    rms_norm(n, n.getInput(), n.getWeight(), n.getResult(), row_width(n.getInput()), 1,
             n.getEpsilon().convertToDouble());
  }
  void visit(q3::HeadRmsNormOp n) override {
    const std::int64_t head = mlir::cast<mlir::RankedTensorType>(n.getWeight().getType()).getDimSize(0);
    rms_norm(n, n.getInput(), n.getWeight(), n.getResult(), head, row_width(n.getInput()) / head,
             n.getEpsilon().convertToDouble());
  }
  void visit(q3::RopeOp r) override {
    const auto head = static_cast<std::int64_t>(r.getHeadDim());
    rope(head, r.getTheta().convertToDouble(), r.getYarnAttr());
    if (in_tail()) fail(r, "RoPE after the last attention op");
    Builder b = start(r, "rope");
    const std::int64_t units = row_width(r.getInput()) / head;
    b.variant.defines = {{"HEAD_DIM", std::to_string(head)}, {"UNITS", std::to_string(units)},
                         {"ROPE_HALF", std::to_string(head / 2)}};
    input(b, 0, r.getInput());
    output(b, 0, r.getResult());
    b.d.x = per_row(units);
    b.d.y = constant(1);
    emit(std::move(b));
  }
  void visit(q3::AttentionOp a) override {
    require_step_rows(a, a.getPositions(), a.getSlots());
    const auto layer = static_cast<std::int64_t>(a.getLayer());
    const auto kv_dim = static_cast<std::int64_t>(a.getNumKvHeads() * a.getHeadDim());
    Builder b = start(a, "kv_append");
    b.variant.defines = {{"KV_DIM", std::to_string(kv_dim)}};
    input(b, 1, a.getKey());
    input(b, 2, a.getValue());
    b.d.layer = layer;
    b.d.x = per_row(1);
    b.d.y = constant(1);
    emit(std::move(b));
    attention(a, a.getQuery(), a.getResult(), layer, a.getNumHeads(), a.getNumKvHeads(), a.getHeadDim(),
              a.getScale().convertToDouble());
  }
  void visit(q3::QkNormRopeAppendOp p) override {
    require_step_rows(p, p.getPositions(), p.getSlots());
    const auto head = static_cast<std::int64_t>(p.getHeadDim());
    rope(head, p.getTheta().convertToDouble(), p.getYarnAttr());
    Builder b = start(p, "qk_norm_rope_append");
    b.variant.defines = {{"HEAD_DIM", std::to_string(head)},
                         {"HEADS", std::to_string(p.getNumHeads())},
                         {"KV_HEADS", std::to_string(p.getNumKvHeads())},
                         {"ROPE_HALF", std::to_string(head / 2)}};
    norm_defines(b, p.getQueryNorm(), p.getEpsilon().convertToDouble());
    input(b, 0, p.getQuery());
    input(b, 1, p.getKey());
    input(b, 2, p.getValue());
    output(b, 0, p.getResult());
    b.d.weight0 = weight_index(p.getQueryNorm());
    b.d.weight1 = weight_index(p.getKeyNorm());
    b.d.layer = static_cast<std::int64_t>(p.getLayer());
    b.d.x = per_row(p.getNumHeads() + p.getNumKvHeads());
    b.d.y = constant(1);
    emit(std::move(b));
  }
  void visit(q3::CachedAttentionOp c) override {
    require_step_rows(c, c.getPositions(), c.getSlots());
    attention(c, c.getQuery(), c.getResult(), static_cast<std::int64_t>(c.getLayer()), c.getNumHeads(),
              c.getNumKvHeads(), c.getHeadDim(), c.getScale().convertToDouble());
  }
  void visit(q3::LinearOp l) override { matmul(l, l.getResult()); }
  void visit(q3::SwigluOp s) override { matmul(s, s.getResult()); }
  void visit(q3::RmsNormLinearOp l) override { matmul(l, l.getResult()); }
  void visit(q3::RmsNormSwigluOp s) override { matmul(s, s.getResult()); }
  void visit(q3::AddRmsNormOp n) override {
    Builder b = start(n, "add_rms_norm");
    b.variant.defines = {{"WIDTH", std::to_string(row_width(n.getLhs()))}};
    norm_defines(b, n.getWeight(), n.getEpsilon().convertToDouble());
    input(b, 0, n.getLhs());
    input(b, 1, n.getRhs());
    b.d.weight1 = weight_index(n.getWeight());
    output(b, 0, n.getSum());
    output(b, 1, n.getNormalized());
    b.d.x = per_row(1);
    b.d.y = constant(1);
    emit(std::move(b));
  }
  void visit(q3::SiluOp s) override { elementwise(s, "OP_SILU", s.getInput(), {}, s.getResult()); }
  void visit(q3::MulOp m) override { elementwise(m, "OP_MUL", m.getLhs(), m.getRhs(), m.getResult()); }
  void visit(q3::AddOp a) override { elementwise(a, "OP_ADD", a.getLhs(), a.getRhs(), a.getResult()); }

  LoweredModule out_;
  std::map<std::string, std::uint32_t> shader_index_;
  std::int64_t vocab_ = 0;
};

}  // namespace

LoweredModule lower_to_dispatches(mlir::ModuleOp module) { return DispatchLowering(module).lower(); }

}  // namespace qwen3c::vulkan
