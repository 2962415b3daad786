//===- Recompute.cpp - per-block activation recomputation ------------------===//
//
// See passes.td. Forward and backward are told apart as bb-pipeline-stages
// does: forward ops are those the loss depends on; every other op is
// backward or per step. Blocks are sharding::blockOf's (the ONNX node-name
// path up to the first component with a layer number), or with blocks=cut
// the pipeline cut's (StageCut.h: a layer's halves apart); bb-autodiff
// gives a gradient op the location of the op it differentiates, so a
// block's backward ops have its block too.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "passes/pipeline/StageCut.h"
#include "passes/sharding/ShardingRules.h"

#include "dialects/bb/BbOps.h"
#include "passes/autodiff/TrainStepParts.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringSet.h"

#include <functional>
#include <optional>

namespace mlir::bb {
#define GEN_PASS_DEF_RECOMPUTE
#include "passes/autodiff/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

struct RecomputePass : mlir::bb::impl::RecomputeBase<RecomputePass> {
  using RecomputeBase::RecomputeBase;
  void runOnOperation() override;
};

void RecomputePass::runOnOperation() {
  ModuleOp module = getOperation();
  auto train = module.lookupSymbol<func::FuncOp>("train_step");
  if (!train || !train.getBody().hasOneBlock()) {
    module.emitError("bb-recompute: needs the @train_step that bb-train-step "
                     "builds");
    return signalPassFailure();
  }
  Block &body = train.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  Value loss;
  for (unsigned i = 0; i < train.getNumResults(); ++i)
    if (auto role = train.getResultAttrOfType<StringAttr>(i, "bb.role");
        role && role.getValue() == "loss")
      loss = ret.getOperand(i);
  if (!loss) {
    train.emitError("bb-recompute: @train_step has no loss result (bb.role = "
                    "\"loss\")");
    return signalPassFailure();
  }

  // Forward: the ops the loss depends on.
  SetVector<Operation *> forward = forwardOps(loss);

  // The block of a forward op: its layer, or with blocks=cut its block of
  // the pipeline cut (a layer's half); a gradient op's is its forward op's
  // (bb-autodiff gives it that op's location). Only numbered layers count.
  if (blocks != "layers" && blocks != "cut") {
    module.emitError("bb-recompute: blocks=") << blocks
                                               << ": expected layers or cut";
    return signalPassFailure();
  }
  std::function<std::string(Operation *)> blockKey = [](Operation *op) {
    return sharding::blockOf(op);
  };
  std::optional<StageCut> cut;
  llvm::DenseMap<Location, std::string> blockAt;
  if (blocks == "cut") {
    FailureOr<StageCut> c = cutStages(train, 1, "bb-recompute");
    if (failed(c))
      return signalPassFailure();
    cut = std::move(*c);
    for (auto [op, b] : cut->blockOf)
      if (isa<NameLoc>(op->getLoc()))
        blockAt[op->getLoc()] = cut->blocks[b];
    blockKey = [&](Operation *op) -> std::string {
      if (auto it = cut->blockOf.find(op); it != cut->blockOf.end())
        return cut->blocks[it->second];
      return blockAt.lookup(op->getLoc());
    };
  }

  // Each block's forward ops, in program order.
  llvm::MapVector<StringRef, SmallVector<Operation *>> groups;
  llvm::StringSet<> names;
  for (Operation &op : body.without_terminator())
    if (forward.contains(&op)) {
      std::string b = blockKey(&op);
      if (b.empty() || !llvm::any_of(b, llvm::isDigit))
        continue;
      groups[names.insert(b).first->getKey()].push_back(&op);
    }
  if (groups.empty()) {
    train.emitError("bb-recompute: the model has no blocks (ONNX node names "
                    "with a layer number, such as /transformer/h.3/...) to "
                    "recompute");
    return signalPassFailure();
  }

  for (auto &[block, ops] : groups) {
    llvm::DenseSet<Operation *> inBlock(ops.begin(), ops.end());
    // Recomputed: the block's forward ops that depend, within the block, on
    // an activation it reads (a value computed outside the block). Ops on
    // parameters and constants alone are the same in every micro-batch
    // position and are not activations; they are kept.
    llvm::DenseSet<Operation *> recomputed;
    SmallVector<Value> inputs; // activations read, in order of first read
    llvm::DenseSet<Value> isInput;
    auto isActivation = [&](Value v) {
      if (auto arg = dyn_cast<BlockArgument>(v)) // data, not state
        return arg.getOwner() == &body &&
               !train.getArgAttr(arg.getArgNumber(), "bb.state");
      Operation *def = v.getDefiningOp();
      return !isa<ConstantOp>(def) && !inBlock.contains(def);
    };
    for (Operation *op : ops)
      for (Value v : op->getOperands()) {
        Operation *def = v.getDefiningOp();
        bool activation = isActivation(v);
        if (activation || (def && recomputed.contains(def))) {
          recomputed.insert(op);
          if (activation && isInput.insert(v).second)
            inputs.push_back(v);
        }
      }
    // The block's own backward ops that read a recomputed value.
    SmallVector<std::pair<Operation *, unsigned>> uses;
    Operation *first = nullptr;
    for (Operation *op : ops) {
      if (!recomputed.contains(op))
        continue;
      for (OpOperand &use : op->getUses()) {
        Operation *user = use.getOwner();
        if (forward.contains(user) || user->getBlock() != &body ||
            isa<func::ReturnOp>(user) || blockKey(user) != block)
          continue;
        uses.push_back({user, use.getOperandNumber()});
        if (!first || user->isBeforeInBlock(first))
          first = user;
      }
    }
    if (!first)
      continue;
    for (Value v : inputs)
      if (Operation *def = v.getDefiningOp();
          def && (def->getBlock() != &body || !def->isBeforeInBlock(first))) {
        first->emitError("bb-recompute: block '")
            << block << "' is differentiated before one of its inputs is "
            << "computed";
        return signalPassFailure();
      }

    // The copy, just before the block's first backward op, on its inputs
    // behind barriers (so that CSE cannot merge it back into the original).
    OpBuilder b(first);
    IRMapping mapping;
    for (Value v : inputs) {
      Operation *reader = *llvm::find_if(ops, [&](Operation *op) {
        return llvm::is_contained(op->getOperands(), v);
      });
      mapping.map(v, b.create<RecomputeBarrierOp>(reader->getLoc(), v));
    }
    SmallVector<Operation *> clones;
    for (Operation *op : ops)
      if (recomputed.contains(op)) {
        clones.push_back(b.clone(*op, mapping));
        clones.back()->setAttr("bb.recomputed", b.getUnitAttr());
      }
    for (auto [user, index] : uses)
      user->setOperand(index, mapping.lookup(user->getOperand(index)));
    // Copies nobody reads (the block's output, when only the next block's
    // backward reads it) go again.
    for (Operation *clone : llvm::reverse(clones))
      if (clone->use_empty())
        clone->erase();
    for (Value v : inputs)
      if (Value barrier = mapping.lookup(v); barrier.use_empty())
        barrier.getDefiningOp()->erase();
  }
  if (cut)
    train->setAttr(kRecomputedBlocks, UnitAttr::get(train.getContext()));
}
} // namespace
