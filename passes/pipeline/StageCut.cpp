//===- StageCut.cpp - which pipeline stage each op of @train_step runs on -===//
#include "passes/pipeline/StageCut.h"

#include "compiler/costmodel/PipelineStages.h"
#include "dialects/bb/BbInterfaces.h"
#include "dialects/bb/BbOps.h"
#include "passes/autodiff/TrainStepParts.h"
#include "passes/sharding/ShardingRules.h"
#include "llvm/ADT/StringMap.h"

#include <limits>

using namespace mlir;
using namespace mlir::bb;

namespace {

/// Relative cost of an op for balancing stages: FLOPs, or bytes moved
/// weighted as a device with 20 FLOPs per byte would, whichever dominates.
double opCost(Operation *op) {
  auto cost = dyn_cast<CostOpInterface>(op);
  if (!cost)
    return 0;
  double bytes = static_cast<double>(cost.getBytesRead() + cost.getBytesWritten());
  return std::max(static_cast<double>(cost.getFlops()), 20.0 * bytes);
}

} // namespace

bool StageCut::perMicrobatch(Operation *op) const {
  return op && !isa<ConstantOp>(op) && !perStep.contains(op) &&
         op->getBlock() == body;
}

FailureOr<StageCut> mlir::bb::cutStages(func::FuncOp train, int64_t numStages,
                                        StringRef pass) {
  if (!train.getBody().hasOneBlock())
    return train.emitError(pass) << ": needs the @train_step that "
                                    "bb-train-step builds";
  StageCut cut;
  Block &body = train.getBody().front();
  cut.body = &body;
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  for (unsigned i = 0; i < train.getNumResults(); ++i) {
    auto role = train.getResultAttrOfType<StringAttr>(i, "bb.role");
    if (role && role.getValue() == "loss")
      cut.loss = ret.getOperand(i);
    if (role && role.getValue() == "grad_norm")
      cut.norm = ret.getOperand(i);
  }
  // The norm is the square root of the sum of squares, divided by the
  // loss scale under dynamic loss scaling.
  Value root = cut.norm;
  if (auto div = root ? root.getDefiningOp<DivOp>() : DivOp())
    root = div->getOperand(0);
  auto sqrt = root ? root.getDefiningOp<SqrtOp>() : SqrtOp();
  if (!cut.loss || !sqrt)
    return train.emitError(pass)
           << ": @train_step has no loss or no gradient norm result";
  cut.sqrt = sqrt;

  cut.perStep = perStepOps(body);
  cut.forward = forwardOps(cut.loss);
  for (Operation *op : cut.forward)
    if (cut.perStep.contains(op))
      return op->emitError(pass) << ": the loss depends on a gradient";

  // Blocks, in order of first appearance in the forward pass, and their cost.
  llvm::StringMap<size_t> blockIndex;
  for (Operation &op : body.without_terminator()) {
    if (!cut.forward.contains(&op))
      continue;
    std::string b = sharding::blockOf(&op);
    if (!b.empty() && blockIndex.try_emplace(b, cut.blocks.size()).second) {
      cut.blocks.push_back(b);
      cut.blockCost.push_back(0);
    }
  }
  for (Operation &op : body.without_terminator()) {
    auto it = blockIndex.find(sharding::blockOf(&op));
    if (it != blockIndex.end() && !cut.perStep.contains(&op))
      cut.blockCost[it->second] += opCost(&op);
  }
  if (static_cast<int64_t>(cut.blocks.size()) < numStages)
    return train.emitError(pass)
           << ": the model has " << cut.blocks.size()
           << " blocks (layers, from its ONNX node names), fewer than the "
           << numStages << " pipeline stages";
  cut.starts = costmodel::balancedStages(cut.blockCost, numStages);
  SmallVector<int64_t> stageOfBlock(cut.blocks.size());
  for (int64_t s = 0; s < numStages; ++s) {
    size_t end = s + 1 < numStages ? cut.starts[s + 1] : cut.blocks.size();
    for (size_t i = cut.starts[s]; i < end; ++i)
      stageOfBlock[i] = s;
  }
  auto blockStage = [&](Operation *op) -> int64_t {
    auto it = blockIndex.find(sharding::blockOf(op));
    return it == blockIndex.end() ? -1 : stageOfBlock[it->second];
  };

  // Stage of every per-micro-batch op.
  auto &stage = cut.stage;
  const SetVector<Operation *> &forward = cut.forward;
  for (Operation &op : body.without_terminator())
    if (cut.perMicrobatch(&op))
      cut.ops.push_back(&op);
  llvm::DenseSet<Operation *> invariant = stepInvariantOps(body);
  for (Operation *op : cut.ops)
    if (forward.contains(op) && invariant.contains(op))
      cut.ofState.insert(op);
  SmallVector<Operation *> pending;
  for (Operation *op : cut.ops) {
    const bool fwd = forward.contains(op);
    int64_t s = blockStage(op);
    int64_t bound = fwd ? -1 : std::numeric_limits<int64_t>::max();
    int64_t fwdOperands = -1;
    for (Value v : op->getOperands()) {
      Operation *def = v.getDefiningOp();
      auto it = stage.find(def);
      if (!cut.perMicrobatch(def) || it == stage.end())
        continue;
      if (fwd)
        bound = std::max(bound, it->second);
      else if (forward.contains(def))
        fwdOperands = std::max(fwdOperands, it->second);
      else
        bound = std::min(bound, it->second);
    }
    if (fwd) {
      s = std::max(s, bound);
    } else {
      bool bounded = bound != std::numeric_limits<int64_t>::max();
      if (s < 0)
        s = bounded ? bound : fwdOperands;
      else if (bounded)
        s = std::min(s, bound);
    }
    if (s < 0)
      pending.push_back(op);
    else
      stage[op] = s;
  }
  // Ops placed by nothing above take their users' stage: forward ops the
  // earliest (values flow forward), backward ops the latest.
  for (Operation *op : llvm::reverse(pending)) {
    const bool fwd = forward.contains(op);
    int64_t s = -1;
    for (Operation *user : op->getUsers()) {
      auto it = stage.find(user);
      if (it == stage.end() || forward.contains(user) != fwd)
        continue;
      s = s < 0 ? it->second : fwd ? std::min(s, it->second)
                                   : std::max(s, it->second);
    }
    stage[op] = std::max<int64_t>(s, 0);
  }
  // The invariants the schedule relies on.
  for (Operation *op : cut.ops)
    for (Value v : op->getOperands()) {
      Operation *def = v.getDefiningOp();
      if (!cut.perMicrobatch(def))
        continue;
      bool fwdDef = forward.contains(def), fwdUse = forward.contains(op);
      if ((fwdDef && fwdUse && stage[def] > stage[op]) ||
          (!fwdDef && !fwdUse && stage[def] < stage[op]) ||
          (!fwdDef && fwdUse))
        return op->emitError(pass) << ": internal error: a value flows "
                                      "against the schedule";
    }
  return cut;
}
