#include "backends/cpu/compiler/schedule.h"

#include <algorithm>
#include <map>

#include "backends/forward_function.h"
#include "ir/Q3.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "passes/Passes.h"
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


class Planner {
 public:
  explicit Planner(mlir::ModuleOp module) : module_(module) {}

  Schedule run() {
    auto size = module_->getAttrOfType<mlir::IntegerAttr>(kArenaSizeAttr);
    if (!size) throw Error("CPU backend: the module has no memory plan (run q3-plan-memory)");
    schedule_.arena_floats_per_token = size.getInt();
    for (auto weight : module_.getOps<q3::WeightOp>()) {
      weight_index_[weight.getSymName().str()] = static_cast<std::int64_t>(schedule_.weights.size());
      schedule_.weights.push_back(weight.getSymName().str());
    }
    const ForwardFunction forward = forward_function(module_);
    ids_ = forward.ids;
    positions_ = forward.positions;
    output_ = forward.logits;
    for (std::size_t i = 0; i < forward.ops.size(); ++i) {
      tail_ = i >= forward.tail_start;
      place_results(forward.ops[i]);
      lower(forward.ops[i]);
    }
    return std::move(schedule_);
  }

 private:
  // Records where the memory plan put the op's results.
  void place_results(Operation* op) {
    auto offsets = op->getAttrOfType<mlir::DenseI64ArrayAttr>(kArenaOffsetsAttr);
    for (unsigned r = 0; r < op->getNumResults(); ++r) {
      Value v = op->getResult(r);
      if (v == output_ || !offsets || offsets[r] < 0) continue;
      buffers_[v] = Operand{Kind::Buffer, offsets[r], row_width(v)};
      if (tail_) in_tail_.insert(v);
    }
  }

  Operand weight(Value v) {
    auto get = v.getDefiningOp<q3::GetWeightOp>();
    if (!get) throw Error("CPU backend: a weight operand is not a q3.get_weight");
    return {Kind::Weight, weight_index_.at(get.getName().str())};
  }
  Operand read(Value v) {
    if (v == ids_) return {Kind::TokenIds};
    if (v == positions_) return {Kind::Positions};
    auto it = buffers_.find(v);
    if (it == buffers_.end()) throw Error("CPU backend: an activation has no place in the memory plan");
    Operand o = it->second;
    o.last_rows_only = tail_ && !in_tail_.contains(v);
    return o;
  }
  Operand write(Value v) {
    if (v == output_) return {Kind::Logits};
    auto it = buffers_.find(v);
    if (it == buffers_.end()) throw Error("CPU backend: a result has no place in the memory plan");
    return it->second;
  }
  // 1 when a norm weight is bf16 (else f32): a constant the kernel branches on.
  static Operand bf16_flag(Value norm) { return integer(element_of(norm).isBF16() ? 1 : 0); }
  static Operand rows(std::int64_t multiplier = 1) { return {Kind::Rows, multiplier}; }
  static Operand integer(std::int64_t v) { return {Kind::Int, v}; }
  static Operand real(double v) { return {Kind::Float, 0, 0, false, v}; }
  static Operand i64(uint64_t v) { return integer(static_cast<std::int64_t>(v)); }
  void need_scratch_per_token(std::int64_t floats) {
    schedule_.scratch_floats_per_token = std::max(schedule_.scratch_floats_per_token, floats);
  }
  // Matrix products convert weight rows to f32 panels (kernels/linear.cpp): eight rows of
  // `in` floats after the per-token scratch.
  void need_panel(std::int64_t in) { schedule_.scratch_floats_fixed = std::max(schedule_.scratch_floats_fixed, 8 * in); }

  // Every kernel ends with (thread, threads): it does its share of the work.
  void emit(std::string kernel, std::vector<Operand> args) {
    args.push_back({Kind::Thread});
    args.push_back({Kind::Threads});
    schedule_.calls.push_back({std::move(kernel), std::move(args), tail_});
  }

  void lower(Operation* op) {
    if (mlir::isa<q3::GetWeightOp, mlir::func::ReturnOp>(op)) return;
    if (auto e = mlir::dyn_cast<q3::EmbeddingOp>(op)) {
      if (tail_) throw Error("CPU backend: embedding after the last attention op");
      emit("q3k_embedding_" + format(e.getTable()),
           {weight(e.getTable()), read(e.getIds()), rows(), integer(row_width(e.getResult())), write(e.getResult())});
    } else if (auto n = mlir::dyn_cast<q3::RmsNormOp>(op)) {
      emit("q3k_rms_norm_" + format(n.getWeight()),
           {read(n.getInput()), weight(n.getWeight()), rows(), integer(row_width(n.getInput())),
            real(n.getEpsilon().convertToDouble()), write(n.getResult())});
    } else if (auto n = mlir::dyn_cast<q3::HeadRmsNormOp>(op)) {
      const std::int64_t head = mlir::cast<mlir::RankedTensorType>(n.getWeight().getType()).getDimSize(0);
      emit("q3k_rms_norm_" + format(n.getWeight()),
           {read(n.getInput()), weight(n.getWeight()), rows(row_width(n.getInput()) / head), integer(head),
            real(n.getEpsilon().convertToDouble()), write(n.getResult())});
    } else if (auto r = mlir::dyn_cast<q3::RopeOp>(op)) {
      const auto head = static_cast<std::int64_t>(r.getHeadDim());
      emit("q3k_rope", {read(r.getInput()), read(r.getPositions()), rows(), integer(row_width(r.getInput()) / head),
                        integer(head), real(r.getTheta().convertToDouble()), {Kind::Scratch}, write(r.getResult())});
    } else if (auto a = mlir::dyn_cast<q3::AttentionOp>(op)) {
      const auto layer = static_cast<std::int64_t>(a.getLayer());
      emit("q3k_attention", {read(a.getQuery()), read(a.getKey()), read(a.getValue()), rows(), {Kind::Past},
                             {Kind::KCache, layer}, {Kind::VCache, layer}, i64(a.getNumHeads()),
                             i64(a.getNumKvHeads()), i64(a.getHeadDim()), real(a.getScale().convertToDouble()),
                             {Kind::Scratch}, write(a.getResult()), {Kind::Barrier}, {Kind::BarrierContext}});
    } else if (auto p = mlir::dyn_cast<q3::QkNormRopeAppendOp>(op)) {
      const auto layer = static_cast<std::int64_t>(p.getLayer());
      emit("q3k_qk_norm_rope_append",
           {read(p.getQuery()), read(p.getKey()), read(p.getValue()), weight(p.getQueryNorm()),
            weight(p.getKeyNorm()), bf16_flag(p.getQueryNorm()), read(p.getPositions()), rows(), {Kind::Past},
            {Kind::KCache, layer}, {Kind::VCache, layer}, i64(p.getNumHeads()), i64(p.getNumKvHeads()),
            i64(p.getHeadDim()), real(p.getEpsilon().convertToDouble()), real(p.getTheta().convertToDouble()),
            {Kind::Scratch}, write(p.getResult())});
      if (element_of(p.getQueryNorm()) != element_of(p.getKeyNorm())) {
        throw Error("CPU backend: q and k norm weights must share a dtype");
      }
    } else if (auto c = mlir::dyn_cast<q3::CachedAttentionOp>(op)) {
      const auto layer = static_cast<std::int64_t>(c.getLayer());
      emit("q3k_cached_attention",
           {read(c.getQuery()), rows(), {Kind::Past}, {Kind::KCache, layer}, {Kind::VCache, layer},
            i64(c.getNumHeads()), i64(c.getNumKvHeads()), i64(c.getHeadDim()), real(c.getScale().convertToDouble()),
            {Kind::Scratch}, write(c.getResult())});
    } else if (auto l = mlir::dyn_cast<q3::LinearOp>(op)) {
      need_panel(row_width(l.getInput()));
      emit("q3k_linear_" + format(l.getWeight()),
           {read(l.getInput()), weight(l.getWeight()), rows(), integer(row_width(l.getInput())),
            integer(row_width(l.getResult())), {Kind::Scratch}, write(l.getResult())});
    } else if (auto s = mlir::dyn_cast<q3::SwigluOp>(op)) {
      need_panel(row_width(s.getInput()));
      emit("q3k_swiglu_" + format(s.getWeight()),
           {read(s.getInput()), weight(s.getWeight()), rows(), integer(row_width(s.getInput())),
            integer(row_width(s.getResult())), {Kind::Scratch}, write(s.getResult())});
    } else if (auto l = mlir::dyn_cast<q3::RmsNormLinearOp>(op)) {
      need_scratch_per_token(row_width(l.getInput()));
      need_panel(row_width(l.getInput()));
      emit("q3k_rms_norm_linear_" + format(l.getWeight()),
           {read(l.getInput()), weight(l.getNormWeight()), bf16_flag(l.getNormWeight()), weight(l.getWeight()), rows(),
            integer(row_width(l.getInput())), integer(row_width(l.getResult())),
            real(l.getEpsilon().convertToDouble()), {Kind::Scratch}, write(l.getResult())});
    } else if (auto s = mlir::dyn_cast<q3::RmsNormSwigluOp>(op)) {
      need_scratch_per_token(row_width(s.getInput()));
      need_panel(row_width(s.getInput()));
      emit("q3k_rms_norm_swiglu_" + format(s.getWeight()),
           {read(s.getInput()), weight(s.getNormWeight()), bf16_flag(s.getNormWeight()), weight(s.getWeight()), rows(),
            integer(row_width(s.getInput())), integer(row_width(s.getResult())),
            real(s.getEpsilon().convertToDouble()), {Kind::Scratch}, write(s.getResult())});
    } else if (auto n = mlir::dyn_cast<q3::AddRmsNormOp>(op)) {
      emit("q3k_add_rms_norm_" + format(n.getWeight()),
           {read(n.getLhs()), read(n.getRhs()), weight(n.getWeight()), rows(), integer(row_width(n.getLhs())),
            real(n.getEpsilon().convertToDouble()), write(n.getSum()), write(n.getNormalized())});
    } else if (auto s = mlir::dyn_cast<q3::SiluOp>(op)) {
      emit("q3k_silu", {read(s.getInput()), rows(), integer(row_width(s.getInput())), write(s.getResult())});
    } else if (auto m = mlir::dyn_cast<q3::MulOp>(op)) {
      emit("q3k_mul", {read(m.getLhs()), read(m.getRhs()), rows(), integer(row_width(m.getLhs())), write(m.getResult())});
    } else if (auto add = mlir::dyn_cast<q3::AddOp>(op)) {
      emit("q3k_add", {read(add.getLhs()), read(add.getRhs()), rows(), integer(row_width(add.getLhs())),
                       write(add.getResult())});
    } else {
      throw Error("CPU backend: unsupported op " + describe(op));
    }
  }

  mlir::ModuleOp module_;
  Schedule schedule_;
  std::map<std::string, std::int64_t> weight_index_;
  llvm::DenseMap<Value, Operand> buffers_;
  llvm::DenseSet<Value> in_tail_;
  Value ids_, positions_, output_;
  bool tail_ = false;
};

}  // namespace

Schedule plan_schedule(mlir::ModuleOp module) { return Planner(module).run(); }

}  // namespace qwen3c::cpu
