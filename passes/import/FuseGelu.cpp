//===- FuseGelu.cpp - recognize exported GELU subgraphs --------------------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::bb {
#define GEN_PASS_DEF_FUSEGELU
#include "passes/import/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// True when `v` is a splat float constant equal to `expected` as rounded to
/// the constant's own type (so f16/bf16 models match), or within 1e-4 of it.
bool isSplat(Value v, double expected) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()))
    return false;
  APFloat value = attr.getSplatValue<APFloat>();
  APFloat rounded(expected);
  bool lost;
  rounded.convert(value.getSemantics(), APFloat::rmNearestTiesToEven, &lost);
  double x = value.convertToDouble(), r = rounded.convertToDouble();
  double ulp = std::fabs(r) * std::ldexp(1.0, -static_cast<int>(
                   APFloat::semanticsPrecision(value.getSemantics())) + 1);
  return std::fabs(x - r) <= std::max(ulp, 1e-4 * std::max(1.0, std::fabs(expected)));
}

/// Matches a binary op of type OpT with one operand satisfying `pred` (tried
/// in both orders when commutative); returns the other operand.
template <typename OpT>
Value otherOperand(Value v, llvm::function_ref<bool(Value)> pred) {
  auto op = v.getDefiningOp<OpT>();
  if (!op)
    return {};
  if (pred(op.getRhs()))
    return op.getLhs();
  if (OpT::template hasTrait<OpTrait::IsCommutative>() && pred(op.getLhs()))
    return op.getRhs();
  return {};
}

/// Finds x such that `v` computes `1 + erf(x / sqrt(2))` (or `x * (1/sqrt 2)`).
Value matchErfTerm(Value v) {
  Value erfOut = otherOperand<AddOp>(v, [](Value c) { return isSplat(c, 1.0); });
  auto erf = erfOut ? erfOut.getDefiningOp<ErfOp>() : ErfOp();
  if (!erf)
    return {};
  Value scaled = erf.getInput();
  if (Value x = otherOperand<DivOp>(scaled, [](Value c) { return isSplat(c, std::sqrt(2.0)); }))
    return x;
  return otherOperand<MulOp>(scaled, [](Value c) { return isSplat(c, 1.0 / std::sqrt(2.0)); });
}

/// Finds x such that `v` computes `1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))`.
Value matchTanhTerm(Value v) {
  Value tanhOut = otherOperand<AddOp>(v, [](Value c) { return isSplat(c, 1.0); });
  auto tanh = tanhOut ? tanhOut.getDefiningOp<TanhOp>() : TanhOp();
  if (!tanh)
    return {};
  Value inner = otherOperand<MulOp>(tanh.getInput(), [](Value c) {
    return isSplat(c, std::sqrt(2.0 / M_PI));
  });
  auto add = inner ? inner.getDefiningOp<AddOp>() : AddOp();
  if (!add)
    return {};
  for (auto [x, cubic] : {std::pair(add.getLhs(), add.getRhs()),
                          std::pair(add.getRhs(), add.getLhs())}) {
    Value cube = otherOperand<MulOp>(cubic, [](Value c) { return isSplat(c, 0.044715); });
    if (!cube)
      continue;
    Value base = otherOperand<PowOp>(cube, [](Value c) { return isSplat(c, 3.0); });
    if (base == x)
      return x;
  }
  return {};
}

/// Root: mul(mul(x, term), 0.5) or mul(x, mul(term, 0.5)) or mul(mul(x, 0.5), term).
struct FuseGeluPattern : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp root,
                                PatternRewriter &rewriter) const override {
    auto half = [](Value c) { return isSplat(c, 0.5); };
    // Collect the three factors of the product: {x, term, 0.5} in any grouping.
    SmallVector<Value, 3> factors;
    bool expanded = false;
    for (Value operand : {root.getLhs(), root.getRhs()}) {
      auto inner = operand.getDefiningOp<MulOp>();
      if (inner && !expanded && operand.hasOneUse()) {
        expanded = true;
        factors.push_back(inner.getLhs());
        factors.push_back(inner.getRhs());
      } else {
        factors.push_back(operand);
      }
    }
    if (factors.size() != 3)
      return failure();
    auto halfIt = llvm::find_if(factors, half);
    if (halfIt == factors.end())
      return failure();
    factors.erase(halfIt);
    for (auto [x, term] : {std::pair(factors[0], factors[1]),
                           std::pair(factors[1], factors[0])}) {
      GeluApproximation approx;
      if (matchErfTerm(term) == x)
        approx = GeluApproximation::none;
      else if (matchTanhTerm(term) == x)
        approx = GeluApproximation::tanh;
      else
        continue;
      if (x.getType() != root.getType())
        return failure();
      rewriter.replaceOpWithNewOp<GeluOp>(root, x, approx);
      return success();
    }
    return failure();
  }
};

struct FuseGeluPass : mlir::bb::impl::FuseGeluBase<FuseGeluPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseGeluPattern>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
