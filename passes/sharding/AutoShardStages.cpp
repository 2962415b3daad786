//===- AutoShardStages.cpp - each pipeline stage planned on its own mesh --===//
//
// See passes.td. bb-auto-shard plans one copy of the module per stage, on
// that stage's mesh; this pass cuts the step, runs those plans and merges
// them, stage by stage, into the module.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "passes/pipeline/StageCut.h"
#include "passes/sharding/ShardingRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringExtras.h"

#include <set>

namespace mlir::bb {
#define GEN_PASS_DEF_AUTOSHARDSTAGES
#include "passes/sharding/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// @train_step's ops in program order (a module and its clone list them
/// alike).
SmallVector<Operation *> bodyOps(func::FuncOp train) {
  SmallVector<Operation *> ops;
  for (Operation &op : train.getBody().front().without_terminator())
    ops.push_back(&op);
  return ops;
}

/// `attr` (on a copy's @mesh) on the mesh `sym`.
mesh::MeshShardingAttr onMesh(mesh::MeshShardingAttr attr, Type type,
                              FlatSymbolRefAttr sym) {
  auto rank = cast<RankedTensorType>(type).getRank();
  return sharding::TensorSharding::fromAttr(attr, rank).toAttr(sym);
}

struct AutoShardStagesPass
    : mlir::bb::impl::AutoShardStagesBase<AutoShardStagesPass> {
  using AutoShardStagesBase::AutoShardStagesBase;
  void runOnOperation() override;
};

void AutoShardStagesPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  auto train = module.lookupSymbol<func::FuncOp>("train_step");
  if (!train) {
    module.emitError("bb-auto-shard-stages: needs the @train_step that "
                     "bb-train-step builds");
    return signalPassFailure();
  }
  const int64_t S = static_cast<int64_t>(stageMeshes.size());
  SmallVector<SmallVector<int64_t>> shapes;
  SmallVector<int64_t> devices;
  for (const std::string &m : stageMeshes) {
    shapes.push_back(sharding::parseMeshShape(m));
    if (shapes.back().empty()) {
      module.emitError("bb-auto-shard-stages: stage-meshes: '")
          << m << "' is not a mesh shape such as 1x4";
      return signalPassFailure();
    }
    devices.push_back(sharding::meshDevices(shapes.back()));
  }
  if (S < 2 || llvm::any_of(shapes, [&](const SmallVector<int64_t> &s) {
        return s.size() != shapes.front().size();
      })) {
    module.emitError("bb-auto-shard-stages: stage-meshes needs two or more "
                     "meshes of the same number of axes");
    return signalPassFailure();
  }
  if (!module.getOps<mesh::MeshOp>().empty()) {
    module.emitError("bb-auto-shard-stages: the module is planned already");
    return signalPassFailure();
  }
  // A pipelined binary evaluates with the stages' forward functions.
  if (auto eval = module.lookupSymbol<func::FuncOp>("eval_step"))
    eval.erase();

  // The cut, each stage's cost over its devices, as the copies cut it.
  FailureOr<StageCut> cut =
      cutStages(train, S, "bb-auto-shard-stages", devices);
  if (failed(cut))
    return signalPassFailure();
  StagePlacement placed = placeOnStages(*cut);

  // A state several stages read has one layout in the binary (each rank
  // holds it as its own stage's mesh splits it, and the owner sends its new
  // value rank k to rank k mod n): replicated. A stage reads it directly or
  // through what is computed from state alone (StageCut::ofState: a
  // weight's f16 copy, a transposed weight), which every stage that needs
  // it computes again. (Inputs arrive whole on every rank and each stage's
  // function takes its own block.)
  Block &body = train.getBody().front();
  SmallVector<std::string> pins;
  std::set<std::string> userPinned;
  if (!shardPins.empty()) {
    pins.push_back(shardPins);
    SmallVector<StringRef> items;
    StringRef(shardPins).split(items, ';', -1, false);
    for (StringRef item : items)
      userPinned.insert(item.split('=').first.str());
  }
  for (BlockArgument a : body.getArguments()) {
    auto name = train.getArgAttrOfType<StringAttr>(a.getArgNumber(), "bb.name");
    if (!name || !train.getArgAttr(a.getArgNumber(), "bb.state"))
      continue;
    llvm::SmallSet<int64_t, 4> readers;
    SmallVector<Value> work = {a};
    llvm::DenseSet<Operation *> seen;
    while (!work.empty()) {
      Value v = work.pop_back_val();
      for (Operation *user : v.getUsers()) {
        if (!seen.insert(user).second)
          continue;
        if (cut->ofState.contains(user)) {
          llvm::append_range(work, user->getResults());
          continue;
        }
        if (auto it = placed.op.find(user); it != placed.op.end())
          readers.insert(it->second);
      }
    }
    if (readers.size() < 2)
      continue;
    if (userPinned.count(name.getValue().str())) {
      module.emitError("bb-auto-shard-stages: --shard ")
          << name.getValue()
          << ": several stages on meshes of their own read it, which keeps "
             "it whole";
      return signalPassFailure();
    }
    pins.push_back((name.getValue() + "=[]").str());
  }

  // One plan per stage, on a copy nested in the module while it is planned
  // (a dynamic pipeline runs on what the pass's operation holds).
  SmallVector<OwningOpRef<ModuleOp>> copies;
  for (int64_t s = 0; s < S; ++s) {
    OwningOpRef<ModuleOp> copy = module.clone();
    module.getBody()->push_back(copy->getOperation());
    OpPassManager pm(ModuleOp::getOperationName());
    AutoShardOptions as;
    as.cluster = cluster;
    as.meshShape = stageMeshes[s];
    as.stages = S;
    as.microbatches = microbatches;
    as.stageDevices = devices;
    as.planStage = s;
    // Where the stage lies: its links are priced there.
    for (int64_t t = 0; t < s; ++t)
      as.firstDevice += devices[t];
    as.pinBatch = pinBatch && shapes[s].front() > 1 ? 0 : -1;
    as.shardPins = llvm::join(pins, ";");
    as.timeLimit = timeLimit;
    as.refine = refine;
    pm.addPass(createAutoShard(as));
    LogicalResult planned = runPipeline(pm, *copy);
    (*copy)->remove();
    if (failed(planned)) {
      module.emitError("bb-auto-shard-stages: no plan for stage ")
          << s << " on mesh " << stageMeshes[s];
      return signalPassFailure();
    }
    copies.push_back(std::move(copy));
  }

  // The meshes, and each stage's ops and states from its own plan.
  OpBuilder b(ctx);
  b.setInsertionPointToStart(module.getBody());
  SmallVector<FlatSymbolRefAttr> syms;
  for (int64_t s = 0; s < S; ++s) {
    auto m = b.create<mesh::MeshOp>(module.getLoc(),
                                    "stage" + std::to_string(s), shapes[s]);
    syms.push_back(FlatSymbolRefAttr::get(m.getSymNameAttr()));
  }
  SmallVector<Operation *> ops = bodyOps(train);
  // Set at once (one setArgAttr per argument rebuilds the array each time).
  SmallVector<DictionaryAttr> argAttrs;
  train.getAllArgAttrs(argAttrs);
  for (int64_t s = 0; s < S; ++s) {
    auto planned = copies[s]->lookupSymbol<func::FuncOp>("train_step");
    SmallVector<Operation *> theirs = bodyOps(planned);
    if (theirs.size() != ops.size()) {
      module.emitError("bb-auto-shard-stages: stage ")
          << s << "'s plan changed @train_step";
      return signalPassFailure();
    }
    for (auto [mine, their] : llvm::zip(ops, theirs)) {
      auto it = placed.op.find(mine);
      if (it == placed.op.end() || it->second != s)
        continue;
      if (auto strategy = their->getAttr("bb.strategy"))
        mine->setAttr("bb.strategy", strategy);
    }
    for (BlockArgument a : body.getArguments()) {
      if (placed.arg.lookup(a) != s)
        continue;
      unsigned i = a.getArgNumber();
      if (auto attr = planned.getArgAttrOfType<mesh::MeshShardingAttr>(
              i, "bb.sharding")) {
        NamedAttrList attrs(argAttrs[i]);
        attrs.set("bb.sharding", onMesh(attr, a.getType(), syms[s]));
        argAttrs[i] = attrs.getDictionary(ctx);
      }
    }
  }
  train.setAllArgAttrs(argAttrs);

  // The plan: each stage's figures from its own copy.
  auto planOf = [&](int64_t s) {
    return (*copies[s])->getAttrOfType<DictionaryAttr>("bb.plan");
  };
  NamedAttrList plan(planOf(0));
  double solverSeconds = 0;
  int64_t variables = 0, constraints = 0;
  bool optimal = true;
  for (int64_t s = 0; s < S; ++s) {
    DictionaryAttr p = planOf(s);
    if (auto v = p.getAs<FloatAttr>("solver_seconds"))
      solverSeconds += v.getValueAsDouble();
    if (auto v = p.getAs<IntegerAttr>("variables"))
      variables += v.getInt();
    if (auto v = p.getAs<IntegerAttr>("constraints"))
      constraints += v.getInt();
    if (auto v = p.getAs<StringAttr>("solver"))
      optimal &= v.getValue() == "optimal";
  }
  for (NamedAttribute entry : planOf(0)) {
    auto array = dyn_cast<ArrayAttr>(entry.getValue());
    if (!entry.getName().getValue().starts_with("pipeline_stage_") || !array ||
        static_cast<int64_t>(array.size()) != S)
      continue;
    SmallVector<Attribute> merged;
    for (int64_t s = 0; s < S; ++s)
      merged.push_back(
          cast<ArrayAttr>(planOf(s).get(entry.getName()))[s]);
    plan.set(entry.getName(), b.getArrayAttr(merged));
  }
  plan.set("solver", b.getStringAttr(optimal ? "optimal" : "time limit"));
  plan.set("solver_seconds", b.getF64FloatAttr(solverSeconds));
  plan.set("variables", b.getI64IntegerAttr(variables));
  plan.set("constraints", b.getI64IntegerAttr(constraints));
  SmallVector<Attribute> meshes;
  for (const std::string &m : stageMeshes)
    meshes.push_back(b.getStringAttr(m));
  plan.set("pipeline_stage_meshes", b.getArrayAttr(meshes));
  module->setAttr("bb.plan", plan.getDictionary(ctx));
}

} // namespace
