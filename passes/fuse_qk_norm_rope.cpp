// q3-fuse-qk-norm-rope: attention(rope(head_rms_norm(q)), rope(head_rms_norm(k)), v)
//   -> cached_attention(qk_norm_rope_append(q, k, v, ...)).

#include "mlir/IR/PatternMatch.h"
#include "passes/Passes.h"
#include "passes/pass_utils.h"

namespace qwen3c {
#define GEN_PASS_DEF_FUSEQKNORMROPE
#include "passes/Passes.h.inc"
}  // namespace qwen3c

namespace qwen3c {
namespace {

struct Side {
  q3::RopeOp rope;
  q3::HeadRmsNormOp norm;
};

std::string match_side(mlir::Value v, Side& s, const char* which) {
  s.rope = v.getDefiningOp<q3::RopeOp>();
  if (!s.rope) return std::string(which) + " is not produced by q3.rope";
  s.norm = s.rope.getInput().getDefiningOp<q3::HeadRmsNormOp>();
  if (!s.norm) return std::string(which) + " rope does not read a q3.head_rms_norm";
  if (!has_single_use(s.rope.getResult()) || !has_single_use(s.norm.getResult())) {
    return std::string(which) + " norm or rope has another user";
  }
  return "";
}

std::string match_attention(q3::AttentionOp a, Side& q, Side& k) {
  if (auto why = match_side(a.getQuery(), q, "query"); !why.empty()) return why;
  if (auto why = match_side(a.getKey(), k, "key"); !why.empty()) return why;
  if (q.rope.getPositions() != k.rope.getPositions()) return "query and key rotate at different positions";
  if (q.rope.getPositions() != a.getPositions()) return "the ropes rotate at other positions than the rows attend from";
  if (q.rope.getTheta() != k.rope.getTheta() || q.rope.getHeadDim() != k.rope.getHeadDim() ||
      q.rope.getHeadDim() != a.getHeadDim() || q.rope.getYarnAttr() != k.rope.getYarnAttr()) {
    return "query and key ropes differ in theta, head_dim or scaling";
  }
  if (q.norm.getEpsilon() != k.norm.getEpsilon()) return "query and key norms differ in epsilon";
  return "";
}

// Rooted at the q3.attention whose query and key are normalised and rotated.
struct QkNormRopePattern : mlir::OpRewritePattern<q3::AttentionOp> {
  QkNormRopePattern(mlir::MLIRContext* context, Refusals& refusals) : OpRewritePattern(context), refusals(refusals) {}

  mlir::LogicalResult matchAndRewrite(q3::AttentionOp a, mlir::PatternRewriter& rewriter) const override {
    Side q, k;
    if (std::string why = match_attention(a, q, k); !why.empty()) {
      return refusals.refuse(rewriter, a, "not fused into q3.qk_norm_rope_append: " + why);
    }
    auto prologue = rewriter.create<q3::QkNormRopeAppendOp>(
        a.getLoc(), a.getQuery().getType(), q.norm.getInput(), k.norm.getInput(), a.getValue(), q.norm.getWeight(),
        k.norm.getWeight(), a.getCache(), a.getPositions(), a.getSlots(), a.getLayerAttr(), a.getNumHeadsAttr(),
        a.getNumKvHeadsAttr(), a.getHeadDimAttr(), q.norm.getEpsilonAttr(), q.rope.getThetaAttr(),
        q.rope.getYarnAttr());
    rewriter.replaceOpWithNewOp<q3::CachedAttentionOp>(
        a, a.getType(), prologue.getResult(), a.getCache(), a.getPositions(), a.getSlots(), a.getLayerAttr(),
        a.getNumHeadsAttr(), a.getNumKvHeadsAttr(), a.getHeadDimAttr(), a.getScaleAttr(), a.getIntegerProductsAttr());
    erase_if_dead(rewriter, {q.rope, k.rope, q.norm, k.norm});
    return mlir::success();
  }

  Refusals& refusals;
};

struct FuseQkNormRopePass : impl::FuseQkNormRopeBase<FuseQkNormRopePass> {
  using Base::Base;

  void runOnOperation() override {
    if (mlir::failed(apply_pattern<QkNormRopePattern>(getOperation(), verbose))) signalPassFailure();
  }
};

}  // namespace
}  // namespace qwen3c
