//===- MergeAllReduces.cpp - one all-reduce for a sum of all-reduces ------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bb {
#define GEN_PASS_DEF_MERGEALLREDUCES
#include "passes/spmdize/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// `v`'s defining sum all-reduce when its only use is the sum being
/// rewritten; null otherwise.
mesh::AllReduceOp sumAllReduce(Value v) {
  auto ar = v.getDefiningOp<mesh::AllReduceOp>();
  if (!ar || !ar->hasOneUse() ||
      ar.getReduction() != mesh::ReductionKind::Sum ||
      ar.getInput().getType() != ar.getType())
    return {};
  return ar;
}

/// Whether `a` and `b` reduce alike: one mesh, the same axes, one type.
bool sameReduction(mesh::AllReduceOp a, mesh::AllReduceOp b) {
  return a != b && a.getMesh() == b.getMesh() &&
         a.getMeshAxes() == b.getMeshAxes() && a.getType() == b.getType();
}

/// all_reduce(a.input + b.input), built before `at` (the caller erases a
/// and b once nothing uses them).
Value mergeInto(PatternRewriter &rw, Operation *at, mesh::AllReduceOp a,
                mesh::AllReduceOp b) {
  rw.setInsertionPoint(at);
  Value sum = rw.create<AddOp>(at->getLoc(), a.getInput(), b.getInput());
  return rw.create<mesh::AllReduceOp>(at->getLoc(), a.getType(), a.getMesh(),
                                      a.getMeshAxes(), sum,
                                      mesh::ReductionKind::Sum);
}

/// add(all_reduce(a), all_reduce(b)) -> all_reduce(add(a, b)).
struct MergeSiblings : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rw) const override {
    mesh::AllReduceOp a = sumAllReduce(add.getLhs()),
                      b = sumAllReduce(add.getRhs());
    if (!a || !b || !sameReduction(a, b) || add.getType() != a.getType())
      return failure();
    Value merged = mergeInto(rw, add, a, b);
    rw.replaceOp(add, merged);
    rw.eraseOp(a);
    rw.eraseOp(b);
    return success();
  }
};

/// add(add(x, all_reduce(a)), all_reduce(b)) (either operand order)
/// -> add(x, all_reduce(add(a, b))).
struct MergeAcross : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp outer,
                                PatternRewriter &rw) const override {
    for (unsigned i = 0; i < 2; ++i) {
      mesh::AllReduceOp b = sumAllReduce(outer->getOperand(1 - i));
      auto inner = outer->getOperand(i).getDefiningOp<AddOp>();
      if (!b || !inner || !inner->hasOneUse() ||
          inner.getType() != outer.getType() || outer.getType() != b.getType())
        continue;
      for (unsigned j = 0; j < 2; ++j) {
        mesh::AllReduceOp a = sumAllReduce(inner->getOperand(j));
        Value x = inner->getOperand(1 - j);
        if (!a || !sameReduction(a, b) || x.getType() != outer.getType())
          continue;
        Value merged = mergeInto(rw, outer, a, b);
        Value sum = rw.create<AddOp>(outer.getLoc(), x, merged);
        rw.replaceOp(outer, sum);
        rw.eraseOp(inner);
        rw.eraseOp(a);
        rw.eraseOp(b);
        return success();
      }
    }
    return failure();
  }
};

struct MergeAllReducesPass
    : mlir::bb::impl::MergeAllReducesBase<MergeAllReducesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MergeSiblings, MergeAcross>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(),
                                            std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
