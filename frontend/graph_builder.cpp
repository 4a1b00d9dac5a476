#include "frontend/graph_builder.h"

#include <cmath>

#include "ir/Q3.h"
#include "ir/rope_scaling.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace qwen3c {

namespace {

using mlir::RankedTensorType;
using mlir::Type;
using mlir::Value;

class GraphBuilder {
 public:
  GraphBuilder(mlir::MLIRContext& context, const ModelConfig& config,
               const std::map<std::string, DType>& weight_dtypes)
      : b_(&context), c_(config), weight_dtypes_(weight_dtypes) {}

  mlir::OwningOpRef<mlir::ModuleOp> build() {
    auto loc = b_.getUnknownLoc();
    mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(loc);
    module->getOperation()->setAttr("q3.model", model_attribute());
    b_.setInsertionPointToEnd(module->getBody());
    for (const WeightSpec& spec : expected_weights(c_)) declare_weight(spec);
    build_forward(loc);
    return module;
  }

 private:
  mlir::DictionaryAttr model_attribute() {
    llvm::SmallVector<mlir::NamedAttribute> fields = {
        b_.getNamedAttr("vocab_size", b_.getI64IntegerAttr(c_.vocab_size)),
        b_.getNamedAttr("hidden_size", b_.getI64IntegerAttr(c_.hidden_size)),
        b_.getNamedAttr("intermediate_size", b_.getI64IntegerAttr(c_.intermediate_size)),
        b_.getNamedAttr("num_layers", b_.getI64IntegerAttr(c_.num_layers)),
        b_.getNamedAttr("num_heads", b_.getI64IntegerAttr(c_.num_heads)),
        b_.getNamedAttr("num_kv_heads", b_.getI64IntegerAttr(c_.num_kv_heads)),
        b_.getNamedAttr("head_dim", b_.getI64IntegerAttr(c_.head_dim)),
        b_.getNamedAttr("max_position_embeddings",
                        b_.getI64IntegerAttr(c_.max_position_embeddings)),
        b_.getNamedAttr("rms_norm_eps", b_.getF64FloatAttr(c_.rms_norm_eps)),
        b_.getNamedAttr("rope_theta", b_.getF64FloatAttr(c_.rope_theta)),
        b_.getNamedAttr("tie_word_embeddings", b_.getBoolAttr(c_.tie_word_embeddings)),
        b_.getNamedAttr("bos_token_id", b_.getI64IntegerAttr(c_.bos_token_id)),
        b_.getNamedAttr("eos_token_id", b_.getI64IntegerAttr(c_.eos_token_id)),
    };
    if (c_.yarn) fields.push_back(b_.getNamedAttr("rope_scaling", yarn_attr(b_.getContext(), *c_.yarn)));
    return b_.getDictionaryAttr(fields);
  }

  Type element_type(DType dtype) {
    switch (dtype) {
      case DType::BF16:
        return b_.getBF16Type();
      case DType::F16:
        return b_.getF16Type();
      case DType::F32:
        return b_.getF32Type();
      case DType::I64:
        break;
    }
    return {};
  }

  void declare_weight(const WeightSpec& spec) {
    auto it = weight_dtypes_.find(spec.name);
    DType dtype = it != weight_dtypes_.end() ? it->second : c_.dtype;
    auto type = RankedTensorType::get(spec.shape, element_type(dtype));
    b_.create<q3::WeightOp>(b_.getUnknownLoc(), spec.name, type, mlir::ArrayAttr(), mlir::StringAttr());
    weight_types_[spec.name] = type;
  }

  Value weight(const std::string& name) {
    return b_.create<q3::GetWeightOp>(loc_, weight_types_.at(name), name);
  }

  RankedTensorType rows(std::int64_t width) {
    return RankedTensorType::get({mlir::ShapedType::kDynamic, width}, b_.getF32Type());
  }

  Value rms_norm(Value x, const std::string& weight_name) {
    return b_.create<q3::RmsNormOp>(loc_, x.getType(), x, weight(weight_name),
                                    b_.getF64FloatAttr(c_.rms_norm_eps));
  }

  Value linear(Value x, const std::string& weight_name) {
    Value w = weight(weight_name);
    auto out = mlir::cast<RankedTensorType>(w.getType()).getDimSize(0);
    return b_.create<q3::LinearOp>(loc_, rows(out), x, w, mlir::StringAttr());
  }

  // q/k projection, per-head RMSNorm, then rotary embedding.
  Value project_norm_rope(Value x, Value positions, std::int64_t layer, const char* proj,
                          const char* norm) {
    Value y = linear(x, layer_weight_name(layer, proj));
    y = b_.create<q3::HeadRmsNormOp>(loc_, y.getType(), y, weight(layer_weight_name(layer, norm)),
                                     b_.getF64FloatAttr(c_.rms_norm_eps));
    return b_.create<q3::RopeOp>(loc_, y.getType(), y, positions, b_.getI64IntegerAttr(c_.head_dim),
                                 b_.getF64FloatAttr(c_.rope_theta),
                                 c_.yarn ? yarn_attr(b_.getContext(), *c_.yarn) : q3::YarnAttr());
  }

  Value decoder_layer(Value h, Value positions, Value slots, Value cache, std::int64_t i) {
    loc_ = mlir::NameLoc::get(b_.getStringAttr("model.layers." + std::to_string(i)));
    Value x = rms_norm(h, layer_weight_name(i, "input_layernorm.weight"));
    Value q = project_norm_rope(x, positions, i, "self_attn.q_proj.weight", "self_attn.q_norm.weight");
    Value k = project_norm_rope(x, positions, i, "self_attn.k_proj.weight", "self_attn.k_norm.weight");
    Value v = linear(x, layer_weight_name(i, "self_attn.v_proj.weight"));
    Value attn = b_.create<q3::AttentionOp>(
        loc_, q.getType(), q, k, v, cache, positions, slots, b_.getI64IntegerAttr(i),
        b_.getI64IntegerAttr(c_.num_heads), b_.getI64IntegerAttr(c_.num_kv_heads),
        b_.getI64IntegerAttr(c_.head_dim),
        b_.getF64FloatAttr(1.0 / std::sqrt(static_cast<double>(c_.head_dim))), /*integer_products=*/nullptr);
    Value o = linear(attn, layer_weight_name(i, "self_attn.o_proj.weight"));
    h = b_.create<q3::AddOp>(loc_, h.getType(), h, o);

    x = rms_norm(h, layer_weight_name(i, "post_attention_layernorm.weight"));
    Value gate = linear(x, layer_weight_name(i, "mlp.gate_proj.weight"));
    Value up = linear(x, layer_weight_name(i, "mlp.up_proj.weight"));
    Value act = b_.create<q3::SiluOp>(loc_, gate.getType(), gate);
    Value prod = b_.create<q3::MulOp>(loc_, act.getType(), act, up);
    Value down = linear(prod, layer_weight_name(i, "mlp.down_proj.weight"));
    return b_.create<q3::AddOp>(loc_, h.getType(), h, down);
  }

  void build_forward(mlir::Location loc) {
    auto ids_type = RankedTensorType::get({mlir::ShapedType::kDynamic}, b_.getI64Type());
    auto cache_type = q3::KVCacheType::get(b_.getContext(), c_.num_layers, c_.num_kv_heads,
                                           c_.head_dim, b_.getF32Type());
    auto logits_type = rows(c_.vocab_size);
    // Each row of a step: its token id, its position and the sequence (cache slot) it
    // belongs to, so that one step can advance several sequences.
    auto func_type = b_.getFunctionType({ids_type, ids_type, ids_type, cache_type}, {logits_type});
    auto func = b_.create<mlir::func::FuncOp>(loc, kForwardFunction, func_type);
    func.setArgAttr(0, "q3.name", b_.getStringAttr("token_ids"));
    func.setArgAttr(1, "q3.name", b_.getStringAttr("positions"));
    func.setArgAttr(2, "q3.name", b_.getStringAttr("slots"));
    func.setArgAttr(3, "q3.name", b_.getStringAttr("kv_cache"));
    mlir::Block* entry = func.addEntryBlock();
    b_.setInsertionPointToStart(entry);
    Value ids = entry->getArgument(0), positions = entry->getArgument(1), slots = entry->getArgument(2),
          cache = entry->getArgument(3);

    loc_ = mlir::NameLoc::get(b_.getStringAttr("model.embed_tokens"));
    Value table = weight(kEmbedTokens);
    Value h = b_.create<q3::EmbeddingOp>(loc_, rows(c_.hidden_size), table, ids);
    for (std::int64_t i = 0; i < c_.num_layers; ++i) h = decoder_layer(h, positions, slots, cache, i);

    loc_ = mlir::NameLoc::get(b_.getStringAttr("lm_head"));
    Value x = rms_norm(h, kFinalNorm);
    Value logits = linear(x, c_.tie_word_embeddings ? kEmbedTokens : kLmHead);
    b_.create<mlir::func::ReturnOp>(loc_, logits);
  }

  mlir::OpBuilder b_;
  const ModelConfig& c_;
  const std::map<std::string, DType>& weight_dtypes_;
  std::map<std::string, RankedTensorType> weight_types_;
  mlir::Location loc_ = b_.getUnknownLoc();
};

}  // namespace

mlir::OwningOpRef<mlir::ModuleOp> build_qwen3_module(
    mlir::MLIRContext& context, const ModelConfig& config,
    const std::map<std::string, DType>& weight_dtypes) {
  return GraphBuilder(context, config, weight_dtypes).build();
}

}  // namespace qwen3c
