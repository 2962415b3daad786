//===- TrainStepParts.cpp - the parts of a @train_step ----------------------===//
#include "passes/autodiff/TrainStepParts.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Analysis/SliceAnalysis.h"

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
  return perStep;
}
