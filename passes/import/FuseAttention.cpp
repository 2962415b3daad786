//===- FuseAttention.cpp - recognize exported attention subgraphs ----------===//
//
// Exporters write scaled dot-product attention as
//   s = MatMul(q, k^T) [* c | / c] [+ bias] [Where(mask, -inf, s)] ;
//   p = Softmax(s) ; o = MatMul(p, v)
// This pass replaces each such chain with one bb.attention, so that no
// [..., T, S] score tensor is kept for the backward pass (bb.attention_grad
// recomputes the probabilities) and the runtimes can compute it block by
// block.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::bb {
#define GEN_PASS_DEF_FUSEATTENTION
#include "passes/import/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// The value of a splat f32 constant `v`, if it is one.
std::optional<double> splatValue(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !attr.getElementType().isF32())
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// A fill that removes a score from the softmax: -inf, or a value so
/// negative that exp underflows to 0 against any real score (PyTorch
/// exporters write -inf, Hugging Face models float32's lowest, -3.4e38).
bool isRemovalFill(Value v) {
  std::optional<double> x = splatValue(v);
  return x && *x <= -1e9;
}

/// The predicate that is true exactly where `p` is false.
std::optional<ComparePredicate> inverse(ComparePredicate p) {
  switch (p) {
  case ComparePredicate::eq: return ComparePredicate::ne;
  case ComparePredicate::ne: return ComparePredicate::eq;
  case ComparePredicate::lt: return ComparePredicate::ge;
  case ComparePredicate::ge: return ComparePredicate::lt;
  case ComparePredicate::le: return ComparePredicate::gt;
  case ComparePredicate::gt: return ComparePredicate::le;
  }
  return std::nullopt;
}

bool singleUse(Value v) { return v.hasOneUse(); }

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// o = MatMul(Softmax(...), v) at the root; see the file comment.
struct FuseAttentionPattern : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp pv,
                                PatternRewriter &rewriter) const override {
    if (pv.getTransposeLhs() || pv.getTransposeRhs() || pv.getTf32())
      return failure();
    auto softmax = pv.getLhs().getDefiningOp<SoftmaxOp>();
    Value value = pv.getRhs();
    auto outType = typeOf(pv.getOutput());
    int64_t rank = outType.getRank();
    if (!softmax || !singleUse(softmax.getOutput()) || rank < 2 ||
        softmax.getNormalizedAxis() != rank - 1 ||
        typeOf(value).getRank() != rank || !outType.getElementType().isF32())
      return failure();

    // Softmax input: [+ bias] [select(mask, fill, .)] [+ bias] of [scale]
    // of the product (at most one bias; adding it after the mask changes
    // nothing, as -inf + bias is -inf).
    Value scores = softmax.getInput();
    Value mask, bias;
    CompareOp maskCompare; // set when the mask keeps where it is true
    Location loc = pv.getLoc();
    auto scoresType = typeOf(scores);
    // An f32 bias added to the scores (an additive mask, position biases):
    // the add's other operand, when it broadcasts into the scores.
    auto peelBias = [&]() -> LogicalResult {
      auto add = scores.getDefiningOp<AddOp>();
      if (!add || bias)
        return success();
      if (!singleUse(add.getOutput()))
        return failure();
      for (auto [chain, other] : {std::pair(add.getLhs(), add.getRhs()),
                                  std::pair(add.getRhs(), add.getLhs())}) {
        if (typeOf(chain) != scoresType || !typeOf(other).getElementType().isF32() ||
            !isa_and_nonnull<MulOp, DivOp, MatMulOp, SelectOp>(chain.getDefiningOp()))
          continue;
        bias = other;
        scores = chain;
        return success();
      }
      return failure();
    };
    if (failed(peelBias()))
      return failure();
    if (auto select = scores.getDefiningOp<SelectOp>()) {
      if (!singleUse(select.getOutput()))
        return failure();
      Value kept;
      bool removeWhereTrue;
      if (isRemovalFill(select.getOnTrue())) {
        kept = select.getOnFalse();
        removeWhereTrue = true;
      } else if (isRemovalFill(select.getOnFalse())) {
        kept = select.getOnTrue();
        removeWhereTrue = false;
      } else {
        return failure();
      }
      if (typeOf(kept) != scoresType || !singleUse(kept))
        return failure();
      mask = select.getCondition();
      if (!removeWhereTrue) {
        maskCompare = mask.getDefiningOp<CompareOp>();
        if (!maskCompare || !inverse(maskCompare.getPredicate()))
          return failure();
      }
      scores = kept;
      if (failed(peelBias()))
        return failure();
    }
    double scale = 1.0;
    if (auto mul = scores.getDefiningOp<MulOp>()) {
      std::optional<double> c = splatValue(mul.getRhs());
      Value other = mul.getLhs();
      if (!c) {
        c = splatValue(mul.getLhs());
        other = mul.getRhs();
      }
      if (!c || !singleUse(mul.getOutput()) || typeOf(other) != scoresType)
        return failure();
      scale = *c;
      scores = other;
    } else if (auto div = scores.getDefiningOp<DivOp>()) {
      std::optional<double> c = splatValue(div.getRhs());
      if (!c || *c == 0 || !singleUse(div.getOutput()) ||
          typeOf(div.getLhs()) != scoresType)
        return failure();
      scale = 1.0 / *c;
      scores = div.getLhs();
    }
    auto qk = scores.getDefiningOp<MatMulOp>();
    if (!qk || !singleUse(qk.getOutput()) || qk.getTransposeLhs() || qk.getTf32())
      return failure();
    Value query = qk.getLhs(), keyT = qk.getRhs();
    if (typeOf(query).getRank() != rank || typeOf(keyT).getRank() != rank ||
        !typeOf(query).getElementType().isF32() ||
        !typeOf(keyT).getElementType().isF32() ||
        !typeOf(value).getElementType().isF32())
      return failure();
    // Leading dimensions shared (no broadcasting between the three) and
    // a mask that broadcasts to the scores: bb.attention's C1 and C2.
    ArrayRef<int64_t> qs = typeOf(query).getShape(), ks = typeOf(keyT).getShape(),
                      vs = typeOf(value).getShape();
    if (qs.drop_back(2) != ks.drop_back(2) || qs.drop_back(2) != vs.drop_back(2))
      return failure();
    for (Value operand : {mask, bias}) {
      if (!operand)
        continue;
      ArrayRef<int64_t> ms = typeOf(operand).getShape();
      auto joined = broadcastShapes(scoresType.getShape(), ms);
      if (static_cast<int64_t>(ms.size()) > rank || failed(joined) ||
          ArrayRef<int64_t>(*joined) != scoresType.getShape())
        return failure();
    }

    // Matched: build.
    if (maskCompare)
      mask = rewriter.create<CompareOp>(
          maskCompare.getLoc(), *inverse(maskCompare.getPredicate()),
          maskCompare.getLhs(), maskCompare.getRhs());
    // The key as [..., S, D]: the product's rhs when it is transposed
    // already, else the rhs with its last two dimensions swapped (folded
    // into the transpose that made it, when one did).
    Value key = keyT;
    if (!qk.getTransposeRhs()) {
      SmallVector<int64_t> swap;
      for (int64_t i = 0; i < rank; ++i)
        swap.push_back(i);
      std::swap(swap[rank - 1], swap[rank - 2]);
      Value source = keyT;
      SmallVector<int64_t> perm = swap;
      if (auto t = keyT.getDefiningOp<TransposeOp>()) {
        source = t.getInput();
        for (int64_t i = 0; i < rank; ++i)
          perm[i] = t.getPermutation()[swap[i]];
      }
      bool identity = true;
      for (int64_t i = 0; i < rank; ++i)
        identity &= perm[i] == i;
      key = identity ? source
                     : rewriter.create<TransposeOp>(loc, source, perm).getResult();
    }
    auto attention = rewriter.create<AttentionOp>(
        loc, query, key, value, mask, bias, rewriter.getF32FloatAttr(scale),
        /*products=*/TypeAttr());
    rewriter.replaceOp(pv, attention.getOutput());
    return success();
  }
};

struct FuseAttentionPass
    : public mlir::bb::impl::FuseAttentionBase<FuseAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseAttentionPattern>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
