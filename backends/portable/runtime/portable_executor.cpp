// The portable backend, runtime side: interprets the artifact's program (program.h) step
// by step with the plain kernels of kernels.h. One thread; meant for correctness and for
// machines where generating native code is not wanted, not for speed.

#include <algorithm>
#include <vector>

#include "backends/portable/runtime/kernels.h"
#include "backends/portable/runtime/program.h"
#include "runtime/core/error.h"
#include "runtime/core/kv_rounding.h"
#include "runtime/core/kv_type_names.h"
#include "runtime/execution/executor.h"

namespace qwen3c::portable {

namespace {

struct PortableState : ExecutorState {
  std::int64_t slots = 1;
  KvType kv_type = KvType::F32;
  // Per (layer, slot), at layer * slots + slot: [max_context, kv_dim], in f32 holding the
  // values the KV type would store (runtime/core/kv_rounding.h).
  std::vector<std::vector<float>> keys, values;
  std::vector<float> arena;
};

class PortableExecutor : public Executor {
 public:
  PortableExecutor(const Artifact& artifact, WeightStore& store)
      : config_(artifact.config()), program_(Program::from_json(artifact)) {
    for (std::size_t i = 0; i < artifact.tensors().size(); ++i) {
      const ArtifactTensor& t = artifact.tensors()[i];
      WeightView w{store.data(i), t.dtype, t.shape.size() == 2 ? t.shape[0] : 1, t.shape.back()};
      if (t.shape.size() > 2 || t.dtype == DType::F16 || t.dtype == DType::I64) {
        throw Error(artifact.path() + ": tensor '" + t.name + "' is in a form the portable backend does not read");
      }
      weights_.push_back(w);
    }
    for (std::size_t i = 0; i < program_.steps.size(); ++i) check(program_.steps[i], artifact.path(), i);
  }

  std::unique_ptr<ExecutorState> new_state(std::int64_t max_context, std::int64_t slots, KvType kv_type) override {
    require_kv_cache_memory(config_, max_context, slots, KvType::F32);  // stored as f32 whatever the type
    auto state = std::make_unique<PortableState>();
    state->kv_type = kv_type;
    const auto per_sequence = static_cast<std::size_t>(max_context * config_.kv_dim());
    state->slots = slots;
    state->keys.assign(static_cast<std::size_t>(config_.num_layers * slots), std::vector<float>(per_sequence));
    state->values.assign(static_cast<std::size_t>(config_.num_layers * slots), std::vector<float>(per_sequence));
    return state;
  }

  // Every type's numbers, kept in f32 (no memory saved: this backend is for correctness).
  std::vector<KvType> kv_types() const override { return {std::begin(kAllKvTypes), std::end(kAllKvTypes)}; }

  void forward(ExecutorState& base, const ForwardRequest& r) override {
    auto& state = static_cast<PortableState&>(base);
    StepRows rows_now{r, state};
    rows_now.tokens = static_cast<std::int64_t>(r.ids.size());
    rows_now.logit_rows = r.logit_rows;
    state.arena.resize(static_cast<std::size_t>(rows_now.tokens * program_.arena_floats_per_token));
    for (const Step& s : program_.steps) run(s, rows_now);
  }

 private:
  // The step being run: its request, state and row counts.
  struct StepRows {
    const ForwardRequest& request;
    PortableState& state;
    std::int64_t tokens = 0, logit_rows = 0;
  };

  // A row `t` (of the rows the step computes) of an operand.
  float* row(const Operand& o, StepRows& s, std::int64_t t) const {
    if (o.kind == Operand::Kind::Logits) return s.request.logits + t * o.width;
    const std::int64_t first = o.last_rows_only ? s.tokens - s.logit_rows : 0;
    return s.state.arena.data() + o.offset * s.tokens + (first + t) * o.width;
  }
  std::int64_t rows(const Step& step, const StepRows& s) const { return step.tail ? s.logit_rows : s.tokens; }
  // The token row that computed row `t` is (positions and ids are per token).
  std::int64_t token(const Step& step, const StepRows& s, std::int64_t t) const {
    return step.tail ? s.tokens - s.logit_rows + t : t;
  }

  // Row t's sequence in the layer's cache.
  std::size_t sequence(const Step& step, const StepRows& s, std::int64_t t) const {
    return static_cast<std::size_t>(step.layer * s.state.slots + s.request.slots[t]);
  }
  void append(const Step& step, StepRows& s, const float* k, const float* v, std::int64_t t) const {
    const std::int64_t kv = config_.kv_dim(), at = s.request.positions[t];
    float* k_row = s.state.keys[sequence(step, s, t)].data() + at * kv;
    float* v_row = s.state.values[sequence(step, s, t)].data() + at * kv;
    std::copy_n(k, kv, k_row);
    std::copy_n(v, kv, v_row);
    round_kv_row(s.state.kv_type, k_row, kv);
    round_kv_row(s.state.kv_type, v_row, kv);
  }
  void attend_row(const Step& step, StepRows& s, const float* q, std::int64_t t, float* out) const {
    attend(q, s.state.keys[sequence(step, s, t)].data(), s.state.values[sequence(step, s, t)].data(),
           s.request.positions[t], step.heads, step.kv_heads, step.head_dim, step.scale, out, scores_);
  }

  void run(const Step& step, StepRows& s) const {
    const std::int64_t n = rows(step, s);
    auto in = [&](int i, std::int64_t t) { return row(step.inputs[i], s, t); };
    auto out = [&](int i, std::int64_t t) { return row(step.outputs[i], s, t); };
    const std::int64_t width = step.outputs.empty() ? 0 : step.outputs[0].width;
    std::vector<float> a, b;
    for (std::int64_t t = 0; t < n; ++t) {
      const std::int64_t tok = token(step, s, t);
      switch (step.kernel) {
        case Kernel::Embedding:
          weights_[step.weights[0]].row(s.request.ids[tok], out(0, t));
          break;
        case Kernel::RmsNorm:
          rms_norm(in(0, t), width, step.group, weights_[step.weights[0]], step.epsilon, out(0, t));
          break;
        case Kernel::Rope:
          std::copy_n(in(0, t), width, out(0, t));
          rope(out(0, t), width / step.head_dim, step.head_dim, step.theta, step.rope, s.request.positions[tok]);
          break;
        case Kernel::Attention:
          append(step, s, in(1, t), in(2, t), t);
          break;  // attends below, once every row is in the cache
        case Kernel::QkNormRopeAppend: {
          const std::int64_t q = step.heads * step.head_dim, kv = step.kv_heads * step.head_dim;
          a.resize(kv);
          rms_norm(in(0, t), q, step.head_dim, weights_[step.weights[0]], step.epsilon, out(0, t));
          rope(out(0, t), step.heads, step.head_dim, step.theta, step.rope, s.request.positions[tok]);
          rms_norm(in(1, t), kv, step.head_dim, weights_[step.weights[1]], step.epsilon, a.data());
          rope(a.data(), step.kv_heads, step.head_dim, step.theta, step.rope, s.request.positions[tok]);
          append(step, s, a.data(), in(2, t), t);
          break;
        }
        case Kernel::CachedAttention:
          attend_row(step, s, in(0, t), t, out(0, t));
          break;
        case Kernel::Matmul: {
          const WeightView& w = weights_[step.weights[0]];
          const float* x = in(0, t);
          if (step.weights.size() == 2) {  // an RMSNorm folded in front
            a.resize(w.columns);
            rms_norm(x, w.columns, w.columns, weights_[step.weights[1]], step.epsilon, a.data());
            x = a.data();
          }
          b.resize(w.rows);
          matvec(x, w, b.data(), row_buffer_);
          float* y = out(0, t);
          if (step.gated) {
            for (std::int64_t i = 0; i < width; ++i) y[i] = silu(b[i]) * b[width + i];
          } else {
            std::copy_n(b.data(), width, y);
          }
          break;
        }
        case Kernel::AddRmsNorm: {
          float* sum = out(0, t);
          for (std::int64_t i = 0; i < width; ++i) sum[i] = in(0, t)[i] + in(1, t)[i];
          rms_norm(sum, width, width, weights_[step.weights[0]], step.epsilon, out(1, t));
          break;
        }
        case Kernel::Silu:
          for (std::int64_t i = 0; i < width; ++i) out(0, t)[i] = silu(in(0, t)[i]);
          break;
        case Kernel::Mul:
          for (std::int64_t i = 0; i < width; ++i) out(0, t)[i] = in(0, t)[i] * in(1, t)[i];
          break;
        case Kernel::Add:
          for (std::int64_t i = 0; i < width; ++i) out(0, t)[i] = in(0, t)[i] + in(1, t)[i];
          break;
      }
    }
    if (step.kernel == Kernel::Attention) {
      for (std::int64_t t = 0; t < n; ++t) attend_row(step, s, in(0, t), t, out(0, t));
    }
  }

  // What each kernel needs of its operands and weights, checked once at load so a damaged
  // program cannot read or write out of bounds.
  void check(const Step& step, const std::string& path, std::size_t index) const {
    const std::string at = path + ": portable program step " + std::to_string(index) + " (" + kernel_name(step.kernel) + ")";
    auto need = [&](bool ok, const char* what) {
      if (!ok) throw Error(at + ": " + what);
    };
    static const int kInputs[] = {1, 1, 1, 3, 3, 1, 1, 2, 1, 2, 2};
    static const int kOutputs[] = {1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1};
    static const int kWeights[] = {1, 1, 0, 0, 2, 0, -1, 1, 0, 0, 0};
    const int k = static_cast<int>(step.kernel);
    need(step.inputs.size() == static_cast<std::size_t>(kInputs[k]), "wrong number of inputs");
    need(step.outputs.size() == static_cast<std::size_t>(kOutputs[k]), "wrong number of outputs");
    need(kWeights[k] < 0 ? (step.weights.size() == 1 || step.weights.size() == 2)
                         : step.weights.size() == static_cast<std::size_t>(kWeights[k]),
         "wrong number of weights");
    for (const Operand& o : step.inputs) need(o.kind != Operand::Kind::Logits, "reads the logits");
    for (const Operand& o : step.outputs) need(o.kind == Operand::Kind::Arena || o.kind == Operand::Kind::Logits, "writes an input");
    const bool reads_tokens = step.kernel == Kernel::Embedding;
    for (const Operand& o : step.inputs) {
      need((o.kind == Operand::Kind::Ids) == reads_tokens, "ids where they do not belong");
      need(o.kind != Operand::Kind::Positions, "positions are read through the request");
    }
    const std::int64_t width = step.outputs[0].width;
    auto same_width = [&](std::size_t i, std::int64_t w) { need(step.inputs[i].width == w, "operand widths differ"); };
    auto vector_of = [&](std::int64_t w, std::int64_t size) {
      const WeightView& v = weights_[w];
      need(v.rows == 1 && v.columns == size, "norm weight of the wrong size");
    };
    const std::int64_t q = step.heads * step.head_dim, kv = config_.kv_dim();
    switch (step.kernel) {
      case Kernel::Embedding:
        need(weights_[step.weights[0]].columns == width, "table rows of the wrong width");
        need(weights_[step.weights[0]].rows >= config_.vocab_size, "table has fewer rows than the vocabulary");
        break;
      case Kernel::RmsNorm:
        same_width(0, width);
        need(step.group > 0 && width % step.group == 0, "norm group does not divide the row");
        vector_of(step.weights[0], step.group);
        break;
      case Kernel::Rope:
        same_width(0, width);
        need(step.head_dim > 0 && step.head_dim % 2 == 0 && width % step.head_dim == 0, "bad head size");
        break;
      case Kernel::Attention:
        same_width(0, q), same_width(1, kv), same_width(2, kv);
        need(width == q, "output of the wrong width");
        break;
      case Kernel::QkNormRopeAppend:
        same_width(0, q), same_width(1, kv), same_width(2, kv);
        need(width == q && step.head_dim % 2 == 0, "output of the wrong width");
        vector_of(step.weights[0], step.head_dim);
        vector_of(step.weights[1], step.head_dim);
        break;
      case Kernel::CachedAttention:
        same_width(0, q);
        need(width == q, "output of the wrong width");
        break;
      case Kernel::Matmul: {
        const WeightView& w = weights_[step.weights[0]];
        need(w.rows > 1 || w.columns > 0, "not a matrix");
        same_width(0, w.columns);
        need(w.rows == (step.gated ? 2 * width : width), "output of the wrong width");
        if (step.weights.size() == 2) vector_of(step.weights[1], w.columns);
        break;
      }
      case Kernel::AddRmsNorm:
        same_width(0, width), same_width(1, width);
        need(step.outputs[1].width == width, "output of the wrong width");
        vector_of(step.weights[0], width);
        break;
      case Kernel::Silu:
        same_width(0, width);
        break;
      case Kernel::Mul:
      case Kernel::Add:
        same_width(0, width), same_width(1, width);
        break;
    }
  }

  ModelConfig config_;
  Program program_;
  std::vector<WeightView> weights_;
  mutable std::vector<double> scores_;
  mutable std::vector<float> row_buffer_;
};

const ExecutorRegistration registration(
    "portable", [](const Artifact& artifact, WeightStore& weights, const ExecutorOptions& options) {
      if (options.device > 0) {
        throw Error("device " + std::to_string(options.device) + " does not exist: the portable backend runs on device 0");
      }
      return std::make_unique<PortableExecutor>(artifact, weights);
    });

}  // namespace

}  // namespace qwen3c::portable
