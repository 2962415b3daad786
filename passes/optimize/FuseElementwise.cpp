//===- FuseElementwise.cpp - elementwise chains -> fused ops ---------------===//
//
// Groups grow backwards from the end of a chain (an f32 elementwise op)
// through the producers of its operands: a producer joins when it is f32
// elementwise too, has the chain end's shape (so nothing is computed twice
// under broadcasting), and every user of its result is already in the
// group (so the intermediate tensor disappears). Values from outside become
// the fused op's inputs, which may broadcast; splat f32 constants become
// arith.constant in the body instead. A chain of two ops or more becomes a
// bb.fused_elementwise; a chain of any length summed by a reduce_sum or
// reduce_mean over leading or trailing axes, a bb.fused_reduce.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::bb {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "passes/optimize/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// What the runtime's fused kernel takes at most (bbrt/fused.h).
constexpr unsigned kMaxFusedInputs = 16;

bool isF32Tensor(Type t) {
  auto r = dyn_cast<RankedTensorType>(t);
  return r && r.getElementType().isF32();
}

/// An elementwise op the body can express, on f32 tensors.
bool fusible(Operation *op) {
  if (!isa<AddOp, SubOp, MulOp, DivOp, PowOp, NegOp, AbsOp, SqrtOp, ExpOp,
           LogOp, ErfOp, TanhOp, SigmoidOp, ReluOp>(op))
    return false;
  return llvm::all_of(op->getOperandTypes(), isF32Tensor) &&
         isF32Tensor(op->getResult(0).getType());
}

/// The splat f32 value of a constant operand, if it is one.
std::optional<APFloat> splatValue(Value v) {
  auto cst = v.getDefiningOp<ConstantOp>();
  if (!cst || !isF32Tensor(cst.getType()))
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(cst.getValue());
  if (!dense || !dense.isSplat())
    return std::nullopt;
  return dense.getSplatValue<APFloat>();
}

/// The scalar form of elementwise `op` on `args`, as the runtime's kernels
/// compute it (runtime/cpu/Elementwise.cpp: sigmoid is 1 / (1 + e^-x), relu
/// x > 0 ? x : 0).
Value scalarOf(OpBuilder &b, Location loc, Operation *op, ValueRange args) {
  auto f32 = [&](float v) {
    return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v));
  };
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case([&](AddOp) { return b.create<arith::AddFOp>(loc, args[0], args[1]); })
      .Case([&](SubOp) { return b.create<arith::SubFOp>(loc, args[0], args[1]); })
      .Case([&](MulOp) { return b.create<arith::MulFOp>(loc, args[0], args[1]); })
      .Case([&](DivOp) { return b.create<arith::DivFOp>(loc, args[0], args[1]); })
      .Case([&](PowOp) { return b.create<math::PowFOp>(loc, args[0], args[1]); })
      .Case([&](NegOp) { return b.create<arith::NegFOp>(loc, args[0]); })
      .Case([&](AbsOp) { return b.create<math::AbsFOp>(loc, args[0]); })
      .Case([&](SqrtOp) { return b.create<math::SqrtOp>(loc, args[0]); })
      .Case([&](ExpOp) { return b.create<math::ExpOp>(loc, args[0]); })
      .Case([&](LogOp) { return b.create<math::LogOp>(loc, args[0]); })
      .Case([&](ErfOp) { return b.create<math::ErfOp>(loc, args[0]); })
      .Case([&](TanhOp) { return b.create<math::TanhOp>(loc, args[0]); })
      .Case([&](SigmoidOp) {
        Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, args[0]));
        Value one = f32(1.f);
        return b.create<arith::DivFOp>(loc, one, b.create<arith::AddFOp>(loc, one, e));
      })
      .Case([&](ReluOp) {
        Value zero = f32(0.f);
        Value positive = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT,
                                                 args[0], zero);
        return b.create<arith::SelectOp>(loc, positive, args[0], zero);
      })
      .Default([](Operation *) { return Value(); });
}

/// Whether a reduction of a chain can be one fused kernel: f32, over axes
/// the runtimes sum (leading or trailing ones, or all), of a fusible op
/// nothing else reads.
bool fusibleReduction(Operation *op) {
  auto reduce = dyn_cast<ReduceSumOp>(op);
  auto mean = dyn_cast<ReduceMeanOp>(op);
  if (!reduce && !mean)
    return false;
  Value input = op->getOperand(0);
  Operation *producer = input.getDefiningOp();
  if (!producer || !producer->hasOneUse() || !fusible(producer) ||
      producer->getBlock() != op->getBlock() ||
      !isF32Tensor(op->getResult(0).getType()))
    return false;
  ArrayRef<int64_t> axes = reduce ? reduce.getAxes() : mean.getAxes();
  const int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  bool leading = true, trailing = true;
  for (auto [i, axis] : llvm::enumerate(axes)) {
    leading = leading && axis == static_cast<int64_t>(i);
    trailing = trailing &&
               axis == rank - static_cast<int64_t>(axes.size()) +
                           static_cast<int64_t>(i);
  }
  return !axes.empty() && (leading || trailing);
}

struct FuseElementwisePass
    : mlir::bb::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    for (Block &block : getOperation().getBody())
      fuseBlock(block);
  }

  void fuseBlock(Block &block);
  /// `chainEnd` and the producers that join it (see the file comment), in
  /// block order.
  SmallVector<Operation *> grow(Operation *chainEnd,
                                const llvm::DenseSet<Operation *> &taken);
};

SmallVector<Operation *>
FuseElementwisePass::grow(Operation *chainEnd,
                          const llvm::DenseSet<Operation *> &taken) {
  auto shape =
      cast<RankedTensorType>(chainEnd->getResult(0).getType()).getShape();
  llvm::SetVector<Operation *> group;
  group.insert(chainEnd);
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t i = 0; i < group.size(); ++i)
      for (Value operand : group[i]->getOperands()) {
        Operation *p = operand.getDefiningOp();
        if (!p || group.contains(p) || taken.contains(p) ||
            p->getBlock() != chainEnd->getBlock() || !fusible(p) ||
            cast<RankedTensorType>(p->getResult(0).getType()).getShape() !=
                shape ||
            !llvm::all_of(p->getUsers(),
                          [&](Operation *u) { return group.contains(u); }))
          continue;
        group.insert(p);
        grew = true;
      }
  }
  SmallVector<Operation *> ops(group.begin(), group.end());
  llvm::sort(ops, [](Operation *x, Operation *y) { return x->isBeforeInBlock(y); });
  return ops;
}

void FuseElementwisePass::fuseBlock(Block &block) {
  llvm::DenseSet<Operation *> taken;
  SmallVector<Operation *> roots;
  for (Operation &op : llvm::reverse(block))
    roots.push_back(&op);
  OpBuilder b(&getContext());
  for (Operation *root : roots) {
    if (taken.contains(root))
      continue;
    // A chain alone (two ops or more), or a chain summed by `root`.
    const bool reduction = fusibleReduction(root);
    if (!reduction && !fusible(root))
      continue;
    Operation *chainEnd = reduction ? root->getOperand(0).getDefiningOp() : root;
    SmallVector<Operation *> ops = grow(chainEnd, taken);
    if (!reduction && ops.size() < 2)
      continue;
    llvm::DenseSet<Operation *> group(ops.begin(), ops.end());

    // Inputs: operands from outside the group that are not splat constants.
    llvm::SetVector<Value> inputs;
    for (Operation *op : ops)
      for (Value operand : op->getOperands())
        if (!group.contains(operand.getDefiningOp()) && !splatValue(operand))
          inputs.insert(operand);
    if (inputs.empty() || inputs.size() > kMaxFusedInputs)
      continue;
    // A reduction's iteration shape must be the chain's (an input of it
    // could otherwise be broadcast further by another input).
    if (reduction) {
      SmallVector<int64_t> shape;
      for (Value input : inputs)
        shape = *broadcastShapes(shape,
                                 cast<RankedTensorType>(input.getType()).getShape());
      if (ArrayRef<int64_t>(shape) !=
          cast<RankedTensorType>(chainEnd->getResult(0).getType()).getShape())
        continue;
    }

    b.setInsertionPoint(root);
    Operation *fused;
    Region *region;
    if (reduction) {
      auto sum = dyn_cast<ReduceSumOp>(root);
      auto mean = dyn_cast<ReduceMeanOp>(root);
      auto op = b.create<FusedReduceOp>(
          root->getLoc(), root->getResult(0).getType(), inputs.getArrayRef(),
          sum ? sum.getAxesAttr() : mean.getAxesAttr(),
          sum ? sum.getKeepdims() : mean.getKeepdims(),
          /*mean=*/static_cast<bool>(mean));
      fused = op;
      region = &op.getBody();
    } else {
      auto op = b.create<FusedElementwiseOp>(
          root->getLoc(), root->getResult(0).getType(), inputs.getArrayRef());
      fused = op;
      region = &op.getBody();
    }
    Block *body = b.createBlock(region);
    IRMapping scalars;
    for (Value input : inputs)
      scalars.map(input, body->addArgument(b.getF32Type(), input.getLoc()));
    for (Operation *op : ops) {
      SmallVector<Value> args;
      for (Value operand : op->getOperands()) {
        if (Value s = scalars.lookupOrNull(operand)) {
          args.push_back(s);
          continue;
        }
        // A splat constant: its value, in the body.
        args.push_back(b.create<arith::ConstantOp>(
            op->getLoc(), b.getF32FloatAttr(splatValue(operand)->convertToFloat())));
        scalars.map(operand, args.back());
      }
      scalars.map(op->getResult(0), scalarOf(b, op->getLoc(), op, args));
    }
    b.create<YieldOp>(chainEnd->getLoc(), scalars.lookup(chainEnd->getResult(0)));

    root->getResult(0).replaceAllUsesWith(fused->getResult(0));
    if (reduction)
      ops.push_back(root); // erased first
    llvm::SetVector<Operation *> constants;
    for (Operation *op : llvm::reverse(ops)) {
      for (Value operand : op->getOperands())
        if (auto cst = operand.getDefiningOp<ConstantOp>())
          constants.insert(cst);
      taken.insert(op);
      op->erase();
    }
    // Constants now inlined into the body and used nowhere else.
    for (Operation *cst : constants)
      if (!taken.contains(cst) && cst->use_empty()) {
        taken.insert(cst);
        cst->erase();
      }
  }
}

} // namespace
