// The portable backend, compiler side: the optimised q3 module as a program of kernel calls
// (runtime/program.h) stored in the manifest, and the weights row-major as the shared
// weight writer produces them. The worked example of docs/adding-a-backend.md.

#include "backends/backend.h"
#include "backends/forward_lowering.h"
#include "backends/portable/runtime/program.h"
#include "backends/weight_writer.h"
#include "ir/Q3.h"
#include "ir/rope_scaling.h"

namespace qwen3c::portable {

namespace {

// Each q3 op becomes one Step.
class ProgramLowering : public ForwardLowering {
 public:
  explicit ProgramLowering(mlir::ModuleOp module) : ForwardLowering(module, "portable backend") {}

  Program lower() {
    run();
    program_.arena_floats_per_token = arena_floats_per_token();
    return std::move(program_);
  }

 private:
  Operand read(mlir::Value v) const {
    if (is_ids(v)) return {Operand::Kind::Ids};
    const Place p = input(v);
    return {Operand::Kind::Arena, p.offset, p.width, p.last_rows_only};
  }
  Operand write(mlir::Value v) const {
    if (is_logits(v)) return {Operand::Kind::Logits, 0, row_width(v)};
    const Place p = output(v);
    return {Operand::Kind::Arena, p.offset, p.width};
  }
  Step& add(Kernel kernel, std::vector<Operand> in, std::vector<Operand> out, std::vector<std::int64_t> weights) {
    program_.steps.push_back({kernel, std::move(in), std::move(out), std::move(weights)});
    program_.steps.back().tail = in_tail();
    return program_.steps.back();
  }
  template <class Op>
  void attention_shape(Step& s, Op op) {
    s.heads = static_cast<std::int64_t>(op.getNumHeads());
    s.kv_heads = static_cast<std::int64_t>(op.getNumKvHeads());
    s.head_dim = static_cast<std::int64_t>(op.getHeadDim());
    s.layer = static_cast<std::int64_t>(op.getLayer());
  }

  void visit(q3::EmbeddingOp e) override {
    add(Kernel::Embedding, {read(e.getIds())}, {write(e.getResult())}, {weight_index(e.getTable())});
  }
  void visit(q3::RmsNormOp n) override {
    Step& s = add(Kernel::RmsNorm, {read(n.getInput())}, {write(n.getResult())}, {weight_index(n.getWeight())});
    s.epsilon = n.getEpsilon().convertToDouble();
    s.group = row_width(n.getInput());
  }
  void visit(q3::HeadRmsNormOp n) override {
    Step& s = add(Kernel::RmsNorm, {read(n.getInput())}, {write(n.getResult())}, {weight_index(n.getWeight())});
    s.epsilon = n.getEpsilon().convertToDouble();
    s.group = mlir::cast<mlir::RankedTensorType>(n.getWeight().getType()).getDimSize(0);
  }
  void visit(q3::RopeOp r) override {
    Step& s = add(Kernel::Rope, {read(r.getInput())}, {write(r.getResult())}, {});
    s.head_dim = static_cast<std::int64_t>(r.getHeadDim());
    s.theta = r.getTheta().convertToDouble();
    s.rope = rope_scaling(s.head_dim, s.theta, r.getYarnAttr());
  }
  void visit(q3::AttentionOp a) override {
    require_step_rows(a, a.getPositions(), a.getSlots());
    Step& s = add(Kernel::Attention, {read(a.getQuery()), read(a.getKey()), read(a.getValue())},
                  {write(a.getResult())}, {});
    attention_shape(s, a);
    s.scale = a.getScale().convertToDouble();
  }
  void visit(q3::QkNormRopeAppendOp p) override {
    require_step_rows(p, p.getPositions(), p.getSlots());
    Step& s = add(Kernel::QkNormRopeAppend, {read(p.getQuery()), read(p.getKey()), read(p.getValue())},
                  {write(p.getResult())}, {weight_index(p.getQueryNorm()), weight_index(p.getKeyNorm())});
    attention_shape(s, p);
    s.epsilon = p.getEpsilon().convertToDouble();
    s.theta = p.getTheta().convertToDouble();
    s.rope = rope_scaling(s.head_dim, s.theta, p.getYarnAttr());
  }
  void visit(q3::CachedAttentionOp c) override {
    require_step_rows(c, c.getPositions(), c.getSlots());
    Step& s = add(Kernel::CachedAttention, {read(c.getQuery())}, {write(c.getResult())}, {});
    attention_shape(s, c);
    s.scale = c.getScale().convertToDouble();
  }
  void matmul(q3::MatrixProductOpInterface m, mlir::Value result) {
    std::vector<std::int64_t> weights = {weight_index(m.getWeight())};
    if (mlir::Value norm = m.getFoldedNormWeight()) weights.push_back(weight_index(norm));
    Step& s = add(Kernel::Matmul, {read(m.getInput())}, {write(result)}, weights);
    s.epsilon = m.getFoldedNormEpsilon();
    s.gated = m.isGated() ? 1 : 0;
  }
  void visit(q3::LinearOp l) override { matmul(l, l.getResult()); }
  void visit(q3::SwigluOp s) override { matmul(s, s.getResult()); }
  void visit(q3::RmsNormLinearOp l) override { matmul(l, l.getResult()); }
  void visit(q3::RmsNormSwigluOp s) override { matmul(s, s.getResult()); }
  void visit(q3::AddRmsNormOp n) override {
    Step& s = add(Kernel::AddRmsNorm, {read(n.getLhs()), read(n.getRhs())}, {write(n.getSum()), write(n.getNormalized())},
                  {weight_index(n.getWeight())});
    s.epsilon = n.getEpsilon().convertToDouble();
  }
  void visit(q3::SiluOp s) override { add(Kernel::Silu, {read(s.getInput())}, {write(s.getResult())}, {}); }
  void visit(q3::MulOp m) override { add(Kernel::Mul, {read(m.getLhs()), read(m.getRhs())}, {write(m.getResult())}, {}); }
  void visit(q3::AddOp a) override { add(Kernel::Add, {read(a.getLhs()), read(a.getRhs())}, {write(a.getResult())}, {}); }

  Program program_;
};

// Every format, row-major: the kernels dequantise a weight row at a time.
class PortableBackend : public RowMajorBackend {
 public:
  void lower(mlir::ModuleOp module, const BackendOptions& options, const WeightSource& weights,
             ArtifactWriter& writer) override {
    const Program program = ProgramLowering(module).lower();
    write_weights(module, *this, "portable", options, weights, writer);
    writer.manifest()["backend"] = program.to_json();
  }
};

const BackendRegistration registration("portable",
                                       "the forward step as data, run by plain C++ kernels (no native code generated)",
                                       [] { return std::make_unique<PortableBackend>(); });

}  // namespace

}  // namespace qwen3c::portable
