#include "ir/reference_evaluator.h"

#include <cmath>

#include "ir/Q3.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/core/quantization.h"

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

// RMSNorm of every `size` consecutive values.
Rows rms_norm(const Rows& x, const std::vector<float>& g, double eps) {
  Rows y = x;
  const std::int64_t size = static_cast<std::int64_t>(g.size());
  for (std::int64_t start = 0; start < static_cast<std::int64_t>(x.data.size()); start += size) {
    double ss = 0;
    for (std::int64_t i = 0; i < size; ++i) ss += static_cast<double>(x.data[start + i]) * x.data[start + i];
    const double inv = 1.0 / std::sqrt(ss / size + eps);
    for (std::int64_t i = 0; i < size; ++i) y.data[start + i] = static_cast<float>(g[i] * (x.data[start + i] * inv));
  }
  return y;
}

Rows rope(const Rows& x, const std::vector<std::int64_t>& positions, std::int64_t head_dim, double theta) {
  Rows y = x;
  const std::int64_t half = head_dim / 2, heads = x.cols / head_dim;
  for (std::int64_t t = 0; t < x.rows; ++t) {
    for (std::int64_t i = 0; i < half; ++i) {
      // As Hugging Face computes it, in f32.
      const float inv_freq = 1.0f / std::pow(static_cast<float>(theta), static_cast<float>(2 * i) / head_dim);
      const float angle = static_cast<float>(positions[t]) * inv_freq;
      const double c = std::cos(angle), s = std::sin(angle);
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

std::vector<float> ReferenceEvaluator::forward(const std::vector<std::int64_t>& ids) {
  auto func = module_.lookupSymbol<mlir::func::FuncOp>("forward");
  if (!func) throw Error("reference evaluator: no @forward");
  mlir::Block& body = func.getBody().front();
  const auto tokens = static_cast<std::int64_t>(ids.size());
  std::vector<std::int64_t> positions(ids.size());
  for (std::int64_t t = 0; t < tokens; ++t) positions[t] = past_ + t;

  llvm::DenseMap<Value, Rows> env;
  auto get = [&](Value v) -> const Rows& { return env.at(v); };
  auto wt = [&](Value v) -> const std::vector<float>& {
    return weight(v.getDefiningOp<GetWeightOp>().getName().str());
  };
  auto cache_for = [&](std::int64_t layer, std::int64_t kv_row) {
    if (keys_.size() <= static_cast<std::size_t>(layer)) {
      keys_.resize(layer + 1);
      values_.resize(layer + 1);
    }
    keys_[layer].resize((past_ + tokens) * kv_row);
    values_[layer].resize((past_ + tokens) * kv_row);
  };
  auto append = [&](std::int64_t layer, const Rows& k, const Rows& v) {
    cache_for(layer, k.cols);
    std::copy(k.data.begin(), k.data.end(), keys_[layer].begin() + past_ * k.cols);
    std::copy(v.data.begin(), v.data.end(), values_[layer].begin() + past_ * v.cols);
  };
  auto attend = [&](const Rows& q, std::int64_t layer, std::int64_t heads, std::int64_t kv_heads,
                    std::int64_t head_dim, double scale) {
    Rows out = make(q.rows, q.cols);
    const std::int64_t kv_row = kv_heads * head_dim, group = heads / kv_heads;
    for (std::int64_t t = 0; t < q.rows; ++t) {
      const std::int64_t visible = past_ + t + 1;
      for (std::int64_t h = 0; h < heads; ++h) {
        std::vector<double> p(visible);
        double max = -INFINITY, sum = 0;
        for (std::int64_t j = 0; j < visible; ++j) {
          double s = 0;
          for (std::int64_t d = 0; d < head_dim; ++d) {
            s += static_cast<double>(q.row(t)[h * head_dim + d]) * keys_[layer][j * kv_row + (h / group) * head_dim + d];
          }
          p[j] = s * scale;
          max = std::max(max, p[j]);
        }
        for (double& x : p) sum += (x = std::exp(x - max));
        for (std::int64_t d = 0; d < head_dim; ++d) {
          double acc = 0;
          for (std::int64_t j = 0; j < visible; ++j) acc += p[j] / sum * values_[layer][j * kv_row + (h / group) * head_dim + d];
          out.row(t)[h * head_dim + d] = static_cast<float>(acc);
        }
      }
    }
    return out;
  };

  std::vector<float> logits;
  for (mlir::Operation& op : body) {
    if (mlir::isa<GetWeightOp>(op)) continue;
    if (auto e = mlir::dyn_cast<EmbeddingOp>(op)) {
      const auto& table = wt(e.getTable());
      const std::int64_t h = dim(e.getResult(), 1);
      Rows y = make(tokens, h);
      for (std::int64_t t = 0; t < tokens; ++t) std::copy_n(table.begin() + ids[t] * h, h, y.row(t));
      env[e.getResult()] = std::move(y);
    } else if (auto n = mlir::dyn_cast<RmsNormOp>(op)) {
      env[n.getResult()] = rms_norm(get(n.getInput()), wt(n.getWeight()), n.getEpsilon().convertToDouble());
    } else if (auto n = mlir::dyn_cast<HeadRmsNormOp>(op)) {
      env[n.getResult()] = rms_norm(get(n.getInput()), wt(n.getWeight()), n.getEpsilon().convertToDouble());
    } else if (auto r = mlir::dyn_cast<RopeOp>(op)) {
      env[r.getResult()] = rope(get(r.getInput()), positions, static_cast<std::int64_t>(r.getHeadDim()),
                                r.getTheta().convertToDouble());
    } else if (auto a = mlir::dyn_cast<AttentionOp>(op)) {
      append(static_cast<std::int64_t>(a.getLayer()), get(a.getKey()), get(a.getValue()));
      env[a.getResult()] = attend(get(a.getQuery()), static_cast<std::int64_t>(a.getLayer()),
                                  static_cast<std::int64_t>(a.getNumHeads()), static_cast<std::int64_t>(a.getNumKvHeads()),
                                  static_cast<std::int64_t>(a.getHeadDim()), a.getScale().convertToDouble());
    } else if (auto p = mlir::dyn_cast<QkNormRopeAppendOp>(op)) {
      const double eps = p.getEpsilon().convertToDouble(), theta = p.getTheta().convertToDouble();
      const auto head_dim = static_cast<std::int64_t>(p.getHeadDim());
      Rows k = rope(rms_norm(get(p.getKey()), wt(p.getKeyNorm()), eps), positions, head_dim, theta);
      append(static_cast<std::int64_t>(p.getLayer()), k, get(p.getValue()));
      env[p.getResult()] = rope(rms_norm(get(p.getQuery()), wt(p.getQueryNorm()), eps), positions, head_dim, theta);
    } else if (auto c = mlir::dyn_cast<CachedAttentionOp>(op)) {
      env[c.getResult()] = attend(get(c.getQuery()), static_cast<std::int64_t>(c.getLayer()),
                                  static_cast<std::int64_t>(c.getNumHeads()), static_cast<std::int64_t>(c.getNumKvHeads()),
                                  static_cast<std::int64_t>(c.getHeadDim()), c.getScale().convertToDouble());
    } else if (auto l = mlir::dyn_cast<LinearOp>(op)) {
      env[l.getResult()] = matmul(get(l.getInput()), wt(l.getWeight()), dim(l.getResult(), 1));
    } else if (auto s = mlir::dyn_cast<SwigluOp>(op)) {
      env[s.getResult()] = swiglu(get(s.getInput()), wt(s.getWeight()), dim(s.getResult(), 1));
    } else if (auto l = mlir::dyn_cast<RmsNormLinearOp>(op)) {
      env[l.getResult()] = matmul(rms_norm(get(l.getInput()), wt(l.getNormWeight()), l.getEpsilon().convertToDouble()),
                                  wt(l.getWeight()), dim(l.getResult(), 1));
    } else if (auto s = mlir::dyn_cast<RmsNormSwigluOp>(op)) {
      env[s.getResult()] = swiglu(rms_norm(get(s.getInput()), wt(s.getNormWeight()), s.getEpsilon().convertToDouble()),
                                  wt(s.getWeight()), dim(s.getResult(), 1));
    } else if (auto n = mlir::dyn_cast<AddRmsNormOp>(op)) {
      Rows sum = get(n.getLhs());
      const Rows& b = get(n.getRhs());
      for (std::size_t i = 0; i < sum.data.size(); ++i) sum.data[i] += b.data[i];
      env[n.getNormalized()] = rms_norm(sum, wt(n.getWeight()), n.getEpsilon().convertToDouble());
      env[n.getSum()] = std::move(sum);
    } else if (auto s = mlir::dyn_cast<SiluOp>(op)) {
      Rows y = get(s.getInput());
      for (float& x : y.data) x = silu(x);
      env[s.getResult()] = std::move(y);
    } else if (auto m = mlir::dyn_cast<MulOp>(op)) {
      Rows y = get(m.getLhs());
      const Rows& b = get(m.getRhs());
      for (std::size_t i = 0; i < y.data.size(); ++i) y.data[i] *= b.data[i];
      env[m.getResult()] = std::move(y);
    } else if (auto a = mlir::dyn_cast<AddOp>(op)) {
      Rows y = get(a.getLhs());
      const Rows& b = get(a.getRhs());
      for (std::size_t i = 0; i < y.data.size(); ++i) y.data[i] += b.data[i];
      env[a.getResult()] = std::move(y);
    } else if (auto ret = mlir::dyn_cast<mlir::func::ReturnOp>(op)) {
      logits = get(ret.getOperand(0)).data;
    } else {
      throw Error("reference evaluator: unsupported op " + op.getName().getStringRef().str());
    }
  }
  past_ += tokens;
  return logits;
}

}  // namespace qwen3c::q3
