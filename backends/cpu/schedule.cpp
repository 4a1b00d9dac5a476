#include "backends/cpu/schedule.h"

#include <algorithm>
#include <map>

#include "frontend/graph_builder.h"
#include "ir/Q3.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "runtime/error.h"

namespace qwen3c::cpu {

namespace {

using mlir::Operation;
using mlir::Value;
using Kind = Operand::Kind;

std::string describe(Operation* op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << op->getName() << " at " << op->getLoc();
  return text;
}

// bf16 weights are read as bf16; f32 and f16 (widened when the artifact is written) as f32.
std::string weight_suffix(Value weight) {
  auto type = mlir::cast<mlir::RankedTensorType>(weight.getType());
  return type.getElementType().isBF16() ? "bf16" : "f32";
}

std::int64_t row_width(Value v) { return mlir::cast<mlir::RankedTensorType>(v.getType()).getDimSize(1); }

// First-fit placement of activation rows in the arena, by liveness.
class ArenaPlanner {
 public:
  std::int64_t allocate(std::int64_t width) {
    std::sort(live_.begin(), live_.end());
    std::int64_t offset = 0;
    for (const auto& [start, size] : live_) {
      if (start - offset >= width) break;
      offset = std::max(offset, start + size);
    }
    live_.push_back({offset, width});
    peak_ = std::max(peak_, offset + width);
    return offset;
  }
  void release(std::int64_t offset) {
    std::erase_if(live_, [&](const auto& block) { return block.first == offset; });
  }
  std::int64_t peak() const { return peak_; }

 private:
  std::vector<std::pair<std::int64_t, std::int64_t>> live_;  // (offset, width)
  std::int64_t peak_ = 0;
};

class Planner {
 public:
  explicit Planner(mlir::ModuleOp module) : module_(module) {}

  Schedule run() {
    for (auto weight : module_.getOps<q3::WeightOp>()) {
      weight_index_[weight.getSymName().str()] = static_cast<std::int64_t>(schedule_.weights.size());
      schedule_.weights.push_back(weight.getSymName().str());
    }
    auto forward = module_.lookupSymbol<mlir::func::FuncOp>(kForwardFunction);
    if (!forward) throw Error("q3 module has no @forward function");
    auto& body = forward.getBody().front();
    ids_ = body.getArgument(0);
    positions_ = body.getArgument(1);

    std::vector<Operation*> ops;
    for (Operation& op : body) ops.push_back(&op);
    std::size_t tail_start = ops.size();
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (mlir::isa<q3::AttentionOp>(ops[i])) tail_start = i + 1;
      for (Value operand : ops[i]->getOperands()) last_use_[operand] = i;
    }
    if (tail_start == ops.size()) throw Error("q3 @forward has no attention op");
    auto ret = mlir::cast<mlir::func::ReturnOp>(body.getTerminator());
    if (ret.getNumOperands() != 1) throw Error("q3 @forward must return the logits only");
    output_ = ret.getOperand(0);

    for (std::size_t i = 0; i < ops.size(); ++i) {
      tail_ = i >= tail_start;
      lower(ops[i]);
      // Buffers whose last reader has run are free for later values.
      for (Value operand : ops[i]->getOperands()) {
        auto it = buffers_.find(operand);
        if (it != buffers_.end() && last_use_[operand] == i) arena_.release(it->second.value);
      }
    }
    schedule_.arena_floats_per_token = arena_.peak();
    return std::move(schedule_);
  }

 private:
  Operand weight(Value v) {
    auto get = v.getDefiningOp<q3::GetWeightOp>();
    if (!get) throw Error("CPU backend: a weight operand is not a q3.get_weight");
    return {Kind::Weight, weight_index_.at(get.getName().str())};
  }
  Operand read(Value v) {
    if (v == ids_) return {Kind::TokenIds};
    if (v == positions_) return {Kind::Positions};
    auto it = buffers_.find(v);
    if (it == buffers_.end()) throw Error("CPU backend: activation read before it is computed");
    Operand o = it->second;
    o.last_rows_only = tail_ && !in_tail_.count(v);
    return o;
  }
  Operand write(Value v) {
    if (v == output_) return {Kind::Logits};
    Operand o{Kind::Buffer, arena_.allocate(row_width(v)), row_width(v)};
    buffers_[v] = o;
    if (tail_) in_tail_.insert({v, true});
    return o;
  }
  static Operand rows(std::int64_t multiplier = 1) { return {Kind::Rows, multiplier}; }
  static Operand integer(std::int64_t v) { return {Kind::Int, v}; }
  static Operand real(double v) { return {Kind::Float, 0, 0, false, v}; }

  void emit(std::string kernel, std::vector<Operand> args) {
    schedule_.calls.push_back({std::move(kernel), std::move(args), tail_});
  }

  void lower(Operation* op) {
    if (mlir::isa<q3::GetWeightOp, mlir::func::ReturnOp>(op)) return;
    if (auto e = mlir::dyn_cast<q3::EmbeddingOp>(op)) {
      if (tail_) throw Error("CPU backend: embedding after the last attention op");
      emit("q3k_embedding_" + weight_suffix(e.getTable()),
           {weight(e.getTable()), read(e.getIds()), rows(), integer(row_width(e.getResult())),
            write(e.getResult())});
    } else if (auto n = mlir::dyn_cast<q3::RmsNormOp>(op)) {
      emit("q3k_rms_norm_" + weight_suffix(n.getWeight()),
           {read(n.getInput()), weight(n.getWeight()), rows(), integer(row_width(n.getInput())),
            real(n.getEpsilon().convertToDouble()), write(n.getResult())});
    } else if (auto n = mlir::dyn_cast<q3::HeadRmsNormOp>(op)) {
      const std::int64_t head = mlir::cast<mlir::RankedTensorType>(n.getWeight().getType()).getDimSize(0);
      emit("q3k_rms_norm_" + weight_suffix(n.getWeight()),
           {read(n.getInput()), weight(n.getWeight()), rows(row_width(n.getInput()) / head),
            integer(head), real(n.getEpsilon().convertToDouble()), write(n.getResult())});
    } else if (auto r = mlir::dyn_cast<q3::RopeOp>(op)) {
      const auto head = static_cast<std::int64_t>(r.getHeadDim());
      emit("q3k_rope", {read(r.getInput()), read(r.getPositions()), rows(),
                        integer(row_width(r.getInput()) / head), integer(head),
                        real(r.getTheta().convertToDouble()), {Kind::Scratch}, write(r.getResult())});
    } else if (auto a = mlir::dyn_cast<q3::AttentionOp>(op)) {
      const auto layer = static_cast<std::int64_t>(a.getLayer());
      emit("q3k_attention",
           {read(a.getQuery()), read(a.getKey()), read(a.getValue()), rows(), {Kind::Past},
            {Kind::KCache, layer}, {Kind::VCache, layer},
            integer(static_cast<std::int64_t>(a.getNumHeads())),
            integer(static_cast<std::int64_t>(a.getNumKvHeads())),
            integer(static_cast<std::int64_t>(a.getHeadDim())), real(a.getScale().convertToDouble()),
            {Kind::Scratch}, write(a.getResult())});
    } else if (auto l = mlir::dyn_cast<q3::LinearOp>(op)) {
      emit("q3k_linear_" + weight_suffix(l.getWeight()),
           {read(l.getInput()), weight(l.getWeight()), rows(), integer(row_width(l.getInput())),
            integer(row_width(l.getResult())), write(l.getResult())});
    } else if (auto s = mlir::dyn_cast<q3::SiluOp>(op)) {
      emit("q3k_silu", {read(s.getInput()), rows(), integer(row_width(s.getInput())), write(s.getResult())});
    } else if (auto m = mlir::dyn_cast<q3::MulOp>(op)) {
      emit("q3k_mul", {read(m.getLhs()), read(m.getRhs()), rows(), integer(row_width(m.getLhs())),
                       write(m.getResult())});
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
  llvm::DenseMap<Value, std::size_t> last_use_;
  llvm::DenseMap<Value, Operand> buffers_;
  llvm::DenseMap<Value, bool> in_tail_;
  ArenaPlanner arena_;
  Value ids_, positions_, output_;
  bool tail_ = false;
};

}  // namespace

Schedule plan_schedule(mlir::ModuleOp module) { return Planner(module).run(); }

}  // namespace qwen3c::cpu
