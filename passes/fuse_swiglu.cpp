// q3-fuse-swiglu: mul(silu(linear(x, Wg)), linear(x, Wu)) -> swiglu(x, [Wg; Wu]).

#include "passes/Passes.h"
#include "passes/pass_utils.h"
#include "mlir/IR/Builders.h"

namespace qwen3c {
#define GEN_PASS_DEF_FUSESWIGLU
#include "passes/Passes.h.inc"
}  // namespace qwen3c

namespace qwen3c {
namespace {

struct Match {
  q3::SiluOp silu;
  q3::LinearOp gate, up;
  q3::GetWeightOp gate_weight, up_weight;
};

// Why `mul` is not a SwiGLU this pass can fuse, or "" when it is (filling `m`).
std::string match(q3::MulOp mul, Match& m) {
  for (int order = 0; order < 2; ++order) {
    mlir::Value a = order ? mul.getRhs() : mul.getLhs(), b = order ? mul.getLhs() : mul.getRhs();
    m.silu = a.getDefiningOp<q3::SiluOp>();
    m.up = b.getDefiningOp<q3::LinearOp>();
    if (m.silu && m.up) break;
  }
  if (!m.silu || !m.up) return "not silu(linear) * linear";
  m.gate = m.silu.getInput().getDefiningOp<q3::LinearOp>();
  if (!m.gate) return "silu does not read a linear";
  if (!has_single_use(m.silu.getResult()) || !has_single_use(m.gate.getResult()) ||
      !has_single_use(m.up.getResult())) {
    return "gate, up or silu has another user";
  }
  if (m.gate.getInput() != m.up.getInput()) return "gate and up read different inputs";
  m.gate_weight = m.gate.getWeight().getDefiningOp<q3::GetWeightOp>();
  m.up_weight = m.up.getWeight().getDefiningOp<q3::GetWeightOp>();
  if (!m.gate_weight || !m.up_weight) return "a weight is not a q3.get_weight";
  if (m.gate_weight.getType() != m.up_weight.getType()) return "gate and up weights differ in type";
  return "";
}

std::string stacked_name(const std::string& gate) {
  const std::string from = "gate_proj";
  const auto at = gate.find(from);
  return at == std::string::npos ? gate + ".gate_up" : gate.substr(0, at) + "gate_up_proj" + gate.substr(at + from.size());
}

struct FuseSwigluPass : impl::FuseSwigluBase<FuseSwigluPass> {
  using Base::Base;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    std::vector<q3::MulOp> muls;
    module.walk([&](q3::MulOp mul) { muls.push_back(mul); });
    for (q3::MulOp mul : muls) {
      Match m;
      if (std::string why = match(mul, m); !why.empty()) {
        remark(verbose, mul, "not fused into q3.swiglu: " + why);
        continue;
      }
      q3::WeightOp gate_decl = declaration_of(m.gate_weight), up_decl = declaration_of(m.up_weight);
      auto type = mlir::cast<mlir::RankedTensorType>(gate_decl.getType());
      auto stacked_type = mlir::RankedTensorType::get({2 * type.getDimSize(0), type.getDimSize(1)}, type.getElementType());
      std::vector<std::string> sources = sources_of(gate_decl);
      for (const std::string& s : sources_of(up_decl)) sources.push_back(s);

      mlir::OpBuilder b(gate_decl);
      const std::string name = stacked_name(gate_decl.getSymName().str());
      auto stacked = b.create<q3::WeightOp>(gate_decl.getLoc(), name, stacked_type,
                                            b.getStrArrayAttr(llvm::SmallVector<llvm::StringRef>(sources.begin(), sources.end())),
                                            mlir::StringAttr());
      b.setInsertionPoint(mul);
      auto get = b.create<q3::GetWeightOp>(mul.getLoc(), stacked_type, stacked.getSymName());
      auto swiglu = b.create<q3::SwigluOp>(mul.getLoc(), mul.getType(), m.gate.getInput(), get);
      mul.replaceAllUsesWith(swiglu.getResult());
      mul.erase();
      erase_if_dead({m.silu, m.gate, m.up, m.gate_weight, m.up_weight});
    }
    erase_unused_weights(module);
  }
};

}  // namespace
}  // namespace qwen3c
