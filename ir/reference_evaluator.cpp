#include "ir/reference_evaluator.h"

#include <cmath>

#include "ir/Q3.h"
#include "ir/rope_scaling.h"
#include "ir/op_visitor.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/core/numerics.h"
#include "runtime/core/quantization.h"
#include "runtime/core/weight_format.h"

namespace qwen3c::q3 {

namespace {

using mlir::Value;

// An activation: rows x cols floats.
struct Rows {
  std::int64_t rows = 0, cols = 0;
  std::vector<float> data;
  float* row(std::int64_t r) { return data.data() + r * cols; }
  const float* row(std::int64_t r) const { return data.data() + r * cols; }
};

Rows make(std::int64_t rows, std::int64_t cols) { return {rows, cols, std::vector<float>(rows * cols)}; }

std::int64_t dim(Value v, unsigned i) { return mlir::cast<mlir::RankedTensorType>(v.getType()).getDimSize(i); }

// x W^T for W [out, in].
Rows matmul(const Rows& x, const std::vector<float>& w, std::int64_t out) {
  Rows y = make(x.rows, out);
  for (std::int64_t t = 0; t < x.rows; ++t) {
    for (std::int64_t n = 0; n < out; ++n) {
      double s = 0;
      for (std::int64_t k = 0; k < x.cols; ++k) s += static_cast<double>(x.row(t)[k]) * w[n * x.cols + k];
      y.row(t)[n] = static_cast<float>(s);
    }
  }
  return y;
}

// RMSNorm of every `size` consecutive values, with the kernels' own arithmetic (its result
// feeds the activation rounding of --precision fast, where the last bit matters).
Rows rms_norm(const Rows& x, const std::vector<float>& g, double eps) {
  Rows y = x;
  const std::int64_t size = static_cast<std::int64_t>(g.size());
  for (std::int64_t start = 0; start < static_cast<std::int64_t>(x.data.size()); start += size) {
    numerics::rms_normalize(x.data.data() + start, g.data(), size, static_cast<float>(eps), y.data.data() + start);
  }
  return y;
}

Rows rope(const Rows& x, const std::vector<std::int64_t>& positions, std::int64_t head_dim, double theta,
          q3::YarnAttr yarn) {
  Rows y = x;
  const std::int64_t half = head_dim / 2, heads = x.cols / head_dim;
  const RopeScaling scaling = rope_scaling(head_dim, theta, yarn);
  for (std::int64_t t = 0; t < x.rows; ++t) {
    for (std::int64_t i = 0; i < half; ++i) {
      // As Hugging Face computes it, in f32; YaRN scales cos and sin.
      const float inv_freq = rope_inv_freq(head_dim, static_cast<float>(theta), scaling, i);
      const float angle = static_cast<float>(positions[t]) * inv_freq;
      const double c = std::cos(angle) * scaling.attention_factor, s = std::sin(angle) * scaling.attention_factor;
      for (std::int64_t h = 0; h < heads; ++h) {
        const float a = x.row(t)[h * head_dim + i], b = x.row(t)[h * head_dim + i + half];
        y.row(t)[h * head_dim + i] = static_cast<float>(a * c - b * s);
        y.row(t)[h * head_dim + i + half] = static_cast<float>(b * c + a * s);
      }
    }
  }
  return y;
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

// The activations as a product rounded them (--precision fast): to bf16, or to int8 blocks
// with a scale (the kernels' own quantisation function).
Rows round_activations(Rows x, llvm::StringRef rounding) {
  if (rounding == "bf16") {
    for (float& v : x.data) v = bf16_to_f32(f32_to_bf16(v));
  } else if (rounding == "q8_0") {
    weight_format::ActivationBlock block;
    for (std::size_t start = 0; start < x.data.size(); start += Q3_QBLOCK) {
      weight_format::quantize_activations_q8(x.data.data() + start, &block);
      for (int i = 0; i < Q3_QBLOCK; ++i) x.data[start + i] = static_cast<float>(block.q[i]) * block.scale;
    }
  }
  return x;
}

Rows swiglu(const Rows& x, const std::vector<float>& w, std::int64_t inter) {
  Rows both = matmul(x, w, 2 * inter);
  Rows y = make(x.rows, inter);
  for (std::int64_t t = 0; t < x.rows; ++t) {
    for (std::int64_t n = 0; n < inter; ++n) y.row(t)[n] = silu(both.row(t)[n]) * both.row(t)[inter + n];
  }
  return y;
}

}  // namespace

ReferenceEvaluator::ReferenceEvaluator(mlir::ModuleOp module, TensorSource checkpoint)
    : module_(module), checkpoint_(std::move(checkpoint)) {}

const std::vector<float>& ReferenceEvaluator::weight(const std::string& symbol) {
  auto it = weights_.find(symbol);
  if (it != weights_.end()) return it->second;
  auto decl = module_.lookupSymbol<WeightOp>(symbol);
  if (!decl) throw Error("reference evaluator: no q3.weight @" + symbol);
  std::vector<float> values;
  if (auto source = decl.getSource()) {
    for (mlir::Attribute a : *source) {
      auto part = checkpoint_(mlir::cast<mlir::StringAttr>(a).str());
      values.insert(values.end(), part.begin(), part.end());
    }
  } else {
    values = checkpoint_(symbol);
  }
  // Stored quantised: the values the kernels see are the dequantised ones.
  auto type = mlir::cast<mlir::RankedTensorType>(decl.getType());
  const bool q8 = mlir::isa<Q8_0Type>(type.getElementType()), q4 = mlir::isa<Q4_0Type>(type.getElementType());
  if (q8 || q4) {
    const DType format = q8 ? DType::Q8_0 : DType::Q4_0;
    const std::size_t row = static_cast<std::size_t>(type.getDimSize(1));
    std::vector<std::uint8_t> blocks(row / 32 * quant_block_bytes(format));
    for (std::size_t r = 0; r < values.size() / row; ++r) {
      quantize_row(format, values.data() + r * row, row, blocks.data());
      dequantize_row(format, blocks.data(), row, values.data() + r * row);
    }
  }
  return weights_[symbol] = std::move(values);
}

namespace {

// One forward step: each op's definition in plain loops, over values kept in `env`.
class StepEvaluator : public OpVisitor {
 public:
  using WeightLookup = std::function<const std::vector<float>&(const std::string&)>;
  using Cache = ReferenceEvaluator::Cache;

  StepEvaluator(const ReferenceEvaluator::StepRows& rows, WeightLookup weight, Cache& keys, Cache& values)
      : ids_(rows.ids), positions_(rows.positions), slots_(rows.slots), weight_(std::move(weight)), keys_(keys),
        values_(values) {
    tokens_ = static_cast<std::int64_t>(ids_.size());
  }

  const Rows& get(Value v) const { return env_.at(v); }

 protected:
  std::string who() const override { return "reference evaluator"; }

  void visit(EmbeddingOp e) override {
    const auto& table = wt(e.getTable());
    const std::int64_t h = dim(e.getResult(), 1);
    Rows y = make(tokens_, h);
    for (std::int64_t t = 0; t < tokens_; ++t) std::copy_n(table.begin() + ids_[t] * h, h, y.row(t));
    env_[e.getResult()] = std::move(y);
  }
  void visit(RmsNormOp n) override {
    env_[n.getResult()] = rms_norm(get(n.getInput()), wt(n.getWeight()), n.getEpsilon().convertToDouble());
  }
  void visit(HeadRmsNormOp n) override {
    env_[n.getResult()] = rms_norm(get(n.getInput()), wt(n.getWeight()), n.getEpsilon().convertToDouble());
  }
  void visit(RopeOp r) override {
    env_[r.getResult()] =
        rope(get(r.getInput()), positions_, static_cast<std::int64_t>(r.getHeadDim()), r.getTheta().convertToDouble(),
             r.getYarnAttr());
  }
  void visit(AttentionOp a) override {
    append(static_cast<std::int64_t>(a.getLayer()), get(a.getKey()), get(a.getValue()));
    env_[a.getResult()] = attend(get(a.getQuery()), static_cast<std::int64_t>(a.getLayer()),
                                 static_cast<std::int64_t>(a.getNumHeads()), static_cast<std::int64_t>(a.getNumKvHeads()),
                                 static_cast<std::int64_t>(a.getHeadDim()), a.getScale().convertToDouble());
  }
  void visit(QkNormRopeAppendOp p) override {
    const double eps = p.getEpsilon().convertToDouble(), theta = p.getTheta().convertToDouble();
    const auto head_dim = static_cast<std::int64_t>(p.getHeadDim());
    Rows k = rope(rms_norm(get(p.getKey()), wt(p.getKeyNorm()), eps), positions_, head_dim, theta, p.getYarnAttr());
    append(static_cast<std::int64_t>(p.getLayer()), k, get(p.getValue()));
    env_[p.getResult()] =
        rope(rms_norm(get(p.getQuery()), wt(p.getQueryNorm()), eps), positions_, head_dim, theta, p.getYarnAttr());
  }
  void visit(CachedAttentionOp c) override {
    env_[c.getResult()] = attend(get(c.getQuery()), static_cast<std::int64_t>(c.getLayer()),
                                 static_cast<std::int64_t>(c.getNumHeads()), static_cast<std::int64_t>(c.getNumKvHeads()),
                                 static_cast<std::int64_t>(c.getHeadDim()), c.getScale().convertToDouble());
  }
  // linear, swiglu and their norm-folded forms.
  void matrix_product(MatrixProductOpInterface m, Value result) {
    Rows x = get(m.getInput());
    if (Value norm = m.getFoldedNormWeight()) x = rms_norm(x, wt(norm), m.getFoldedNormEpsilon());
    x = round_activations(std::move(x), m.getActivationRounding());
    env_[result] = m.isGated() ? swiglu(x, wt(m.getWeight()), dim(result, 1)) : matmul(x, wt(m.getWeight()), dim(result, 1));
  }
  void visit(LinearOp l) override { matrix_product(l, l.getResult()); }
  void visit(SwigluOp s) override { matrix_product(s, s.getResult()); }
  void visit(RmsNormLinearOp l) override { matrix_product(l, l.getResult()); }
  void visit(RmsNormSwigluOp s) override { matrix_product(s, s.getResult()); }
  void visit(AddRmsNormOp n) override {
    Rows sum = get(n.getLhs());
    const Rows& b = get(n.getRhs());
    for (std::size_t i = 0; i < sum.data.size(); ++i) sum.data[i] += b.data[i];
    env_[n.getNormalized()] = rms_norm(sum, wt(n.getWeight()), n.getEpsilon().convertToDouble());
    env_[n.getSum()] = std::move(sum);
  }
  void visit(SiluOp s) override {
    Rows y = get(s.getInput());
    for (float& x : y.data) x = silu(x);
    env_[s.getResult()] = std::move(y);
  }
  void visit(MulOp m) override {
    Rows y = get(m.getLhs());
    const Rows& b = get(m.getRhs());
    for (std::size_t i = 0; i < y.data.size(); ++i) y.data[i] *= b.data[i];
    env_[m.getResult()] = std::move(y);
  }
  void visit(AddOp a) override {
    Rows y = get(a.getLhs());
    const Rows& b = get(a.getRhs());
    for (std::size_t i = 0; i < y.data.size(); ++i) y.data[i] += b.data[i];
    env_[a.getResult()] = std::move(y);
  }

 private:
  const std::vector<float>& wt(Value v) { return weight_(v.getDefiningOp<GetWeightOp>().getName().str()); }

  // Every row's key and value into its sequence, at its position.
  void append(std::int64_t layer, const Rows& k, const Rows& v) {
    for (std::int64_t t = 0; t < tokens_; ++t) {
      std::vector<float>& keys = keys_[{layer, slots_[t]}];
      std::vector<float>& values = values_[{layer, slots_[t]}];
      const auto end = static_cast<std::size_t>((positions_[t] + 1) * k.cols);
      if (keys.size() < end) {
        keys.resize(end);
        values.resize(end);
      }
      std::copy_n(k.row(t), k.cols, keys.begin() + positions_[t] * k.cols);
      std::copy_n(v.row(t), v.cols, values.begin() + positions_[t] * v.cols);
    }
  }

  Rows attend(const Rows& q, std::int64_t layer, std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim,
              double scale) const {
    Rows out = make(q.rows, q.cols);
    const std::int64_t kv_row = kv_heads * head_dim, group = heads / kv_heads;
    for (std::int64_t t = 0; t < q.rows; ++t) {
      const std::int64_t visible = positions_[t] + 1;
      const std::vector<float>& keys = keys_.at({layer, slots_[t]});
      const std::vector<float>& values = values_.at({layer, slots_[t]});
      for (std::int64_t h = 0; h < heads; ++h) {
        std::vector<double> p(visible);
        double max = -INFINITY, sum = 0;
        for (std::int64_t j = 0; j < visible; ++j) {
          double s = 0;
          for (std::int64_t d = 0; d < head_dim; ++d) {
            s += static_cast<double>(q.row(t)[h * head_dim + d]) * keys[j * kv_row + (h / group) * head_dim + d];
          }
          p[j] = s * scale;
          max = std::max(max, p[j]);
        }
        for (double& x : p) sum += (x = std::exp(x - max));
        for (std::int64_t d = 0; d < head_dim; ++d) {
          double acc = 0;
          for (std::int64_t j = 0; j < visible; ++j) acc += p[j] / sum * values[j * kv_row + (h / group) * head_dim + d];
          out.row(t)[h * head_dim + d] = static_cast<float>(acc);
        }
      }
    }
    return out;
  }

  const std::vector<std::int64_t>& ids_;
  const std::vector<std::int64_t>& positions_;
  const std::vector<std::int64_t>& slots_;
  std::int64_t tokens_ = 0;
  WeightLookup weight_;
  Cache& keys_;
  Cache& values_;
  llvm::DenseMap<Value, Rows> env_;
};

}  // namespace

std::vector<float> ReferenceEvaluator::forward(const std::vector<std::int64_t>& ids) {
  StepRows rows{ids, {}, std::vector<std::int64_t>(ids.size(), 0)};
  for (std::size_t t = 0; t < ids.size(); ++t) rows.positions.push_back(length_[0] + static_cast<std::int64_t>(t));
  return forward(rows);
}

std::vector<float> ReferenceEvaluator::forward(const StepRows& rows) {
  auto func = module_.lookupSymbol<mlir::func::FuncOp>("forward");
  if (!func) throw Error("reference evaluator: no @forward");
  if (rows.positions.size() != rows.ids.size() || rows.slots.size() != rows.ids.size()) {
    throw Error("reference evaluator: every row needs an id, a position and a slot");
  }
  StepEvaluator step(rows, [this](const std::string& name) -> const std::vector<float>& { return weight(name); },
                     keys_, values_);
  std::vector<float> logits;
  for (mlir::Operation& op : func.getBody().front()) {
    if (auto ret = mlir::dyn_cast<mlir::func::ReturnOp>(op)) {
      logits = step.get(ret.getOperand(0)).data;
    } else {
      step.dispatch(&op);
    }
  }
  for (std::size_t t = 0; t < rows.ids.size(); ++t) {
    length_[rows.slots[t]] = std::max(length_[rows.slots[t]], rows.positions[t] + 1);
  }
  return logits;
}

}  // namespace qwen3c::q3
