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

std::string mlir::bb::cutUnitOf(Operation *op) {
  std::string block = sharding::blockOf(op);
  auto name = dyn_cast<NameLoc>(op->getLoc());
  if (block.empty() || !name)
    return block;
  // The name is "/" + block + "/" + the rest; a rest of two or more
  // components is inside a part of the block.
  StringRef rest = name.getName().getValue().drop_front(1 + block.size());
  if (!rest.consume_front("/"))
    return block;
  auto [part, tail] = rest.split('/');
  return tail.empty() ? block : block + "/" + part.str();
}

bool StageCut::perMicrobatch(Operation *op) const {
  return op && !isa<ConstantOp>(op) && !perStep.contains(op) &&
         op->getBlock() == body;
}

StagePlacement mlir::bb::placeOnStages(const StageCut &cut) {
  StagePlacement p;
  p.op = cut.stage;
  Block &body = *cut.body;
  for (Operation &op : body) {
    Value g = updateGradient(&op);
    auto it = g ? p.op.find(g.getDefiningOp()) : p.op.end();
    if (it == p.op.end())
      continue;
    for (Value v : op.getOperands())
      if (isa<BlockArgument>(v))
        p.arg.try_emplace(v, it->second);
  }
  for (BlockArgument a : body.getArguments()) {
    if (p.arg.count(a))
      continue;
    int64_t s = -1;
    for (Operation *user : a.getUsers())
      if (auto it = p.op.find(user); it != p.op.end())
        s = s < 0 ? it->second : std::min(s, it->second);
    p.arg[a] = std::max<int64_t>(s, 0);
  }
  for (Operation &op : body) {
    if (!cut.perStep.contains(&op))
      continue;
    int64_t s = -1;
    for (Value v : op.getOperands()) {
      if (isa<BlockArgument>(v))
        s = p.arg.lookup(v);
      else if (auto it = p.op.find(v.getDefiningOp()); it != p.op.end())
        s = it->second;
      if (s >= 0)
        break;
    }
    p.op[&op] = std::max<int64_t>(s, 0);
  }
  return p;
}

FailureOr<StageCut> mlir::bb::cutStages(func::FuncOp train, int64_t numStages,
                                        StringRef pass,
                                        ArrayRef<int64_t> devices) {
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

  // Parts of layers (cutUnitOf), in order of first appearance in the
  // forward pass, each with its layer and its cost.
  // A part's label names a block that starts at it inside a layer: the
  // part, or for the layer's own ops (its residual additions, a ReLU
  // between parts) the first such op ("layer2/Relu").
  // unitOf: the part of every op of the body named into one (a gradient
  // op's is its forward op's).
  llvm::StringMap<size_t> unitIndex;
  SmallVector<std::string> units, unitBlock, unitLabel;
  SmallVector<double> unitCost;
  llvm::DenseMap<Operation *, size_t> unitOf;
  for (Operation &op : body.without_terminator()) {
    if (!cut.forward.contains(&op))
      continue;
    std::string u = cutUnitOf(&op);
    if (u.empty())
      continue;
    auto [it, added] = unitIndex.try_emplace(u, units.size());
    unitOf[&op] = it->second;
    if (!added)
      continue;
    units.push_back(u);
    unitBlock.push_back(sharding::blockOf(&op));
    unitLabel.push_back(
        u != unitBlock.back()
            ? u
            : cast<NameLoc>(op.getLoc()).getName().getValue().drop_front().str());
    unitCost.push_back(0);
  }
  for (Operation &op : body.without_terminator()) {
    if (!cut.forward.contains(&op))
      if (auto it = unitIndex.find(cutUnitOf(&op)); it != unitIndex.end())
        unitOf[&op] = it->second;
    if (auto it = unitOf.find(&op); it != unitOf.end() && !cut.perStep.contains(&op))
      unitCost[it->second] += opCost(&op);
  }
  const size_t numUnits = units.size();

  // Where each forward op of the micro-batch runs in that order: its own
  // part, or a later one its operands come from (a layer's second residual
  // addition is named like its first but adds the MLP's output). The bytes
  // crossing the boundary before part k: values made before it and read
  // after it, except those of state alone (computed again, not sent).
  llvm::DenseSet<Operation *> invariant = stepInvariantOps(body);
  llvm::DenseMap<Operation *, size_t> position;
  SmallVector<Operation *> positioned;
  for (Operation &op : body.without_terminator()) {
    if (!cut.forward.contains(&op) || !cut.perMicrobatch(&op))
      continue;
    size_t p = unitOf.lookup(&op);
    for (Value v : op.getOperands())
      if (auto d = position.find(v.getDefiningOp()); d != position.end())
        p = std::max(p, d->second);
    position[&op] = p;
    positioned.push_back(&op);
  }
  std::vector<int64_t> crossing(numUnits + 1, 0);
  for (Operation *op : positioned) {
    if (invariant.contains(op))
      continue;
    const size_t p = position[op];
    for (Value v : op->getResults()) {
      size_t last = p;
      for (Operation *user : v.getUsers())
        if (auto q = position.find(user); q != position.end())
          last = std::max(last, q->second);
      if (last > p) {
        const int64_t bytes = getTensorBytes(v.getType());
        crossing[p + 1] += bytes;
        crossing[last + 1] -= bytes;
      }
    }
  }
  for (size_t k = 1; k <= numUnits; ++k)
    crossing[k] += crossing[k - 1];

  // The blocks a stage may start at: a layer, or a part of one where no
  // more bytes cross than at the layer's start (in a transformer layer, the
  // MLP's half: only the residual stream crosses there, as between
  // layers). Stages balance these blocks' costs.
  // A block is named after its layer where it starts one, else after its
  // costliest part ("transformer/h.3/mlp"). Under activation recomputation
  // of whole layers (bb-recompute: each layer's forward runs again from its
  // input before its backward) stages start at layers only: replaying a
  // whole layer does not fit a layer split over two stages (GPT 13B on
  // p3.16xlarge:8, pp=8, planned 13% slower with halves). bb-recompute's
  // blocks=cut recomputes each of these blocks instead.
  const bool recomputation = !body.getOps<RecomputeBarrierOp>().empty();
  const bool wholeLayers = recomputation && !train->hasAttr(kRecomputedBlocks);
  SmallVector<size_t> unitToBlock(numUnits);
  size_t layerStart = 0, costliest = 0;
  bool startsLayer = true;
  for (size_t k = 0; k < numUnits; ++k) {
    const bool newLayer = k == 0 || unitBlock[k] != unitBlock[k - 1];
    if (newLayer)
      layerStart = k;
    if (newLayer ||
        (!wholeLayers && layerStart > 0 && crossing[k] <= crossing[layerStart])) {
      cut.blocks.push_back(newLayer ? unitBlock[k] : unitLabel[k]);
      cut.blockCost.push_back(0);
      costliest = k;
      startsLayer = newLayer;
    }
    unitToBlock[k] = cut.blocks.size() - 1;
    cut.blockCost.back() += unitCost[k];
    if (unitCost[k] > unitCost[costliest]) {
      costliest = k;
      if (!startsLayer)
        cut.blocks.back() = unitLabel[k];
    }
  }
  if (static_cast<int64_t>(cut.blocks.size()) < numStages)
    return train.emitError(pass)
           << ": the model has " << cut.blocks.size()
           << " blocks (layers and their halves, from its ONNX node names), "
              "fewer than the "
           << numStages << " pipeline stages";
  // What each block's parameters hold and send: their states' bytes (the
  // parameter and its optimizer state, all updated with one gradient) and
  // their gradients' (replicated stages all-reduce them).
  cut.blockStateBytes.assign(cut.blocks.size(), 0);
  cut.blockGradientBytes.assign(cut.blocks.size(), 0);
  {
    Operation *ret = body.getTerminator();
    llvm::DenseSet<Value> counted;
    for (unsigned i = 0; i < train.getNumResults(); ++i) {
      auto k = train.getResultAttrOfType<IntegerAttr>(i, "bb.updates");
      Operation *update = ret->getOperand(i).getDefiningOp();
      Value g = update ? updateGradient(update) : Value();
      if (!k || !g)
        continue;
      size_t block = 0;
      if (auto it = unitOf.find(g.getDefiningOp()); it != unitOf.end())
        block = unitToBlock[it->second];
      cut.blockStateBytes[block] +=
          getTensorBytes(body.getArgument(k.getInt()).getType());
      if (counted.insert(g).second)
        cut.blockGradientBytes[block] += getTensorBytes(g.getType());
    }
  }
  // What each block's backward keeps of its forward per micro-batch.
  cut.blockStashBytes.assign(cut.blocks.size(), 0);
  if (recomputation) {
    for (size_t k = 0; k < numUnits; ++k)
      if (k == 0 || unitToBlock[k] != unitToBlock[k - 1])
        cut.blockStashBytes[unitToBlock[k]] = crossing[k];
  } else {
    for (Operation *op : positioned) {
      if (invariant.contains(op))
        continue;
      for (Value v : op->getResults())
        if (llvm::any_of(v.getUsers(), [&](Operation *user) {
              return !cut.forward.contains(user);
            }))
          cut.blockStashBytes[unitToBlock[position[op]]] +=
              getTensorBytes(v.getType());
    }
  }
  cut.starts = costmodel::balancedStages(cut.blockCost, numStages, devices);
  SmallVector<int64_t> stageOfBlock(cut.blocks.size());
  for (int64_t s = 0; s < numStages; ++s) {
    size_t end = s + 1 < numStages ? cut.starts[s + 1] : cut.blocks.size();
    for (size_t i = cut.starts[s]; i < end; ++i)
      stageOfBlock[i] = s;
  }
  for (Operation *op : positioned)
    if (unitOf.count(op))
      cut.blockOf[op] = unitToBlock[position[op]];
  auto blockStage = [&](Operation *op) -> int64_t {
    auto it = unitOf.find(op);
    return it == unitOf.end() ? -1 : stageOfBlock[unitToBlock[it->second]];
  };

  // Stage of every per-micro-batch op.
  auto &stage = cut.stage;
  const SetVector<Operation *> &forward = cut.forward;
  for (Operation &op : body.without_terminator())
    if (cut.perMicrobatch(&op))
      cut.ops.push_back(&op);
  for (Operation *op : cut.ops)
    if (forward.contains(op) && invariant.contains(op))
      cut.ofState.insert(op);
  // The stage of each named forward op, which its backward ops (bb-autodiff
  // gives them its name) start from: its block's, or later where its
  // operands are.
  llvm::DenseMap<Location, int64_t> forwardStageAt;
  SmallVector<Operation *> pending;
  for (Operation *op : cut.ops) {
    const bool fwd = forward.contains(op);
    int64_t s = blockStage(op);
    if (!fwd)
      if (auto it = forwardStageAt.find(op->getLoc()); it != forwardStageAt.end())
        s = it->second;
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
    if (s < 0) {
      pending.push_back(op);
      continue;
    }
    stage[op] = s;
    if (fwd && isa<NameLoc>(op->getLoc())) {
      auto [it, added] = forwardStageAt.try_emplace(op->getLoc(), s);
      it->second = std::max(it->second, s);
    }
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
