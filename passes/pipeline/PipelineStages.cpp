//===- PipelineStages.cpp - @train_step cut into pipeline stages ----------===//
//
// See passes.td. Which op goes to which stage is StageCut.h's; this pass
// builds the stages' functions and what flows between them.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "compiler/costmodel/PipelineStages.h"
#include "passes/pipeline/StageCut.h"
#include "passes/sharding/ShardingRules.h"

#include "dialects/bb/BbInterfaces.h"
#include "dialects/bb/BbOps.h"
#include "passes/autodiff/TrainStepParts.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <limits>

namespace mlir::bb {
#define GEN_PASS_DEF_PIPELINESTAGES
#define GEN_PASS_DEF_PIPELINEMESH
#include "passes/pipeline/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// The layout `op` (planned) wants its operand `i` in, reduced where partial.
sharding::TensorSharding wantedSharding(Operation *op, unsigned i) {
  auto type = cast<RankedTensorType>(op->getOperand(i).getType());
  sharding::TensorSharding s = sharding::TensorSharding::replicated(type.getRank());
  if (auto attr = op->getAttrOfType<DenseI64ArrayAttr>("bb.strategy")) {
    sharding::Strategy strategy(attr.asArrayRef().begin(), attr.asArrayRef().end());
    s = sharding::operandSharding(sharding::ruleFor(op), strategy, i, type.getRank());
  }
  s.partialAxes.clear();
  return s;
}

/// A strategy for `op` that splits each loop indexing operand 0's dimensions
/// as `operand` is split (so the op runs on blocks without resharding);
/// nullopt when some split has no such loop.
std::optional<sharding::Strategy>
strategyMatching(Operation *op, const sharding::TensorSharding &operand,
                 int64_t meshRank) {
  sharding::OpRule rule = sharding::ruleFor(op);
  sharding::Strategy strategy(meshRank, -1);
  for (auto [dim, axes] : llvm::enumerate(operand.dimAxes))
    for (int16_t axis : axes) {
      auto it = llvm::find_if(rule.loops, [&](const sharding::Loop &l) {
        return !l.dims.empty() && l.dims[0] == static_cast<int64_t>(dim);
      });
      if (it == rule.loops.end())
        return std::nullopt;
      strategy[axis] = it - rule.loops.begin();
    }
  return strategy;
}

/// One function being built: a stage's forward, backward or update.
struct Part {
  func::FuncOp func;
  OpBuilder builder;
  IRMapping mapping;
  SmallVector<Value> results;
  SmallVector<DictionaryAttr> resultAttrs;
  /// The arguments' attributes, set with the type in finish() (setting them
  /// per argument rebuilds the function's type and attribute arrays each
  /// time: quadratic in the thousands of a large model's stage).
  SmallVector<DictionaryAttr> argAttrs;
  llvm::StringSet<> statesRead;
  /// The pipeline stage whose function this is.
  int64_t stage = 0;
  explicit Part(func::FuncOp f) : func(f), builder(f.getContext()) {
    builder.setInsertionPointToEnd(&f.getBody().front());
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      argAttrs.push_back(f.getArgAttrDict(i));
  }
  BlockArgument addArg(Type type, DictionaryAttr attrs) {
    argAttrs.push_back(attrs);
    return func.getBody().front().addArgument(type, func.getLoc());
  }
  void addResult(Value v, DictionaryAttr attrs) {
    results.push_back(v);
    resultAttrs.push_back(attrs);
  }
  void finish() {
    builder.create<func::ReturnOp>(func.getLoc(), results);
    func.setType(FunctionType::get(func.getContext(),
                                   func.getBody().front().getArgumentTypes(),
                                   TypeRange(ValueRange(results))));
    func.setAllResultAttrs(resultAttrs);
    for (DictionaryAttr &a : argAttrs)
      if (!a)
        a = DictionaryAttr::get(func.getContext());
    func.setAllArgAttrs(argAttrs);
  }
};

struct PipelineStagesPass
    : mlir::bb::impl::PipelineStagesBase<PipelineStagesPass> {
  using PipelineStagesBase::PipelineStagesBase;
  void runOnOperation() override;
};

void PipelineStagesPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  auto train = module.lookupSymbol<func::FuncOp>("train_step");
  if (!train) {
    module.emitError("bb-pipeline-stages: needs the @train_step that "
                     "bb-train-step builds");
    return signalPassFailure();
  }
  if (stages < 2 || microbatches < 1 || dataParallel < 1) {
    module.emitError("bb-pipeline-stages: needs stages >= 2, microbatches >= "
                     "1 and data-parallel >= 1");
    return signalPassFailure();
  }
  const int64_t numStages = stages;
  SmallVector<int64_t> devices(replicas.begin(), replicas.end());
  if (!devices.empty()) {
    bool valid = static_cast<int64_t>(devices.size()) == numStages &&
                 dataParallel == 1;
    for (int64_t r : devices)
      valid = valid && r >= 1 && microbatches % r == 0;
    if (!valid) {
      module.emitError("bb-pipeline-stages: replicas needs one count per "
                       "stage, each dividing microbatches, with "
                       "data-parallel = 1");
      return signalPassFailure();
    }
  }
  // With keep-sharding: the stage mesh the plan is for, or (planned by
  // bb-auto-shard-stages) each stage's own, @stage<s>.
  SmallVector<FlatSymbolRefAttr> stageMesh;
  SmallVector<SmallVector<int64_t>> stageMeshShape;
  int64_t meshRank = 0;
  if (keepSharding) {
    SmallVector<mesh::MeshOp> meshes(module.getOps<mesh::MeshOp>());
    if (meshes.empty()) {
      module.emitError("bb-pipeline-stages: keep-sharding needs the mesh of "
                       "a bb-auto-shard plan");
      return signalPassFailure();
    }
    meshRank = meshes.front().getShape().size();
    for (int64_t s = 0; s < numStages; ++s) {
      mesh::MeshOp m = meshes.front();
      if (meshes.size() > 1) {
        m = module.lookupSymbol<mesh::MeshOp>("stage" + std::to_string(s));
        if (!m || static_cast<int64_t>(meshes.size()) != numStages) {
          module.emitError("bb-pipeline-stages: keep-sharding needs one "
                           "mesh, or one per stage named @stage<s>");
          return signalPassFailure();
        }
      }
      stageMesh.push_back(FlatSymbolRefAttr::get(m.getSymNameAttr()));
      stageMeshShape.emplace_back(m.getShape().begin(), m.getShape().end());
    }
  }
  const bool meshPerStage =
      stageMesh.size() > 1 && stageMesh.front() != stageMesh.back();
  // Stages on meshes of their own: the cut balances each stage's cost over
  // its mesh's devices, as their plans' did.
  SmallVector<int64_t> weights = devices;
  if (meshPerStage && weights.empty())
    for (const SmallVector<int64_t> &shape : stageMeshShape)
      weights.push_back(sharding::meshDevices(shape));
  FailureOr<StageCut> cutOr =
      cutStages(train, numStages, "bb-pipeline-stages", weights);
  if (failed(cutOr))
    return signalPassFailure();
  StageCut &cut = *cutOr;
  Block &body = *cut.body;
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  Value loss = cut.loss, norm = cut.norm;
  Operation *sqrt = cut.sqrt;
  Value sumSquares = sqrt->getOperand(0);
  const SetVector<Operation *> &perStep = cut.perStep, &forward = cut.forward;
  const SmallVector<std::string> &blocks = cut.blocks;
  const std::vector<size_t> &starts = cut.starts;
  auto &stage = cut.stage;
  const SmallVector<Operation *> &ops = cut.ops;
  auto perMicrobatch = [&](Operation *op) { return cut.perMicrobatch(op); };

  // The gradients (per micro-batch) and their parameters.
  // Gradient -> the update ops reading it: parameters whose gradients are
  // one value after CSE (two biases added into one sum, as a ResNet's
  // residual addition does with its two batch norms) share it, and it
  // counts once per parameter in the global norm.
  llvm::MapVector<Value, SmallVector<Operation *, 1>> gradOf;
  for (Operation &op : body.without_terminator())
    if (Value g = updateGradient(&op))
      gradOf[g].push_back(&op);

  // The functions.
  OpBuilder mb(ctx);
  mb.setInsertionPointAfter(train);
  auto newFunc = [&](std::string name) {
    auto f = mb.create<func::FuncOp>(train.getLoc(), name,
                                     FunctionType::get(ctx, {}, {}));
    f.addEntryBlock();
    mb.setInsertionPointAfter(f);
    return f;
  };
  // Each function on its stage, and with a mesh per stage (planned by
  // bb-auto-shard-stages) on that mesh.
  auto newPart = [&](int64_t s, StringRef part) {
    auto p = std::make_unique<Part>(
        newFunc("stage" + std::to_string(s) + "_" + part.str()));
    p->stage = s;
    return p;
  };
  std::vector<std::unique_ptr<Part>> fwdParts, bwdParts, updateParts,
      gradsqParts;
  for (int64_t s = 0; s < numStages; ++s)
    fwdParts.push_back(newPart(s, "forward"));
  for (int64_t s = 0; s < numStages; ++s)
    bwdParts.push_back(newPart(s, "backward"));
  auto partOf = [&](Operation *op) -> Part * {
    int64_t s = stage.lookup(op);
    return forward.contains(op) ? fwdParts[s].get() : bwdParts[s].get();
  };
  auto named = [&](StringRef name, StringRef role,
                   const sharding::TensorSharding *layout = nullptr,
                   int64_t s = 0) {
    NamedAttrList list;
    list.set("bb.name", StringAttr::get(ctx, name));
    list.set("bb.role", StringAttr::get(ctx, role));
    if (keepSharding && layout && !layout->isReplicated())
      list.set("bb.sharding", layout->toAttr(stageMesh[s]));
    return list.getDictionary(ctx);
  };
  // Arguments of @train_step: data and state keep their attributes.
  auto argument = [&](Part &p, BlockArgument a) -> Value {
    if (Value m = p.mapping.lookupOrNull(a))
      return m;
    NamedAttrList attrs(train.getArgAttrDict(a.getArgNumber()));
    if (!keepSharding)
      attrs.erase("bb.sharding");
    if (auto state = train.getArgAttrOfType<StringAttr>(a.getArgNumber(), "bb.name");
        state && train.getArgAttr(a.getArgNumber(), "bb.state"))
      p.statesRead.insert(state.getValue());
    Value v = p.addArg(a.getType(), attrs.getDictionary(ctx));
    p.mapping.map(a, v);
    return v;
  };
  auto constant = [&](Part &p, ConstantOp c) -> Value {
    if (Value m = p.mapping.lookupOrNull(c.getResult()))
      return m;
    Operation *clone = p.builder.clone(*c);
    p.mapping.map(c.getResult(), clone->getResult(0));
    return clone->getResult(0);
  };
  // Crossings: one per (value, consuming function).
  int64_t nextStash = 0, nextTransfer = 0;
  llvm::DenseMap<std::pair<Value, Part *>, Value> crossed;
  // `wanted`: the layout the first consumer of `v` in `to` wants it in.
  auto cross = [&](Value v, Part &from, Part &to, bool stash,
                   const sharding::TensorSharding &wanted) -> Value {
    auto key = std::make_pair(v, &to);
    if (Value c = crossed.lookup(key))
      return c;
    std::string name = stash ? "stash" + std::to_string(nextStash++)
                             : "xfer" + std::to_string(nextTransfer++);
    // Between stages on meshes of different shapes, every device of the
    // sender's mesh gathers it whole, and each device of the receiver's gets
    // the block its first consumer wants (the driver cuts it from the
    // whole). Between meshes of one shape, device k's block goes to device
    // k, as with one stage mesh.
    const bool reshaped =
        meshPerStage && stageMeshShape[from.stage] != stageMeshShape[to.stage];
    sharding::TensorSharding layout =
        reshaped ? sharding::TensorSharding::replicated(
                       cast<RankedTensorType>(v.getType()).getRank())
                 : sharding::plannedSharding(v);
    from.addResult(from.mapping.lookup(v),
                   named(name, stash ? "stash" : "send", &layout, from.stage));
    // Inserting an argument keeps the builder's place at the block's end.
    Value arg = to.addArg(v.getType(), named(name, stash ? "stash" : "recv",
                                             reshaped ? &wanted : &layout,
                                             to.stage));
    crossed[key] = arg;
    return arg;
  };

  // Under dynamic loss scaling the backward pass starts from the loss scale
  // (the state @train_step returns as its `loss_scale`). A micro-batch's
  // loss is the mean over its share of the batch, so its backward starts
  // from that share of the scale, scale / (micro-batches x replicas), and
  // the schedule sums the gradients instead of averaging them: the
  // activations' gradients are then those of the unpipelined step, and
  // overflow f16 under the same scales.
  BlockArgument lossScale;
  for (unsigned i = 0; i < train.getNumResults(); ++i)
    if (auto role = train.getResultAttrOfType<StringAttr>(i, "bb.role");
        role && role.getValue() == "loss_scale") {
      lossScale = dyn_cast<BlockArgument>(ret.getOperand(i));
      if (!lossScale) {
        train.emitError("bb-pipeline-stages: the loss_scale result is not a "
                        "state argument");
        return signalPassFailure();
      }
    }
  auto seedShare = [&](Part &p) {
    Value scale = argument(p, lossScale);
    Location loc = train.getLoc();
    Value parts = p.builder.create<ConstantOp>(
        loc, static_cast<float>(microbatches * dataParallel));
    p.mapping.map(lossScale, p.builder.create<DivOp>(loc, scale, parts));
  };

  // A value of state alone (StageCut::ofState) another function needs is
  // computed again there, from the states it reads.
  std::function<void(Part &, Value)> recompute = [&](Part &p, Value v) {
    Operation *def = v.getDefiningOp();
    for (Value o : def->getOperands()) {
      if (p.mapping.contains(o))
        continue;
      if (auto a = dyn_cast<BlockArgument>(o))
        argument(p, a);
      else if (auto c = o.getDefiningOp<ConstantOp>())
        constant(p, c);
      else
        recompute(p, o);
    }
    p.builder.clone(*def, p.mapping);
  };

  // Forward parts in stage order, then backward parts from the last stage:
  // the order the schedule runs one micro-batch in, so every crossing's
  // source function exists when its destination asks for it.
  auto emitOps = [&](bool fwd) -> LogicalResult {
    for (Operation *op : ops) {
      if (forward.contains(op) != fwd)
        continue;
      Part &p = *partOf(op);
      for (auto [operand, v] : llvm::enumerate(op->getOperands())) {
        if (p.mapping.contains(v))
          continue;
        if (auto a = dyn_cast<BlockArgument>(v)) {
          auto role = train.getArgAttrOfType<StringAttr>(a.getArgNumber(), "bb.role");
          if (role && (role.getValue() == "lr" || role.getValue() == "step"))
            return op->emitError("bb-pipeline-stages: per-micro-batch op "
                                 "uses the ")
                   << role.getValue();
          if (a == lossScale && !fwd)
            seedShare(p);
          else
            argument(p, a);
        } else if (auto c = v.getDefiningOp<ConstantOp>()) {
          constant(p, c);
        } else if (cut.ofState.contains(v.getDefiningOp()) &&
                   partOf(v.getDefiningOp()) != &p) {
          recompute(p, v);
        } else {
          Operation *def = v.getDefiningOp();
          Part *from = partOf(def);
          // A forward value the stage's own forward has (computed or
          // received) reaches its backward through the stash.
          Part &ownForward = *fwdParts[stage[op]];
          bool stash = forward.contains(def) && !fwd &&
                       ownForward.mapping.contains(v);
          if (stash)
            from = &ownForward;
          p.mapping.map(v, cross(v, *from, p, stash,
                                 wantedSharding(op, operand)));
        }
      }
      Operation *clone = p.builder.clone(*op, p.mapping);
      (void)clone;
    }
    return success();
  };
  if (failed(emitOps(true)) || failed(emitOps(false)))
    return signalPassFailure();
  // The loss and the gradients leave the function that computes them.
  partOf(loss.getDefiningOp())
      ->addResult(partOf(loss.getDefiningOp())->mapping.lookup(loss),
                  named("loss", "loss"));
  SmallVector<SmallVector<Value>> stageGrads(numStages);
  llvm::DenseMap<Value, std::string> gradName;
  // A gradient leaves the backward as its producer leaves it, partial sums
  // included: the driver accumulates it over the micro-batches and the
  // stage's gradsq function reduces it to the layout the update wants
  // (gradLayout) once per step, as the cost model prices it, instead of
  // once per micro-batch.
  llvm::DenseMap<Value, sharding::TensorSharding> gradLayout, gradProduced;
  for (auto &[g, updates] : gradOf) {
    Operation *update = updates.front();
    Operation *def = g.getDefiningOp();
    if (!perMicrobatch(def) || forward.contains(def)) {
      update->emitError("bb-pipeline-stages: a gradient that is not computed "
                        "by the backward pass");
      return signalPassFailure();
    }
    Value param = update->getOperand(0);
    auto a = dyn_cast<BlockArgument>(param);
    auto pname = a ? train.getArgAttrOfType<StringAttr>(a.getArgNumber(), "bb.name")
                   : StringAttr();
    if (!pname) {
      update->emitError("bb-pipeline-stages: updates a value that is not a "
                        "named state argument");
      return signalPassFailure();
    }
    gradName[g] = ("grad:" + pname.getValue()).str();
    gradLayout[g] = wantedSharding(update, 1);
    gradProduced[g] = sharding::plannedSharding(g, /*keepPartial=*/true);
    Part &p = *partOf(def);
    p.addResult(p.mapping.lookup(g),
                named(gradName[g], "grad", &gradProduced[g], p.stage));
    stageGrads[stage[def]].push_back(g);
  }

  // Update functions: the per-step ops of the stage's parameters, from the
  // averaged gradients and the global sum of squares.
  SmallVector<llvm::StringSet<>> owns(numStages);
  for (int64_t s = 0; s < numStages; ++s) {
    updateParts.push_back(newPart(s, "update"));
    Part &p = *updateParts.back();
    for (Value g : stageGrads[s])
      p.mapping.map(g, p.addArg(g.getType(),
                                named(gradName[g], "grad", &gradLayout[g], s)));
    p.mapping.map(sumSquares,
                  p.addArg(sumSquares.getType(), named("grad_sumsq", "grad_sumsq")));
    std::function<LogicalResult(Value)> materialize = [&](Value v) -> LogicalResult {
      if (p.mapping.contains(v))
        return success();
      if (auto a = dyn_cast<BlockArgument>(v)) {
        argument(p, a);
        return success();
      }
      Operation *def = v.getDefiningOp();
      if (auto c = dyn_cast<ConstantOp>(def)) {
        constant(p, c);
        return success();
      }
      if (!perStep.contains(def) && def != sqrt)
        return def->emitError("bb-pipeline-stages: internal error: the update "
                              "needs a per-micro-batch value (")
               << def->getName() << ")";
      for (Value o : def->getOperands())
        if (failed(materialize(o)))
          return failure();
      p.builder.clone(*def, p.mapping);
      return success();
    };
    if (failed(materialize(norm)))
      return signalPassFailure();
    p.addResult(p.mapping.lookup(norm), named("grad_norm", "grad_norm"));
    for (unsigned i = 0; i < train.getNumResults(); ++i) {
      auto k = train.getResultAttrOfType<IntegerAttr>(i, "bb.updates");
      auto role = train.getResultAttrOfType<StringAttr>(i, "bb.role");
      if (role && role.getValue() == "loss_scale") {
        // The scale the step used, for the driver's log: every stage
        // reads it to unscale its gradients.
        if (failed(materialize(ret.getOperand(i))))
          return signalPassFailure();
        p.addResult(p.mapping.lookup(ret.getOperand(i)),
                    train.getResultAttrDict(i));
        continue;
      }
      if (!k)
        continue;
      Operation *update = ret.getOperand(i).getDefiningOp();
      if (!update)
        continue;
      if (Value g = updateGradient(update)) {
        // A parameter and its optimizer state: its gradient's stage.
        if (!gradOf.count(g) || stage[g.getDefiningOp()] != s)
          continue;
      } else if (!perStep.contains(update) || s != 0) {
        // State of the step without a gradient (the loss scaler's, AdamW's
        // count under loss scaling): the first stage updates it and sends
        // the new value to the stages that read it (as a shared
        // parameter's); every stage computes the same decisions from the
        // global sum of squares.
        continue;
      }
      if (failed(materialize(ret.getOperand(i))))
        return signalPassFailure();
      Value arg = p.mapping.lookup(body.getArgument(k.getInt()));
      NamedAttrList attrs(train.getResultAttrDict(i));
      attrs.set("bb.updates",
                IntegerAttr::get(IntegerType::get(ctx, 64),
                                 cast<BlockArgument>(arg).getArgNumber()));
      if (!keepSharding)
        attrs.erase("bb.sharding");
      p.addResult(p.mapping.lookup(ret.getOperand(i)), attrs.getDictionary(ctx));
      owns[s].insert(train.getArgAttrOfType<StringAttr>(k.getInt(), "bb.name").getValue());
    }
  }
  // Sum of squares of each stage's (accumulated) gradients; its ops split as
  // the gradients are, so a partitioned stage reduces over its blocks.
  auto scalarType = RankedTensorType::get({}, Float32Type::get(ctx));
  for (int64_t s = 0; s < numStages; ++s) {
    gradsqParts.push_back(newPart(s, "gradsq"));
    Part &p = *gradsqParts.back();
    OpBuilder &b = p.builder;
    Location loc = train.getLoc();
    Value sum;
    for (Value g : stageGrads[s]) {
      // The accumulated gradient, reduced (or relaid) once, for the norm
      // and the update both.
      Value arg = p.addArg(g.getType(),
                           named(gradName[g], "grad", &gradProduced[g], s));
      if (keepSharding && gradProduced[g] != gradLayout[g])
        p.addResult(arg, named(gradName[g], "grad", &gradLayout[g], s));
      int64_t rank = cast<RankedTensorType>(g.getType()).getRank();
      Operation *sq = b.create<MulOp>(loc, arg, arg);
      Value v = sq->getResult(0);
      if (rank) {
        SmallVector<int64_t> all;
        for (int64_t d = 0; d < rank; ++d)
          all.push_back(d);
        Operation *red = b.create<ReduceSumOp>(loc, scalarType, v,
                                               b.getDenseI64ArrayAttr(all), UnitAttr());
        if (keepSharding)
          for (Operation *op : {sq, red})
            if (auto st = strategyMatching(op, gradLayout[g], meshRank))
              op->setAttr("bb.strategy", b.getDenseI64ArrayAttr(*st));
        v = red->getResult(0);
      }
      if (const size_t readers = gradOf.lookup(g).size(); readers > 1)
        v = b.create<MulOp>(loc, v,
                            b.create<ConstantOp>(loc, static_cast<float>(readers)));
      sum = sum ? Value(b.create<AddOp>(loc, sum, v)) : v;
    }
    if (!sum)
      sum = b.create<ConstantOp>(loc, 0.0f);
    p.addResult(sum, named("grad_sumsq", "grad_sumsq"));
  }
  for (auto *parts : {&fwdParts, &bwdParts, &updateParts, &gradsqParts})
    for (auto &p : *parts) {
      p->finish();
      if (meshPerStage)
        p->func->setAttr("bb.mesh", stageMesh[p->stage]);
    }

  // What the driver needs to know.
  NamedAttrList attrs;
  if (auto existing = module->getAttrOfType<DictionaryAttr>("bb.attributes"))
    attrs.append(existing.getValue());
  auto str = [&](StringRef key, StringRef value) {
    attrs.set(key, StringAttr::get(ctx, value));
  };
  str("pipeline.stages", std::to_string(numStages));
  str("pipeline.microbatches", std::to_string(microbatches));
  str("pipeline.data_parallel", std::to_string(dataParallel));
  int64_t devicesInAll = 0;
  for (int64_t r : devices)
    devicesInAll += r;
  if (!devices.empty())
    str("pipeline.replicas",
        llvm::join(llvm::map_range(devices,
                                   [](int64_t r) { return std::to_string(r); }),
                   ","));
  // How the schedule combines the micro-batches' and replicas' gradients.
  str("pipeline.gradients", lossScale ? "sum" : "mean");
  auto sortedJoin = [](const llvm::StringSet<> &set) {
    SmallVector<StringRef> keys;
    for (auto &e : set)
      keys.push_back(e.getKey());
    llvm::sort(keys);
    return llvm::join(keys, ",");
  };
  std::vector<double> stageCost = costmodel::stageCosts(cut.blockCost, starts);
  double total = 0;
  for (double c : stageCost)
    total += c;
  for (int64_t s = 0; s < numStages; ++s) {
    std::string prefix = "pipeline.stage" + std::to_string(s) + ".";
    size_t end = s + 1 < numStages ? starts[s + 1] : blocks.size();
    str(prefix + "blocks",
        llvm::join(ArrayRef<std::string>(blocks).slice(starts[s], end - starts[s]), ","));
    char share[32];
    snprintf(share, sizeof share, "%.3f", total > 0 ? stageCost[s] / total : 0.0);
    str(prefix + "share", share);
    str(prefix + "owns", sortedJoin(owns[s]));
    // A state the stage's update reads but does not update (the loss
    // scale, on every stage but the first) is read too.
    llvm::StringSet<> reads = fwdParts[s]->statesRead;
    for (auto &e : bwdParts[s]->statesRead)
      reads.insert(e.getKey());
    for (auto &e : updateParts[s]->statesRead)
      if (!owns[s].contains(e.getKey()))
        reads.insert(e.getKey());
    str(prefix + "reads", sortedJoin(reads));
  }
  module->setAttr("bb.attributes", attrs.getDictionary(ctx));
  if (!keepSharding) {
    OpBuilder top(module.getBodyRegion());
    if (devices.empty())
      top.create<mesh::MeshOp>(module.getLoc(), "pipeline",
                               ArrayRef<int64_t>{numStages, dataParallel});
    else
      top.create<mesh::MeshOp>(module.getLoc(), "pipeline",
                               ArrayRef<int64_t>{devicesInAll});
  }
  train.erase();
}

struct PipelineMeshPass : mlir::bb::impl::PipelineMeshBase<PipelineMeshPass> {
  using PipelineMeshBase::PipelineMeshBase;
  void runOnOperation() override;
};

void PipelineMeshPass::runOnOperation() {
  ModuleOp module = getOperation();
  SmallVector<mesh::MeshOp> meshes(module.getOps<mesh::MeshOp>());
  if (meshes.size() != 1 || stages < 1) {
    module.emitError("bb-pipeline-mesh: needs one mesh.mesh and stages >= 1");
    return signalPassFailure();
  }
  mesh::MeshOp meshOp = meshes.front();
  auto meshSym = FlatSymbolRefAttr::get(meshOp.getSymNameAttr());
  SmallVector<int64_t> shape = {stages};
  llvm::append_range(shape, meshOp.getShape());
  OpBuilder b(meshOp);
  b.create<mesh::MeshOp>(meshOp.getLoc(), meshOp.getSymName(), shape);
  meshOp.erase();
  auto shift = [&](mesh::MeshShardingAttr attr) {
    auto s = sharding::TensorSharding::fromAttr(attr, attr.getSplitAxes().size());
    for (auto &axes : s.dimAxes)
      for (int16_t &a : axes)
        ++a;
    for (int16_t &a : s.partialAxes)
      ++a;
    return s.toAttr(meshSym);
  };
  module.walk([&](Operation *op) {
    if (auto f = dyn_cast<func::FuncOp>(op)) {
      for (unsigned i = 0; i < f.getNumArguments(); ++i)
        if (auto a = f.getArgAttrOfType<mesh::MeshShardingAttr>(i, "bb.sharding"))
          f.setArgAttr(i, "bb.sharding", shift(a));
      for (unsigned i = 0; i < f.getNumResults(); ++i)
        if (auto a = f.getResultAttrOfType<mesh::MeshShardingAttr>(i, "bb.sharding"))
          f.setResultAttr(i, "bb.sharding", shift(a));
      return;
    }
    for (NamedAttribute attr : op->getAttrs()) {
      if (auto a = dyn_cast<mesh::MeshShardingAttr>(attr.getValue()))
        op->setAttr(attr.getName(), shift(a));
      else if (auto axes = dyn_cast<DenseI16ArrayAttr>(attr.getValue());
               axes && attr.getName() == "mesh_axes") {
        SmallVector<int16_t> shifted;
        for (int16_t a : axes.asArrayRef())
          shifted.push_back(a + 1);
        op->setAttr(attr.getName(), DenseI16ArrayAttr::get(op->getContext(), shifted));
      }
    }
  });
}

} // namespace
