//===- TrainStepParts.cpp - the parts of a @train_step ----------------------===//
#include "passes/autodiff/TrainStepParts.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

SetVector<Operation *> mlir::bb::forwardOps(Value loss) {
  SetVector<Operation *> forward;
  BackwardSliceOptions deps;
  deps.inclusive = true;
  deps.omitBlockArguments = true;
  deps.filter = [](Operation *op) { return !isa<ConstantOp>(op); };
  getBackwardSlice(loss, &forward, deps);
  return forward;
}

Value mlir::bb::updateGradient(Operation *op) {
  if (auto u = dyn_cast<AdamwUpdateOp>(op))
    return u.getGrad();
  if (auto u = dyn_cast<SgdUpdateOp>(op))
    return u.getGrad();
  return Value();
}

llvm::DenseSet<Operation *> mlir::bb::stepInvariantOps(Block &body) {
  auto func = dyn_cast<FunctionOpInterface>(body.getParentOp());
  auto stepArgument = [&](BlockArgument a) {
    if (!func || a.getOwner() != &body)
      return false;
    if (func.getArgAttr(a.getArgNumber(), "bb.state"))
      return true;
    auto role = func.getArgAttrOfType<StringAttr>(a.getArgNumber(), "bb.role");
    return role && (role.getValue() == "lr" || role.getValue() == "step");
  };
  llvm::DenseSet<Operation *> invariant;
  for (Operation &op : body.without_terminator()) {
    if (isa<ConstantOp>(op) || op.getNumRegions())
      continue;
    if (llvm::all_of(op.getOperands(), [&](Value v) {
          if (auto a = dyn_cast<BlockArgument>(v))
            return stepArgument(a);
          Operation *def = v.getDefiningOp();
          return isa<ConstantOp>(def) || invariant.contains(def);
        }))
      invariant.insert(&op);
  }
  return invariant;
}

SetVector<Operation *> mlir::bb::perStepOps(Block &body) {
  // One walk for all the gradients: their users share the norm's chain.
  SmallVector<Value> work;
  for (Operation &op : body)
    if (Value g = updateGradient(&op))
      work.push_back(g);
  SetVector<Operation *> perStep;
  while (!work.empty())
    for (Operation *user : work.pop_back_val().getUsers())
      if (!user->hasTrait<OpTrait::IsTerminator>() && perStep.insert(user))
        llvm::append_range(work, user->getResults());

  // Ops of state and the step's scalars alone, used only by the above and
  // by the step's results: the loss scaler's bookkeeping (the good-step
  // count, the grown and halved scale) and AdamW's step count under loss
  // scaling.
  llvm::DenseSet<Operation *> ofStepValues = stepInvariantOps(body);
  // Users come after their operands: one walk backwards settles them.
  for (Operation &op : llvm::reverse(body.without_terminator()))
    if (ofStepValues.contains(&op) && !op.use_empty() &&
        llvm::all_of(op.getUsers(), [&](Operation *user) {
          return user->hasTrait<OpTrait::IsTerminator>() ||
                 perStep.contains(user);
        }))
      perStep.insert(&op);
  return perStep;
}
