#include "backends/cpu/compiler/lowering.h"

#include <algorithm>

#include "backends/cpu/kernels/flash_attention.h"
#include "backends/cpu/kernels/rope.h"
#include "backends/cpu/runtime/packing.h"
#include "backends/forward_lowering.h"
#include "ir/Q3.h"
#include "ir/rope_scaling.h"
#include "runtime/core/error.h"

namespace qwen3c::cpu {

namespace {

using mlir::Operation;
using mlir::Value;
using Kind = Operand::Kind;

// The kernel suffix of a weight's storage format (f16 is widened to f32 when written).
std::string format(Value weight) {
  mlir::Type e = element_of(weight);
  if (e.isBF16()) return "bf16";
  if (mlir::isa<q3::Q8_0Type>(e)) return "q8_0";
  if (mlir::isa<q3::Q4_0Type>(e)) return "q4_0";
  return "f32";
}

bool same(const Operand& a, const Operand& b) {
  return a.kind == b.kind && a.value == b.value && a.width == b.width && a.last_rows_only == b.last_rows_only &&
         a.real == b.real;
}
// Whether two activations' places in the arena share floats.
bool overlap(const Operand& a, const Operand& b) { return a.value < b.value + b.width && b.value < a.value + a.width; }

// Three packed products of one input in a row (a layer's q, k and v projections) become one
// call of the kernel's `linear3` form: the activations are rounded once, the threads claim
// pieces across all three matrices (the short key and value products alone ran 15-25% under
// the long products' read rate, each starting cold and ending in a tail), and two barriers
// go. Each group's sums come from the same tiles, so the results do not change.
std::vector<KernelCall> merge_shared_input_products(std::vector<KernelCall> calls) {
  // Operand positions: [x, (norm, bf16 flag,) w, rows, in, out_features, (eps,) fast, scratch, out, ...].
  struct Form {
    std::string prefix;
    std::size_t weight, out_features, out;
  };
  const Form forms[] = {{"q3k_packed_linear_", 1, 4, 7}, {"q3k_packed_rms_norm_linear_", 3, 6, 10}};
  auto form_of = [&](const KernelCall& c) -> const Form* {
    for (const Form& f : forms) {
      if (c.kernel.rfind(f.prefix, 0) == 0 && c.args.size() == f.out + 4) return &f;
    }
    return nullptr;
  };
  // Every operand but the weight, the row count and the output equal; the outputs in the
  // activation arena (not the logits), apart from each other and from the input.
  auto mergeable = [&](const KernelCall& a, const KernelCall& b, const Form& f) {
    if (a.kernel != b.kernel || a.tail != b.tail || a.args.size() != b.args.size()) return false;
    for (std::size_t i = 0; i < f.out; ++i) {
      if (i != f.weight && i != f.out_features && !same(a.args[i], b.args[i])) return false;
    }
    const Operand &in = a.args[0], &out_a = a.args[f.out], &out_b = b.args[f.out];
    return in.kind == Kind::Buffer && out_a.kind == Kind::Buffer && out_b.kind == Kind::Buffer &&
           !overlap(out_a, out_b) && !overlap(out_a, in) && !overlap(out_b, in);
  };
  std::vector<KernelCall> merged;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const Form* f = form_of(calls[i]);
    if (f == nullptr || i + 2 >= calls.size() || !mergeable(calls[i], calls[i + 1], *f) ||
        !mergeable(calls[i], calls[i + 2], *f) || !mergeable(calls[i + 1], calls[i + 2], *f)) {
      merged.push_back(std::move(calls[i]));
      continue;
    }
    const KernelCall* three[] = {&calls[i], &calls[i + 1], &calls[i + 2]};
    KernelCall call{f->prefix.substr(0, f->prefix.size() - 1) + "3_" + calls[i].kernel.substr(f->prefix.size()), {},
                    calls[i].tail};
    const std::vector<Operand>& args = calls[i].args;
    call.args.assign(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(f->weight));
    for (const KernelCall* c : three) call.args.push_back(c->args[f->weight]);
    call.args.insert(call.args.end(), args.begin() + static_cast<std::ptrdiff_t>(f->weight) + 1,
                     args.begin() + static_cast<std::ptrdiff_t>(f->out_features));
    for (const KernelCall* c : three) call.args.push_back(c->args[f->out_features]);
    call.args.insert(call.args.end(), args.begin() + static_cast<std::ptrdiff_t>(f->out_features) + 1,
                     args.begin() + static_cast<std::ptrdiff_t>(f->out));
    for (const KernelCall* c : three) call.args.push_back(c->args[f->out]);
    call.args.insert(call.args.end(), args.begin() + static_cast<std::ptrdiff_t>(f->out) + 1, args.end());
    merged.push_back(std::move(call));
    i += 2;
  }
  // A claimed call's counter is its index in the schedule.
  for (std::size_t i = 0; i < merged.size(); ++i) {
    for (Operand& o : merged[i].args) {
      if (o.kind == Kind::WorkCounter) o.value = static_cast<std::int64_t>(i);
    }
  }
  return merged;
}

// Each q3 op becomes a call of a q3k_* kernel with its operands.
class ScheduleLowering : public ForwardLowering {
 public:
  explicit ScheduleLowering(mlir::ModuleOp module) : ForwardLowering(module, "CPU backend") {}

  Schedule lower() {
    run();
    schedule_.calls = merge_shared_input_products(std::move(schedule_.calls));
    schedule_.arena_floats_per_token = arena_floats_per_token();
    schedule_.weights = weight_names();
    return std::move(schedule_);
  }

 private:
  Operand weight(Value v) const { return {Kind::Weight, weight_index(v)}; }
  Operand read(Value v) const {
    if (is_ids(v)) return {Kind::TokenIds};
    if (is_positions(v)) return {Kind::Positions};
    if (is_slots(v)) return {Kind::Slots};
    const Place p = input(v);
    return {Kind::Buffer, p.offset, p.width, p.last_rows_only};
  }
  Operand write(Value v) const {
    if (is_logits(v)) return {Kind::Logits};
    const Place p = output(v);
    return {Kind::Buffer, p.offset, p.width};
  }
  // 1 when a norm weight is bf16 (else f32): a constant the kernel branches on.
  static Operand bf16_flag(Value norm) { return integer(element_of(norm).isBF16() ? 1 : 0); }
  static Operand rows(std::int64_t multiplier = 1) { return {Kind::Rows, multiplier}; }
  static Operand integer(std::int64_t v) { return {Kind::Int, v}; }
  static Operand real(double v) { return {Kind::Float, 0, 0, false, v}; }
  static Operand real(llvm::APFloat v) { return real(v.convertToDouble()); }
  static Operand i64(uint64_t v) { return integer(static_cast<std::int64_t>(v)); }
  void need_scratch_per_token(std::int64_t floats) {
    schedule_.scratch_floats_per_token = std::max(schedule_.scratch_floats_per_token, floats);
  }
  // Matrix products convert weight rows to f32 panels (kernels/linear.cpp): eight rows of
  // `in` floats after the per-token scratch.
  void need_panel(std::int64_t in) { need_fixed_scratch(8 * in); }
  void need_fixed_scratch(std::int64_t floats) {
    schedule_.scratch_floats_fixed = std::max(schedule_.scratch_floats_fixed, floats);
  }

  // Every kernel ends with (thread, threads): it does its share of the work. Kernels that
  // claim their work as they go (the packed matrix products) also take the call's counter.
  enum class Shares { Fixed, Claimed };
  void emit(std::string kernel, std::vector<Operand> args, Shares shares = Shares::Fixed) {
    args.push_back({Kind::Thread});
    args.push_back({Kind::Threads});
    if (shares == Shares::Claimed) args.push_back({Kind::WorkCounter, static_cast<std::int64_t>(schedule_.calls.size())});
    schedule_.calls.push_back({std::move(kernel), std::move(args), in_tail()});
  }

  bool packed(Value weight) const {
    auto layout = weight_declaration(weight).getLayout();
    return layout && is_packed_layout(layout->str());
  }

  void visit(q3::EmbeddingOp e) override {
    if (packed(e.getTable())) {
      const std::int64_t table_rows = mlir::cast<mlir::RankedTensorType>(e.getTable().getType()).getDimSize(0);
      emit("q3k_packed_embedding_" + format(e.getTable()), {weight(e.getTable()), read(e.getIds()), rows(),
                                                            integer(table_rows), integer(row_width(e.getResult())),
                                                            write(e.getResult())});
      return;
    }
    emit("q3k_embedding_" + format(e.getTable()),
         {weight(e.getTable()), read(e.getIds()), rows(), integer(row_width(e.getResult())), write(e.getResult())});
  }
  void visit(q3::RmsNormOp n) override {
    emit("q3k_rms_norm_" + format(n.getWeight()), {read(n.getInput()), weight(n.getWeight()), rows(),
                                                   integer(row_width(n.getInput())), real(n.getEpsilon()),
                                                   write(n.getResult())});
  }
  void visit(q3::HeadRmsNormOp n) override {
    const std::int64_t head = mlir::cast<mlir::RankedTensorType>(n.getWeight().getType()).getDimSize(0);
    emit("q3k_rms_norm_" + format(n.getWeight()), {read(n.getInput()), weight(n.getWeight()),
                                                   rows(row_width(n.getInput()) / head), integer(head),
                                                   real(n.getEpsilon()), write(n.getResult())});
  }
  // theta, then YaRN's factor (0: none), ramp and attention factor (kernels/rope.cpp).
  static std::vector<Operand> rope_arguments(std::int64_t head_dim, llvm::APFloat theta, q3::YarnAttr yarn) {
    const RopeScaling s = rope_scaling(head_dim, theta.convertToDouble(), yarn);
    return {real(theta), real(s.factor), real(s.ramp_low), real(s.ramp_span), real(s.attention_factor)};
  }
  static void append(std::vector<Operand>& args, const std::vector<Operand>& more) {
    args.insert(args.end(), more.begin(), more.end());
  }

  void visit(q3::RopeOp r) override {
    const auto head = static_cast<std::int64_t>(r.getHeadDim());
    std::vector<Operand> args{read(r.getInput()), read(r.getPositions()), rows(),
                              integer(row_width(r.getInput()) / head), integer(head)};
    append(args, rope_arguments(head, r.getTheta(), r.getYarnAttr()));
    need_fixed_scratch(q3k::rope_scratch_floats(head));
    args.insert(args.end(), {{Kind::Scratch}, write(r.getResult())});
    emit("q3k_rope", std::move(args));
  }
  // The tiled attention's tiles live in the thread's scratch (kernels/flash_attention.h).
  void need_attention_scratch(std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim) {
    if (!q3k::flash_attention_applies(heads, kv_heads, head_dim)) return;
    need_fixed_scratch(q3k::flash_attention_scratch(head_dim));
  }

  void visit(q3::AttentionOp a) override {
    require_step_rows(a, a.getPositions(), a.getSlots());
    need_attention_scratch(a.getNumHeads(), a.getNumKvHeads(), a.getHeadDim());
    const auto layer = static_cast<std::int64_t>(a.getLayer());
    emit("q3k_attention", {read(a.getQuery()), read(a.getKey()), read(a.getValue()), read(a.getPositions()),
                           read(a.getSlots()), rows(), {Kind::KCache, layer}, {Kind::VCache, layer}, {Kind::KvType},
                           i64(a.getNumHeads()),
                           i64(a.getNumKvHeads()), i64(a.getHeadDim()), real(a.getScale()),
                           integer(a.getIntegerProducts() ? 1 : 0), {Kind::Scratch}, write(a.getResult()),
                           {Kind::Barrier}, {Kind::BarrierContext}});
  }
  void visit(q3::QkNormRopeAppendOp p) override {
    require_step_rows(p, p.getPositions(), p.getSlots());
    const auto layer = static_cast<std::int64_t>(p.getLayer());
    std::vector<Operand> args{read(p.getQuery()), read(p.getKey()), read(p.getValue()), weight(p.getQueryNorm()),
                              weight(p.getKeyNorm()), bf16_flag(p.getQueryNorm()), read(p.getPositions()),
                              read(p.getSlots()), rows(), {Kind::KCache, layer}, {Kind::VCache, layer},
                              {Kind::KvType}, i64(p.getNumHeads()), i64(p.getNumKvHeads()), i64(p.getHeadDim()),
                              real(p.getEpsilon())};
    append(args, rope_arguments(static_cast<std::int64_t>(p.getHeadDim()), p.getTheta(), p.getYarnAttr()));
    need_fixed_scratch(q3k::rope_scratch_floats(static_cast<std::int64_t>(p.getHeadDim())));
    args.insert(args.end(), {{Kind::Scratch}, write(p.getResult())});
    emit("q3k_qk_norm_rope_append", std::move(args));
  }
  void visit(q3::CachedAttentionOp c) override {
    require_step_rows(c, c.getPositions(), c.getSlots());
    need_attention_scratch(c.getNumHeads(), c.getNumKvHeads(), c.getHeadDim());
    const auto layer = static_cast<std::int64_t>(c.getLayer());
    emit("q3k_cached_attention",
         {read(c.getQuery()), read(c.getPositions()), read(c.getSlots()), rows(), {Kind::KCache, layer},
          {Kind::VCache, layer}, {Kind::KvType},
          i64(c.getNumHeads()), i64(c.getNumKvHeads()), i64(c.getHeadDim()), real(c.getScale()),
          integer(c.getIntegerProducts() ? 1 : 0), {Kind::Scratch}, write(c.getResult())});
  }
  // linear, swiglu and their norm-folded forms: one kernel family each, over the packed
  // layouts (kernels/packed_matmul.cpp) or, for the row-major ones, kernels/linear.cpp.
  void matrix_product(q3::MatrixProductOpInterface m, Value result) {
    if (packed(m.getWeight())) return packed_product(m, result);
    const std::int64_t in = row_width(m.getInput());
    need_panel(in);
    const std::string kernel = std::string(m.isGated() ? "swiglu_" : "linear_") + format(m.getWeight());
    if (Value norm = m.getFoldedNormWeight()) {
      need_scratch_per_token(in);
      emit("q3k_rms_norm_" + kernel,
           {read(m.getInput()), weight(norm), bf16_flag(norm), weight(m.getWeight()), rows(), integer(in),
            integer(row_width(result)), real(m.getFoldedNormEpsilon()), {Kind::Scratch}, write(result)});
    } else {
      emit("q3k_" + kernel, {read(m.getInput()), weight(m.getWeight()), rows(), integer(in),
                             integer(row_width(result)), {Kind::Scratch}, write(result)});
    }
  }
  void packed_product(q3::MatrixProductOpInterface m, Value result) {
    const std::int64_t in = row_width(m.getInput());
    const Operand fast = integer(m.getActivationRounding().empty() ? 0 : 1);
    const std::string kernel = std::string(m.isGated() ? "swiglu_" : "linear_") + format(m.getWeight());
    need_scratch_per_token(3 * in + 64);  // normalised rows, rounded or prepared activations, sums
    if (Value norm = m.getFoldedNormWeight()) {
      emit("q3k_packed_rms_norm_" + kernel,
           {read(m.getInput()), weight(norm), bf16_flag(norm), weight(m.getWeight()), rows(), integer(in),
            integer(row_width(result)), real(m.getFoldedNormEpsilon()), fast, {Kind::Scratch}, write(result)},
           Shares::Claimed);
    } else {
      emit("q3k_packed_" + kernel,
           {read(m.getInput()), weight(m.getWeight()), rows(), integer(in), integer(row_width(result)), fast,
            {Kind::Scratch}, write(result)},
           Shares::Claimed);
    }
  }
  void visit(q3::LinearOp l) override { matrix_product(l, l.getResult()); }
  void visit(q3::SwigluOp s) override { matrix_product(s, s.getResult()); }
  void visit(q3::RmsNormLinearOp l) override { matrix_product(l, l.getResult()); }
  void visit(q3::RmsNormSwigluOp s) override { matrix_product(s, s.getResult()); }
  void visit(q3::AddRmsNormOp n) override {
    emit("q3k_add_rms_norm_" + format(n.getWeight()),
         {read(n.getLhs()), read(n.getRhs()), weight(n.getWeight()), rows(), integer(row_width(n.getLhs())),
          real(n.getEpsilon()), write(n.getSum()), write(n.getNormalized())});
  }
  void visit(q3::SiluOp s) override {
    emit("q3k_silu", {read(s.getInput()), rows(), integer(row_width(s.getInput())), write(s.getResult())});
  }
  void visit(q3::MulOp m) override {
    emit("q3k_mul", {read(m.getLhs()), read(m.getRhs()), rows(), integer(row_width(m.getLhs())), write(m.getResult())});
  }
  void visit(q3::AddOp a) override {
    emit("q3k_add", {read(a.getLhs()), read(a.getRhs()), rows(), integer(row_width(a.getLhs())), write(a.getResult())});
  }

  Schedule schedule_;
};

}  // namespace

Schedule lower_to_schedule(mlir::ModuleOp module) { return ScheduleLowering(module).lower(); }

}  // namespace qwen3c::cpu
