//===- AutoShard.cpp - choose every op's sharding by cost (Alpa's ILP) ----===//
#include "passes/Passes.h"

#include "compiler/cluster/Cluster.h"
#include "compiler/costmodel/Collective.h"
#include "compiler/costmodel/DeviceMesh.h"
#include "compiler/costmodel/Memory.h"
#include "compiler/costmodel/OpCost.h"
#include "compiler/solver/BinaryProgram.h"
#include "compiler/support/Bytes.h"
#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/IR/Builders.h"
#include "passes/autodiff/TrainStepParts.h"
#include "passes/pipeline/AccumulateGradients.h"
#include "passes/pipeline/StageCut.h"
#include "passes/sharding/ShardingRules.h"

#include <functional>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::bb {
#define GEN_PASS_DEF_AUTOSHARD
#include "passes/sharding/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;
using namespace mlir::bb::sharding;
namespace pb = bumblebee::cluster;

namespace {

/// The cost of a layout change planReshard cannot make (canReshard): the
/// program gets no joint choice for it, and a strategy whose own cost is
/// impossible is fixed at 0.
constexpr double kImpossible = std::numeric_limits<double>::infinity();

int64_t bytesOf(RankedTensorType t, ArrayRef<int64_t> localShape) {
  int64_t n = 1;
  for (int64_t d : localShape)
    n *= d;
  return n * getElementByteWidth(t.getElementType());
}

/// Appends a uniqued object's address to a memo key.
void appendPointer(std::string &key, const void *p) {
  key.append(reinterpret_cast<const char *>(&p), sizeof p);
}

/// One choice the program makes: an op's strategy, or an argument's layout.
struct Node {
  Operation *op = nullptr;
  BlockArgument arg;
  OpRule rule;
  SmallVector<Strategy> strategies;
  int firstVar = -1;
  /// What its rule is derived from (Planner::ruleOf's memo entry; an
  /// argument's type): nodes of one class (Planner::solve) share it.
  const void *ruleKey = nullptr;
  /// State another function already placed: one strategy, never filtered.
  bool placed = false;

  TensorSharding produced(unsigned result, int64_t rank, size_t s) const {
    return resultSharding(rule, strategies[s], result, rank);
  }
};

/// A rule whose loops are a tensor's own dimensions: the layouts an
/// argument may take.
OpRule identityRule(RankedTensorType type) {
  OpRule rule;
  rule.numOperands = 1;
  rule.numResults = 1;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.getShape()[d] > 1) {
      Loop l;
      l.extent = type.getShape()[d];
      l.dims = {d, d};
      rule.loops.push_back(l);
    }
  return rule;
}

class Planner {
public:
  Planner(const cluster::Cluster &cluster, const costmodel::DeviceMesh &mesh,
          int64_t pinBatch, bool zero, double memoryLimit,
          std::map<std::string, std::string> pins)
      : cluster(cluster), mesh(mesh), meshShape(mesh.shape()),
        pinBatch(pinBatch), zero(zero), memoryLimit(memoryLimit),
        pins(std::move(pins)) {}

  /// Plans `func`: exactly, or (`axiswise`) one mesh axis at a time.
  LogicalResult plan(func::FuncOp func, double timeLimit, FlatSymbolRefAttr sym,
                     bool axiswise, bool refine);

  /// A pinned name that matched nothing.
  std::optional<std::string> unusedPin() const {
    for (const auto &[name, text] : pins)
      if (!pinsUsed.count(name))
        return name;
    return std::nullopt;
  }

  double computeSeconds = 0, communicationSeconds = 0, solverSeconds = 0;
  double intraHostSeconds = 0, interHostSeconds = 0, modelFlops = 0;
  /// Of the above, what the once-per-step part costs: the ops downstream of
  /// a gradient (global norm, optimizer update) and the layout changes into
  /// them and back into the state. A pipeline runs it once per step, not
  /// once per micro-batch (compiler/pipeline/PipelinePlan.cpp).
  double stepComputeSeconds = 0, stepIntraHostSeconds = 0,
         stepInterHostSeconds = 0;
  int64_t stateBytes = 0, activationBytes = 0, weightBytes = 0;
  int64_t variables = 0, constraints = 0;
  bool optimal = true;
  /// Planning one micro-batch's step of a pipeline (the `stages` and
  /// `microbatches` options): @train_step gets memory rows per stage of
  /// bb-pipeline-stages' cut (StageCut.h), and the objective weighs per-step
  /// work `stepWeight`. Other functions (@eval_step) count `stateScale` of
  /// the state and weights and `activationScale` of the live activations:
  /// an average stage's.
  int64_t stages = 1, microbatches = 1;
  /// Devices of each stage (stage replication); empty: one stage mesh each.
  SmallVector<int64_t> stageReplicas;
  /// The `plan-stage` option: the one stage whose memory rows count (-1:
  /// every stage's).
  int64_t planStage = -1;
  /// The `stage-devices` option: what the cut divides each stage's cost by
  /// when the stages are not replicated (stages on meshes of their own).
  SmallVector<int64_t> stageDevices;
  double stateScale = 1, activationScale = 1, stepWeight = 1;
  /// The `prune-above` option (seconds of pipelined step; 0: off).
  double pruneAbove = 0;
  /// The pipelined step's bytes per device, per stage, under the plan: its
  /// state, its weights, and the rest (one micro-batch's peak, the gradient
  /// buffers, the other micro-batches' stashes); and its stash per
  /// micro-batch.
  std::vector<int64_t> stageStateBytes, stageWeightBytes, stageActivationBytes,
      stageStashBytes;
  /// Seconds of work per pipeline stage: compute, and communication within
  /// and between hosts.
  struct StageSeconds {
    std::vector<double> compute, intraHost, interHost;
  };
  /// The pipelined step's work per stage under the plan, each op's and each
  /// layout change into it on the op's stage: one micro-batch's, and the
  /// once-per-step work (the stage's updates and what leads into them).
  StageSeconds microbatchWork, stepWork;

private:
  /// Which strategies a round may choose, per node index.
  using Filter = std::function<bool(size_t, const Strategy &)>;
  /// One 0-1 program over the strategies `filter` allows. With `final`,
  /// writes the plan on the IR and books its costs; otherwise returns the
  /// chosen strategies in `chosenOut`. Memory counts `memoryScale` times
  /// what the chosen strategies imply (axes decided later divide it).
  /// `quiet`: no plan is a plain failure, without a diagnostic.
  /// `objectiveOut`: the chosen strategies' predicted time.
  LogicalResult solve(func::FuncOp func, double timeLimit,
                      FlatSymbolRefAttr sym, const Filter &filter,
                      double memoryScale, bool final,
                      std::vector<Strategy> *chosenOut, bool quiet = false,
                      double *objectiveOut = nullptr);

  double reshardCost(const TensorSharding &from, const TensorSharding &to,
                     RankedTensorType type);
  /// enumerateStrategies(rule, meshShape) once per rule (`ruleKey`).
  const SmallVector<Strategy> &strategiesOf(const OpRule &rule,
                                            const void *ruleKey) {
    auto [it, added] = strategyMemo.try_emplace(ruleKey);
    if (added)
      it->second = enumerateStrategies(rule, meshShape);
    return it->second;
  }
  llvm::DenseMap<const void *, SmallVector<Strategy>> strategyMemo;
  /// collective(): its time, and whether its group spans hosts.
  std::map<std::tuple<int, SmallVector<int16_t, 4>, double>,
           std::pair<double, bool>>
      collectiveMemo;
  /// ruleFor(op), computed once per kind of op: the rule depends only on
  /// the op's name, attributes and types (all uniqued), which the layers
  /// of a model repeat.
  const OpRule &ruleOf(Operation *op, const void **ruleKey) {
    std::string key;
    appendPointer(key, op->getName().getAsOpaquePointer());
    appendPointer(key, op->getRawDictionaryAttrs().getAsOpaquePointer());
    appendPointer(key, op->getPropertiesAsAttribute().getAsOpaquePointer());
    for (Type t : op->getOperandTypes())
      appendPointer(key, t.getAsOpaquePointer());
    key += '>';
    for (Type t : op->getResultTypes())
      appendPointer(key, t.getAsOpaquePointer());
    auto [it, added] = ruleMemo.try_emplace(key);
    if (added)
      it->second = ruleFor(op);
    *ruleKey = &it->second;
    return it->second;
  }
  double collective(pb::CollectiveKind kind, ArrayRef<int16_t> axes,
                    double bytes) {
    // Computed once per kind, axes and size: the layers repeat them.
    auto [it, added] = collectiveMemo.try_emplace(
        {static_cast<int>(kind), SmallVector<int16_t, 4>(axes), bytes});
    if (added) {
      SmallVector<int64_t> a(axes.begin(), axes.end());
      it->second.first = costmodel::meshCollectiveTime(cluster, mesh, a, kind, bytes);
      auto group = mesh.groupOf(mesh.firstDevice(), a);
      it->second.second = costmodel::groupLayout(cluster, group).spansHosts();
    }
    const double t = it->second.first;
    if (accounting) {
      const bool inter = it->second.second;
      (inter ? interHostSeconds : intraHostSeconds) += t;
      if (perStepEdge)
        (inter ? stepInterHostSeconds : stepIntraHostSeconds) += t;
      if (bookingStage >= 0) {
        StageSeconds &work = perStepEdge ? stepWork : microbatchWork;
        (inter ? work.interHost : work.intraHost)[bookingStage] += t;
      }
    }
    return t;
  }
  double splitFactor(const Strategy &s) const {
    double f = 1;
    for (auto [axis, l] : llvm::enumerate(s))
      if (l >= 0)
        f *= meshShape[axis];
    return f;
  }

  /// With `stages` > 1 and @train_step: which stage each op and state
  /// argument is on (bb-pipeline-stages' cut; per-step ops on the stage of
  /// the gradients they read). Empty otherwise.
  LogicalResult cutIntoStages(func::FuncOp func);
  llvm::DenseMap<Operation *, int64_t> opStage;
  llvm::DenseMap<Value, int64_t> argStage;
  SetVector<Operation *> forwardOfCut;
  /// Forward ops of state alone, which stages compute again rather than
  /// stash (StageCut::ofState).
  llvm::DenseSet<Operation *> ofStateOfCut;
  int64_t inFlight(int64_t stage) const {
    return std::min(stages - stage,
                    stageReplicas.empty()
                        ? microbatches
                        : microbatches / stageReplicas[stage]);
  }

  const cluster::Cluster &cluster;
  const costmodel::DeviceMesh &mesh;
  ArrayRef<int64_t> meshShape;
  int64_t pinBatch;
  bool zero;
  double memoryLimit; ///< bytes per device; 0: no limit
  /// User-pinned layouts of named inputs, parameters and weights (split
  /// axes text), and the names that matched something.
  std::map<std::string, std::string> pins;
  std::set<std::string> pinsUsed;
  std::unordered_map<std::string, double> reshardMemo;
  std::unordered_map<std::string, OpRule> ruleMemo;
  /// While set, collective() books each time under the links it crosses
  /// (and reshardCost() bypasses its memo).
  bool accounting = false;
  /// While accounting: the edge being booked leads into per-step work.
  bool perStepEdge = false;
  /// While accounting a pipelined step: the stage the edge is booked on
  /// (-1: none).
  int64_t bookingStage = -1;
  int planned = 0;
  std::set<std::pair<const void *, std::string>> weightBlocks;
  /// Where each state (by name) lives, once a function has placed it.
  std::map<std::string, TensorSharding> placedStates;
};

/// The time of the collectives that turn `from` into `to` (planReshard,
/// which the partitioner emits alike).
double Planner::reshardCost(const TensorSharding &from, const TensorSharding &to,
                            RankedTensorType type) {
  if (from == to)
    return 0;
  if (!canReshard(from, to))
    return kImpossible;
  // The memo's key: both layouts and the (uniqued) type, as bytes. Printing
  // them instead made this a fifth of the planning time.
  std::string key;
  auto append = [&](const TensorSharding &s) {
    for (const auto &axes : s.dimAxes) {
      key += static_cast<char>(axes.size());
      for (int16_t a : axes)
        key += static_cast<char>(a);
    }
    key += static_cast<char>(-1);
    for (int16_t a : s.partialAxes)
      key += static_cast<char>(a);
    key += static_cast<char>(-2 - static_cast<int>(s.partialKind));
  };
  append(from);
  append(to);
  appendPointer(key, type.getAsOpaquePointer());
  auto it = reshardMemo.find(key);
  if (!accounting && it != reshardMemo.end())
    return it->second;
  const double cost = reshardSeconds(
      from, to, type, meshShape,
      [&](pb::CollectiveKind kind, ArrayRef<int16_t> axes, double bytes) {
        return collective(kind, axes, bytes);
      });
  reshardMemo[key] = cost;
  return cost;
}

LogicalResult Planner::cutIntoStages(func::FuncOp func) {
  opStage.clear();
  argStage.clear();
  forwardOfCut.clear();
  ofStateOfCut.clear();
  if (stages < 2 || func.getSymName() != "train_step")
    return success();
  FailureOr<StageCut> cut =
      cutStages(func, stages, "bb-auto-shard",
                stageReplicas.empty() ? stageDevices : stageReplicas);
  if (failed(cut))
    return failure();
  StagePlacement placed = placeOnStages(*cut);
  opStage = std::move(placed.op);
  argStage = std::move(placed.arg);
  forwardOfCut = std::move(cut->forward);
  ofStateOfCut = std::move(cut->ofState);
  return success();
}

LogicalResult Planner::plan(func::FuncOp func, double timeLimit,
                            FlatSymbolRefAttr sym, bool axiswise, bool refine) {
  if (failed(cutIntoStages(func)))
    return failure();
  auto all = [](size_t, const Strategy &) { return true; };
  SmallVector<int64_t> axes;
  for (int64_t a = meshShape.size() - 1; a >= 0; --a)
    if (meshShape[a] > 1)
      axes.push_back(a);
  if (!axiswise || axes.size() < 2)
    return solve(func, timeLimit, sym, all, 1.0, true, nullptr);
  // One axis at a time, innermost (fastest links) first: each round chooses
  // the loop its axis splits, keeping earlier rounds' choices and leaving
  // later axes unused. Quadratically fewer joint choices per edge than the
  // exact program; not guaranteed optimal.
  std::vector<Strategy> decided;
  double objective = 0;
  for (size_t round = 0; round < axes.size(); ++round) {
    llvm::SmallDenseSet<int64_t> done(axes.begin(), axes.begin() + round);
    int64_t current = axes[round];
    double later = 1;
    for (size_t r = round + 1; r < axes.size(); ++r)
      later *= meshShape[axes[r]];
    Filter filter = [&](size_t node, const Strategy &s) {
      for (size_t a = 0; a < s.size(); ++a) {
        if (done.contains(a)) {
          if (s[a] != decided[node][a])
            return false;
        } else if (static_cast<int64_t>(a) != current && s[a] != -1) {
          return false;
        }
      }
      return true;
    };
    std::vector<Strategy> chosen;
    bool final = !refine && round + 1 == axes.size();
    if (failed(solve(func, timeLimit, sym, filter, 1.0 / later, final, &chosen,
                     /*quiet=*/false, &objective)))
      return failure();
    decided = std::move(chosen);
  }
  if (!refine)
    return success();
  // Refinement (coordinate descent): each axis again, the others kept as
  // decided, under the whole memory limit; a choice is kept when the step
  // gets cheaper. The first rounds decide an inner axis before knowing what
  // memory will need from the outer ones; here an inner axis can take over
  // what an outer one had to carry, and then the outer one can let go of it.
  // (Without it, a 13B model on g5.48xlarge:8, mesh [8, 8], got a 97 s step
  // with its optimizer state split over the hosts; Megatron's layout takes
  // 35 s.)
  //
  // An axis is not solved again while its subproblem is unchanged: the
  // rounds' last axis has just been solved with the others as decided, and
  // once every other axis has been tried since the last improvement, the
  // descent has converged.
  int64_t lastImproved = axes.back();
  for (int sweep = 0; sweep < 2; ++sweep) {
    bool converged = false;
    for (int64_t current : axes) {
      if (current == lastImproved) {
        converged = true;
        break;
      }
      Filter filter = [&](size_t node, const Strategy &s) {
        for (size_t a = 0; a < s.size(); ++a)
          if (static_cast<int64_t>(a) != current && s[a] != decided[node][a])
            return false;
        return true;
      };
      std::vector<Strategy> chosen;
      double cost = 0;
      if (failed(solve(func, timeLimit, sym, filter, 1.0, false, &chosen,
                       /*quiet=*/true, &cost)))
        continue;
      if (cost < objective * (1 - 1e-9)) {
        decided = std::move(chosen);
        objective = cost;
        lastImproved = current;
      }
    }
    if (converged)
      break;
  }
  Filter exactly = [&](size_t node, const Strategy &s) {
    return s == decided[node];
  };
  return solve(func, timeLimit, sym, exactly, 1.0, true, nullptr);
}

LogicalResult Planner::solve(func::FuncOp func, double timeLimit,
                             FlatSymbolRefAttr sym, const Filter &filter,
                             double memoryScale, bool final,
                             std::vector<Strategy> *chosenOut, bool quiet,
                             double *objectiveOut) {
  // The first function planned (the training step, or the forward pass) is
  // the one whose predicted time and memory the plan reports.
  const bool primary = final && planned++ == 0;
  Block &body = func.getBody().front();
  std::vector<Node> nodes;
  // Reserved: a Node's vectors are copied, not moved, when `nodes` grows
  // (SmallVector's move is not noexcept).
  nodes.reserve(body.getNumArguments() + body.getOperations().size());
  llvm::DenseMap<Value, std::pair<size_t, unsigned>> producer; // node, result

  // Arguments.
  for (BlockArgument arg : body.getArguments()) {
    auto type = cast<RankedTensorType>(arg.getType());
    Node n;
    n.arg = arg;
    n.rule = identityRule(type);
    n.ruleKey = type.getAsOpaquePointer();
    auto state = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "bb.state");
    const SmallVector<Strategy> &all = strategiesOf(n.rule, n.ruleKey);
    auto pinnedAxisSplitsDim0 = [&](const Strategy &s) {
      return s[pinBatch] >= 0 && n.rule.loops[s[pinBatch]].dims[0] == 0;
    };
    for (const Strategy &s : all) {
      bool keep;
      if (!state) // inputs: replicated, or split along dim 0 when pinned
        keep = pinBatch < 0 ? llvm::all_of(s, [](int64_t l) { return l < 0; })
               : (type.getRank() > 0 && type.getShape()[0] % meshShape[pinBatch] == 0)
                   ? (pinnedAxisSplitsDim0(s) &&
                      llvm::all_of(llvm::enumerate(s), [&](auto p) {
                        return static_cast<int64_t>(p.index()) == pinBatch ||
                               p.value() < 0;
                      }))
                   : llvm::all_of(s, [](int64_t l) { return l < 0; });
      else if (zero && pinBatch >= 0 && state.getValue() == "optimizer")
        keep = s[pinBatch] >= 0;
      else
        keep = true;
      if (keep)
        n.strategies.push_back(s);
    }
    // State that an earlier function placed keeps its place: the program
    // holds one copy of it.
    auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "bb.name");
    if (state && name) {
      auto it = placedStates.find(name.getValue().str());
      if (it != placedStates.end()) {
        llvm::erase_if(n.strategies, [&](const Strategy &s) {
          return resultSharding(n.rule, s, 0, type.getRank()) != it->second;
        });
        n.placed = true;
      }
    }
    if (name && pins.count(name.getValue().str())) {
      std::string text = pins[name.getValue().str()];
      auto want = TensorSharding::parse(text, type.getRank());
      if (!want)
        return func.emitError("bb-auto-shard: --shard ")
               << name.getValue() << "=" << text << ": expected split axes like [[0], []]";
      llvm::erase_if(n.strategies, [&](const Strategy &s) {
        return resultSharding(n.rule, s, 0, type.getRank()) != *want;
      });
      if (n.strategies.empty())
        return func.emitError("bb-auto-shard: --shard ")
               << name.getValue() << "=" << text << ": not a layout of "
               << type << " on this mesh";
      pinsUsed.insert(name.getValue().str());
      n.placed = true;
    }
    if (n.strategies.empty()) // ZeRO on a tensor that does not split
      n.strategies.push_back(Strategy(meshShape.size(), -1));
    producer[arg] = {nodes.size(), 0};
    nodes.push_back(std::move(n));
  }
  // Ops (constants are free to slice: not choices).
  for (Operation &op : body.without_terminator()) {
    if (isa<ConstantOp>(op))
      continue;
    Node n;
    n.op = &op;
    n.rule = ruleOf(&op, &n.ruleKey);
    n.strategies = strategiesOf(n.rule, n.ruleKey);
    // Partial sums passed through (a reshape's) only pay off where a
    // pipeline accumulates them: without stages they are left out, which
    // keeps the program smaller.
    if (opStage.empty())
      llvm::erase_if(n.strategies, [&](const Strategy &st) {
        return llvm::any_of(st, [&](int64_t l) {
          return l >= 0 && n.rule.loops[l].passesPartial;
        });
      });
    // A pinned weight: its consumers take it in the pinned layout.
    for (auto [i, operand] : llvm::enumerate(op.getOperands())) {
      auto cst = operand.getDefiningOp<ConstantOp>();
      auto name = cst ? cst->getAttrOfType<StringAttr>("bb.name") : StringAttr();
      if (!name || !pins.count(name.getValue().str()))
        continue;
      std::string text = pins[name.getValue().str()];
      auto type = cast<RankedTensorType>(operand.getType());
      auto want = TensorSharding::parse(text, type.getRank());
      if (!want)
        return op.emitError("bb-auto-shard: --shard ")
               << name.getValue() << "=" << text << ": expected split axes like [[0], []]";
      llvm::erase_if(n.strategies, [&](const Strategy &s) {
        return operandSharding(n.rule, s, i, type.getRank()) != *want;
      });
      if (n.strategies.empty())
        return op.emitError("bb-auto-shard: --shard ")
               << name.getValue() << "=" << text << ": '" << op.getName()
               << "' cannot take it in that layout";
      pinsUsed.insert(name.getValue().str());
      n.placed = true;
    }
    for (auto [i, r] : llvm::enumerate(op.getResults()))
      producer[r] = {nodes.size(), static_cast<unsigned>(i)};
    nodes.push_back(std::move(n));
  }

  for (auto [i, n] : llvm::enumerate(nodes)) {
    if (n.placed) // its layout is decided already, on every axis
      continue;
    SmallVector<Strategy> kept;
    for (const Strategy &st : n.strategies)
      if (filter(i, st))
        kept.push_back(st);
    if (kept.empty())
      kept.push_back(Strategy(meshShape.size(), -1));
    n.strategies = std::move(kept);
  }

  // Followers (Alpa): an elementwise op (no reductions, an operand of the
  // result's type) follows that operand's producer: for each of the
  // producer's strategies it takes the one that keeps the layout, and shares
  // the producer's decision. Its strategy list is re-indexed to its root's.
  // (Letting layout changes such as reshape follow too made the plans of the
  // test GPT 6% slower for little gain in solver time.)
  std::vector<size_t> root(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    root[i] = i;
  for (auto [vi, v] : llvm::enumerate(nodes)) {
    if (!v.op || v.op->getNumResults() != 1 ||
        llvm::any_of(v.rule.loops, [](const Loop &l) { return l.reduction.has_value(); }))
      continue;
    for (auto [i, operand] : llvm::enumerate(v.op->getOperands())) {
      auto it = producer.find(operand);
      auto type = cast<RankedTensorType>(operand.getType());
      if (it == producer.end() || !nodes[it->second.first].op ||
          type != v.op->getResult(0).getType())
        continue;
      int64_t rank = type.getRank();
      auto [ui, result] = it->second;
      SmallVector<Strategy> mapped;
      for (size_t su = 0; su < nodes[ui].strategies.size(); ++su) {
        TensorSharding want = nodes[ui].produced(result, rank, su);
        want.partialAxes.clear();
        const Strategy *match = nullptr;
        for (const Strategy &t : v.strategies)
          if (operandSharding(v.rule, t, i, rank) == want &&
              resultSharding(v.rule, t, 0, rank) == want) {
            match = &t;
            break;
          }
        if (!match)
          break;
        mapped.push_back(*match);
      }
      if (mapped.size() != nodes[ui].strategies.size())
        continue;
      v.strategies = std::move(mapped);
      root[vi] = root[ui];
      break;
    }
  }

  // Identical layers are solved once: an op of "/h.7/attn" ties to the op
  // at the same position of "/h.0/attn" when both have the same name and
  // types (and so the same strategies); the layers then share decisions.
  // Such nodes (with the same rule and strategies) are of one class, whose
  // edge costs and sizes are computed once.
  std::vector<size_t> cls(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    cls[i] = i;
  auto sameClass = [&](size_t a, size_t b) {
    return nodes[a].ruleKey == nodes[b].ruleKey &&
           nodes[a].strategies == nodes[b].strategies;
  };
  {
    std::map<std::string, size_t> firstOfKey;
    std::map<std::string, int64_t> countInGroup;
    for (auto [vi, v] : llvm::enumerate(nodes)) {
      if (!v.op)
        continue;
      std::string group = layerOf(v.op, /*blankNumbers=*/true);
      if (group.empty())
        continue;
      // Position within this very layer (its own name), compared across
      // layers (the blanked name).
      std::string own = layerOf(v.op);
      std::string key = group + "#" + std::to_string(countInGroup[own]++) +
                        "#" + v.op->getName().getStringRef().str();
      // Types are uniqued: their addresses stand for them.
      for (Type t : v.op->getOperandTypes())
        appendPointer(key, t.getAsOpaquePointer());
      key += '>';
      for (Type t : v.op->getResultTypes())
        appendPointer(key, t.getAsOpaquePointer());
      auto [it, added] = firstOfKey.try_emplace(key, vi);
      if (!added && sameClass(it->second, vi))
        cls[vi] = cls[it->second];
      if (added || root[vi] != vi)
        continue;
      size_t rep = it->second;
      while (root[rep] != rep)
        rep = root[rep];
      if (rep != vi && nodes[rep].strategies == v.strategies)
        root[vi] = rep;
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      size_t r = root[i];
      while (root[r] != r)
        r = root[r];
      root[i] = r;
    }
  }
  // Their parameters and optimizer state too: an argument ties to an earlier
  // one of the same type and strategies read by the same decisions (the
  // tied layers' ops, at the same operand positions). Otherwise each layer's
  // arguments are decisions of their own, and every edge from them to the
  // shared decisions of their readers a joint choice of its own.
  {
    std::map<std::string, size_t> firstOfKey;
    for (auto [vi, v] : llvm::enumerate(nodes)) {
      if (v.op || v.placed || root[vi] != vi || v.arg.use_empty())
        continue;
      std::vector<std::pair<size_t, unsigned>> readers;
      for (OpOperand &use : v.arg.getUses()) {
        Operation *user = use.getOwner();
        auto it = user->getNumResults() ? producer.find(user->getResult(0))
                                        : producer.end();
        if (it == producer.end()) {
          readers.clear();
          break;
        }
        readers.push_back({root[it->second.first], use.getOperandNumber()});
      }
      if (readers.empty())
        continue;
      llvm::sort(readers);
      std::string key;
      appendPointer(key, v.arg.getType().getAsOpaquePointer());
      llvm::raw_string_ostream os(key);
      for (auto [r, operand] : readers)
        os << ' ' << r << ':' << operand;
      auto [it, added] = firstOfKey.try_emplace(key, vi);
      if (!added && sameClass(it->second, vi)) {
        root[vi] = it->second;
        cls[vi] = cls[it->second];
      }
    }
  }

  solver::BinaryProgram program;
  // Per-step work: everything downstream of an optimizer update's gradient.
  // In a pipeline's micro-batch step it weighs `stepWeight`.
  SetVector<Operation *> perStep = perStepOps(body);
  auto weightOf = [&](Operation *consumer) {
    return consumer && perStep.contains(consumer) ? stepWeight : 1.0;
  };
  // A gradient: a per-micro-batch result the per-step part reads. In a
  // pipeline it is summed over the micro-batches into a buffer that lives
  // through the step.
  auto isGradient = [&](Value res) {
    Operation *def = res.getDefiningOp();
    return def && !perStep.contains(def) &&
           llvm::any_of(res.getUsers(),
                        [&](Operation *user) { return perStep.contains(user); });
  };
  // In a pipeline, the per-step ops other than the updates (the global
  // norm's) read a gradient as its update takes it: bb-pipeline-stages'
  // gradsq reduces it once into that layout and computes the norm there.
  // Their reads cost nothing beyond the update's, which is priced.
  auto readsUpdatedGradient = [&](Operation *consumer, Value operand) {
    Operation *def = operand.getDefiningOp();
    return !opStage.empty() && perStep.contains(consumer) &&
           !updateGradient(consumer) && def && !perStep.contains(def);
  };
  std::vector<std::vector<double>> nodeCost(nodes.size());
  std::vector<std::vector<double>> nodeCompute(nodes.size());
  for (auto [i, n] : llvm::enumerate(nodes)) {
    nodeCost[i].assign(n.strategies.size(), 0);
    nodeCompute[i].assign(n.strategies.size(), 0);
    if (!n.op)
      continue;
    double t = costmodel::opComputeTime(n.op, cluster);
    const double w = weightOf(n.op);
    for (auto [s, strategy] : llvm::enumerate(n.strategies)) {
      nodeCompute[i][s] = t / splitFactor(strategy);
      nodeCost[root[i]][s] += w * nodeCompute[i][s];
    }
  }
  // In a pipeline the backward adds each micro-batch's gradients into
  // their accumulators (bb-accumulate-gradients), which the driver zeroes
  // (a write) and averages (a read and a write) once per step, over each
  // device's block: a gradient left as whole partial sums costs more there
  // than a reduced block. A product that computes a gradient with no
  // collective after it (its partial sums kept, or one device) adds into
  // the accumulator in its GEMM: one more read of the block; otherwise an
  // add reads two blocks and writes one. PipelinePlan books this work
  // after the cut; here it weighs the layouts.
  if (!opStage.empty()) {
    const double bandwidth = cluster.inPlaceBandwidth();
    int64_t devices = 1;
    for (int64_t d : meshShape)
      devices *= d;
    for (auto [i, n] : llvm::enumerate(nodes)) {
      if (!n.op)
        continue;
      for (OpResult res : n.op->getResults()) {
        if (!isGradient(res))
          continue;
        auto type = cast<RankedTensorType>(res.getType());
        for (size_t s = 0; s < n.strategies.size(); ++s) {
          const TensorSharding produced =
              n.produced(res.getResultNumber(), type.getRank(), s);
          const double bytes = static_cast<double>(
              bytesOf(type, produced.localShape(type.getShape(), meshShape)));
          const bool inProduct = accumulatedInProduct(
              res, !produced.partialAxes.empty(), devices == 1);
          nodeCost[root[i]][s] +=
              ((inProduct ? 1 : 3) + 3 * stepWeight) * bytes / bandwidth;
        }
      }
    }
  }
  // Edges: (producer node, result) -> (consumer node, operand), costed.
  struct Edge {
    size_t from, to;
    std::vector<std::vector<double>> cost;
  };
  std::vector<Edge> edges;
  std::map<std::pair<size_t, size_t>, size_t> edgeIndex;
  // `w`: the edge's weight in the objective (per-step work's, or 1).
  auto addEdge = [&](size_t from, size_t to,
                     const std::vector<std::vector<double>> &c, double w) {
    from = root[from];
    to = root[to];
    const Node &u = nodes[from], &v = nodes[to];
    if (from == to) { // within a merged group: one decision
      for (size_t s = 0; s < u.strategies.size(); ++s)
        nodeCost[from][s] += w * c[s][s];
    } else if (u.strategies.size() == 1) {
      for (size_t t = 0; t < v.strategies.size(); ++t)
        nodeCost[to][t] += w * c[0][t];
    } else if (v.strategies.size() == 1) {
      for (size_t s = 0; s < u.strategies.size(); ++s)
        nodeCost[from][s] += w * c[s][0];
    } else {
      // Tied layers make many edges between one pair of decisions: one
      // joint choice carries their summed costs.
      auto [it, added] = edgeIndex.try_emplace({from, to}, edges.size());
      if (added)
        edges.push_back({from, to, std::vector<std::vector<double>>(
                                       c.size(), std::vector<double>(c[0].size(), 0))});
      for (size_t s = 0; s < c.size(); ++s)
        for (size_t t = 0; t < c[s].size(); ++t)
          edges[it->second].cost[s][t] += w * c[s][t];
    }
  };
  // An edge's costs depend on its ends' classes and positions only.
  std::map<std::tuple<size_t, unsigned, size_t, unsigned>,
           std::vector<std::vector<double>>>
      edgeMemo;
  for (auto [vi, v] : llvm::enumerate(nodes)) {
    if (!v.op)
      continue;
    for (auto [i, operand] : llvm::enumerate(v.op->getOperands())) {
      auto it = producer.find(operand);
      if (it == producer.end())
        continue; // a constant
      // An operand the op reads twice in the same layout (x * x) is
      // resharded once (the partitioner reuses the first).
      auto type = cast<RankedTensorType>(operand.getType());
      if (llvm::any_of(llvm::seq<unsigned>(0, i), [&](unsigned j) {
            return v.op->getOperand(j) == operand &&
                   llvm::all_of(v.strategies, [&](const Strategy &t) {
                     return operandSharding(v.rule, t, j, type.getRank()) ==
                            operandSharding(v.rule, t, i, type.getRank());
                   });
          }))
        continue;
      if (readsUpdatedGradient(v.op, operand))
        continue;
      auto [ui, result] = it->second;
      auto [memo, added] = edgeMemo.try_emplace(
          {cls[ui], result, cls[vi], static_cast<unsigned>(i)});
      std::vector<std::vector<double>> &c = memo->second;
      if (added) {
        const Node &u = nodes[ui];
        c.assign(u.strategies.size(), std::vector<double>(v.strategies.size()));
        for (size_t s = 0; s < u.strategies.size(); ++s) {
          TensorSharding from = u.produced(result, type.getRank(), s);
          for (size_t t = 0; t < v.strategies.size(); ++t)
            c[s][t] = reshardCost(
                from,
                operandSharding(v.rule, v.strategies[t], i, type.getRank()),
                type);
        }
      }
      addEdge(ui, vi, c, weightOf(v.op));
    }
  }
  // Results: outputs leave replicated; new state goes back to its argument.
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
    auto it = producer.find(value);
    if (it == producer.end())
      continue;
    auto [ui, result] = it->second;
    auto type = cast<RankedTensorType>(value.getType());
    const Node &u = nodes[ui];
    if (auto k = func.getResultAttrOfType<IntegerAttr>(i, "bb.updates")) {
      size_t ai = producer.lookup(body.getArgument(k.getInt())).first;
      const Node &a = nodes[ai];
      std::vector<std::vector<double>> c(
          u.strategies.size(), std::vector<double>(a.strategies.size()));
      for (size_t s = 0; s < u.strategies.size(); ++s)
        for (size_t t = 0; t < a.strategies.size(); ++t)
          c[s][t] = reshardCost(u.produced(result, type.getRank(), s),
                                a.produced(0, type.getRank(), t), type);
      // New state going back to its argument's layout: once per step.
      addEdge(ui, ai, c, stepWeight);
      continue;
    }
    for (size_t s = 0; s < u.strategies.size(); ++s)
      nodeCost[ui][s] += reshardCost(u.produced(result, type.getRank(), s),
                                     TensorSharding::replicated(type.getRank()),
                                     type);
  }

  // A pipelined step sends what one stage computes and another reads, once
  // per micro-batch and receiving stage: each device its block under the
  // producer's layout, to the same device of the other stage (as the
  // binary does, and composePipelinePlan counts it). So the search weighs
  // a split before a slow link against a replicated send. (Without it,
  // GPT 6.7B's pp=8 plan on g5.48xlarge:4 sent the residual stream's
  // gradient back between hosts whole from each device of a stage: 21 ms
  // of a 180 ms slot.) Values of state alone are computed again, not sent.
  // Stages are consecutive device ranges of the cluster; planned on a
  // cluster that holds only one stage's mesh (bb-opt on its own), the links
  // between stages are unknown and sends are not counted.
  // The first device of each stage: equal meshes one after another, or
  // (stage-devices) stages on meshes of their own.
  const int64_t perStage = mesh.size();
  std::vector<int64_t> stageFirst(stages + 1, 0);
  for (int64_t s = 0; s < stages; ++s)
    stageFirst[s + 1] =
        stageFirst[s] + (stageDevices.empty() ? perStage : stageDevices[s]);
  if (!opStage.empty() && cluster.deviceCount() >= stageFirst[stages]) {
    for (auto [ui, u] : llvm::enumerate(nodes)) {
      if (!u.op || perStep.contains(u.op) || ofStateOfCut.contains(u.op))
        continue;
      auto from = opStage.find(u.op);
      if (from == opStage.end())
        continue;
      for (auto [result, value] : llvm::enumerate(u.op->getResults())) {
        auto type = dyn_cast<RankedTensorType>(value.getType());
        if (!type)
          continue;
        std::set<int64_t> receivers;
        for (Operation *user : value.getUsers())
          if (auto to = opStage.find(user);
              to != opStage.end() && !perStep.contains(user) &&
              to->second != from->second)
            receivers.insert(to->second);
        for (int64_t to : receivers) {
          const cluster::Link link =
              cluster.linkBetween(stageFirst[from->second], stageFirst[to]);
          for (size_t s = 0; s < u.strategies.size(); ++s)
            nodeCost[root[ui]][s] +=
                link.latency +
                static_cast<double>(bytesOf(
                    type, u.produced(result, type.getRank(), s)
                              .localShape(type.getShape(), meshShape))) /
                    link.bandwidth;
        }
      }
    }
  }

  // The 0-1 program: one decision per root.
  for (auto [i, n] : llvm::enumerate(nodes)) {
    if (root[i] != i)
      continue;
    n.firstVar = program.numVariables();
    std::vector<std::pair<int, double>> one;
    for (size_t s = 0; s < n.strategies.size(); ++s) {
      const bool impossible = nodeCost[i][s] >= kImpossible;
      int x = program.addVariable(impossible ? 0 : nodeCost[i][s]);
      if (impossible)
        program.addConstraint({{x, 1.0}}, 0, 0);
      one.push_back({x, 1.0});
    }
    program.addConstraint(one, 1, 1);
  }
  // Program points, for liveness (memory rows, and the plan's activations).
  llvm::DenseMap<Operation *, int64_t> position;
  for (Operation &op : body)
    position[&op] = static_cast<int64_t>(position.size());
  // A recompute barrier's result shares its operand's bytes (bufferization
  // aliases them): the operand lives through the result's last use, and the
  // result adds nothing.
  std::function<int64_t(Value, int64_t)> lastUse = [&](Value v, int64_t last) {
    for (Operation *user : v.getUsers()) {
      last = std::max(last, position[user]);
      if (isa<RecomputeBarrierOp>(user))
        last = lastUse(user->getResult(0), last);
    }
    return last;
  };

  // Memory (Alpa): at the program points where the most bytes are live,
  // state, weights and the live activations must fit the device. Each
  // choice adds the per-device bytes it implies; a weight is counted once
  // per consumer. A pipelined @train_step (opStage set) has rows per stage:
  // the stage's state, weights and gradient buffers (summed over the
  // micro-batches, live through the step), its values live at the point
  // (one micro-batch's, and what its per-step part computes), and its stash
  // once more for each further micro-batch in flight (1F1B: min(S - s, M)
  // in all). A value another stage receives counts on both.
  const bool staged = !opStage.empty();
  const int64_t numParts = staged ? stages : 1;
  auto stageOf = [&](const Node &n) -> int64_t {
    if (!staged)
      return 0;
    return n.op ? opStage.lookup(n.op) : argStage.lookup(n.arg);
  };
  struct Live {
    size_t node;
    int64_t def, last;
    const std::vector<double> *bytes; ///< per device, per strategy
    double scale;                     ///< 1, or activationScale or stateScale
  };
  struct Part {
    /// variable -> bytes, the same at every point of the step; `stash`
    /// once per further micro-batch in flight.
    std::map<int, double> state, weights, held, stash;
    std::vector<Live> lives;
    std::vector<double> profile; ///< replicated bytes live, per point
  };
  std::vector<Part> parts(numParts);
  auto addTerm = [](std::map<int, double> &row, int var, double bytes) {
    row[var] += bytes;
  };
  std::map<std::pair<size_t, size_t>, std::vector<double>> bytesMemo;
  if (memoryLimit > 0 || (staged && primary)) {
    const int64_t numPoints = position.size();
    for (Part &p : parts)
      p.profile.assign(numPoints + 1, 0);
    const double stateShare = staged ? 1 : stateScale;
    for (auto [vi, v] : llvm::enumerate(nodes)) {
      const Node &r = nodes[root[vi]];
      const int64_t own = stageOf(v);
      Part &part = parts[own];
      if (!v.op) {
        if (!func.getArgAttr(v.arg.getArgNumber(), "bb.state"))
          continue;
        // Its stage holds it, and so does every stage that reads it (a
        // tied embedding: the first and the last).
        SmallVector<int64_t, 2> holders = {own};
        for (Operation *user : v.arg.getUsers())
          if (auto it = opStage.find(user);
              it != opStage.end() && !perStep.contains(user) &&
              !llvm::is_contained(holders, it->second))
            holders.push_back(it->second);
        auto type = cast<RankedTensorType>(v.arg.getType());
        for (int64_t h : holders)
          for (size_t st = 0; st < v.strategies.size(); ++st)
            addTerm(parts[h].state, r.firstVar + st,
                    stateShare *
                        bytesOf(type, v.produced(0, type.getRank(), st)
                                          .localShape(type.getShape(), meshShape)));
        continue;
      }
      for (auto [i, operand] : llvm::enumerate(v.op->getOperands()))
        if (operand.getDefiningOp<ConstantOp>()) {
          auto type = cast<RankedTensorType>(operand.getType());
          for (size_t st = 0; st < v.strategies.size(); ++st)
            addTerm(part.weights, r.firstVar + st,
                    stateShare *
                        bytesOf(type, operandSharding(v.rule, v.strategies[st], i,
                                                      type.getRank())
                                          .localShape(type.getShape(), meshShape)));
        }
      for (auto [i, res] : llvm::enumerate(v.op->getResults())) {
        if (isa<RecomputeBarrierOp>(v.op))
          break;
        int64_t def = position[v.op], last = lastUse(res, def);
        auto type = cast<RankedTensorType>(res.getType());
        auto [memo, added] = bytesMemo.try_emplace({cls[vi], i});
        if (added)
          for (size_t st = 0; st < v.strategies.size(); ++st)
            memo->second.push_back(
                bytesOf(type, v.produced(i, type.getRank(), st)
                                  .localShape(type.getShape(), meshShape)));
        const std::vector<double> &bytes = memo->second;
        const bool gradient = isGradient(res);
        if (gradient && staged) {
          for (size_t st = 0; st < bytes.size(); ++st)
            addTerm(part.held, r.firstVar + st, bytes[st]);
          continue;
        }
        const double scale = staged ? 1
                             : perStep.contains(v.op) || gradient
                                 ? stateScale
                                 : activationScale;
        const double full = scale * bytesOf(type, type.getShape());
        SmallVector<int64_t, 2> holders = {own}, stashes;
        if (staged && !perStep.contains(v.op))
          for (Operation *user : res.getUsers()) {
            auto it = opStage.find(user);
            if (it == opStage.end() || perStep.contains(user))
              continue;
            if (!llvm::is_contained(holders, it->second))
              holders.push_back(it->second);
            // A forward value a backward op reads waits in its stage's
            // stash while the stage runs the other micro-batches in flight.
            // One of state alone is computed again instead (StageCut).
            if (forwardOfCut.contains(v.op) && !forwardOfCut.contains(user) &&
                !ofStateOfCut.contains(v.op) &&
                !llvm::is_contained(stashes, it->second)) {
              stashes.push_back(it->second);
              for (size_t st = 0; st < bytes.size(); ++st)
                addTerm(parts[it->second].stash, r.firstVar + st, bytes[st]);
            }
          }
        for (int64_t h : holders) {
          parts[h].lives.push_back({vi, def, last, &bytes, scale});
          parts[h].profile[def] += full;
          parts[h].profile[last + 1] -= full;
        }
      }
    }
    for (Part &part : parts) {
      std::vector<double> &profile = part.profile;
      for (int64_t t = 1; t < numPoints; ++t)
        profile[t] += profile[t - 1];
      profile.pop_back();
    }
  }
  // What each stage holds at every point of the step, whatever the point.
  std::vector<std::map<int, double>> fixedTerms(numParts);
  for (auto [pi, part] : llvm::enumerate(parts)) {
    std::map<int, double> &fixed = fixedTerms[pi];
    fixed = part.state;
    for (const auto *m : {&part.weights, &part.held})
      for (auto [var, bytes] : *m)
        addTerm(fixed, var, bytes);
    for (auto [var, bytes] : part.stash)
      addTerm(fixed, var, (inFlight(pi) - 1) * bytes);
  }
  // The row of stage `pi` at point `t`.
  auto rowAt = [&](size_t pi, int64_t t) {
    std::map<int, double> row = fixedTerms[pi];
    for (const Live &l : parts[pi].lives) {
      if (l.def > t || l.last < t)
        continue;
      const Node &r = nodes[root[l.node]];
      for (size_t st = 0; st < l.bytes->size(); ++st)
        addTerm(row, r.firstVar + st, l.scale * (*l.bytes)[st]);
    }
    return std::vector<std::pair<int, double>>(row.begin(), row.end());
  };

  // Each edge gets a joint choice e(s, t) whose marginals are the two ends'
  // choices (Alpa's formulation; much tighter than y >= x_u + x_v - 1, so
  // the relaxation is often integral already).
  for (const Edge &e : edges) {
    const Node &u = nodes[e.from], &v = nodes[e.to];
    std::vector<std::vector<std::pair<int, double>>> rowsU(u.strategies.size()),
        colsV(v.strategies.size());
    for (size_t s = 0; s < u.strategies.size(); ++s)
      for (size_t t = 0; t < v.strategies.size(); ++t) {
        if (e.cost[s][t] == kImpossible)
          continue; // no joint choice: the pair cannot be chosen
        int y = program.addVariable(e.cost[s][t], /*continuous=*/true);
        rowsU[s].push_back({y, 1.0});
        colsV[t].push_back({y, 1.0});
      }
    for (size_t s = 0; s < u.strategies.size(); ++s) {
      rowsU[s].push_back({u.firstVar + int(s), -1.0});
      program.addConstraint(rowsU[s], 0, 0);
    }
    for (size_t t = 0; t < v.strategies.size(); ++t) {
      colsV[t].push_back({v.firstVar + int(t), -1.0});
      program.addConstraint(colsV[t], 0, 0);
    }
  }
  variables += program.numVariables();
  constraints += program.numConstraints();
  solver::BinaryProgram::Solution sol = program.solve(timeLimit);
  solverSeconds += sol.seconds;
  // The memory rows are added lazily: most plans fit without them, and the
  // program is much harder with them. The stage the solution overfills the
  // most (at any point) gets rows at its busiest points (by replicated
  // bytes, at most eight) and at the point where it holds the most, and the
  // program is solved again, until every stage fits or eight rounds have
  // passed.
  const double limit = memoryLimit / memoryScale;
  std::vector<bool> busiestAdded(numParts, false);
  std::set<std::pair<size_t, int64_t>> rowsAdded;
  auto addRow = [&](size_t pi, int64_t t) {
    if (rowsAdded.insert({pi, t}).second)
      program.addConstraint(rowAt(pi, t), -solver::BinaryProgram::kInfinity, limit);
  };
  // The point where stage `pi` holds the most under the solution, and how
  // much it holds there.
  auto fullestPoint = [&](size_t pi) -> std::pair<int64_t, double> {
    const int64_t numPoints = position.size();
    std::vector<double> diff(numPoints + 1, 0);
    for (const Live &l : parts[pi].lives) {
      const Node &r = nodes[root[l.node]];
      double bytes = 0;
      for (size_t st = 0; st < l.bytes->size(); ++st)
        bytes += l.scale * (*l.bytes)[st] * sol.values[r.firstVar + st];
      diff[l.def] += bytes;
      diff[l.last + 1] -= bytes;
    }
    double fixed = 0;
    for (auto [var, coef] : fixedTerms[pi])
      fixed += coef * sol.values[var];
    int64_t best = 0;
    double live = 0, most = -1;
    for (int64_t t = 0; t < numPoints; ++t) {
      live += diff[t];
      if (live > most) {
        most = live;
        best = t;
      }
    }
    return {best, fixed + std::max(most, 0.0)};
  };
  for (int round = 0; memoryLimit > 0 && sol.feasible && round < 8; ++round) {
    // The most overfilled stage only: the stages of a model's identical
    // layers share their decisions, so one stage's rows mostly cover the
    // others', and CBC slows down sharply with near-duplicate rows.
    size_t worst = parts.size();
    int64_t worstPoint = 0;
    double worstBytes = limit * (1 + 1e-9);
    for (size_t pi = 0; pi < parts.size(); ++pi) {
      if (staged && planStage >= 0 && static_cast<int64_t>(pi) != planStage)
        continue; // planned on another mesh (bb-auto-shard-stages)
      auto [t, bytes] = fullestPoint(pi);
      if (bytes > worstBytes) {
        worst = pi;
        worstPoint = t;
        worstBytes = bytes;
      }
    }
    if (worst == parts.size())
      break; // every stage fits
    // Rows only add cost, so this objective bounds the plan's from below,
    // and M / S times it bounds its pipelined step: M slots of at least the
    // average stage's micro-batch work, and an update of at least the
    // average stage's (the objective weighs the per-step work 1/M).
    const double stepAtLeast = static_cast<double>(microbatches) /
                               static_cast<double>(stages) * sol.objective;
    if (primary && pruneAbove > 0 && stepAtLeast > pruneAbove)
      return func.emitError(kAutoShardPruned) << "the step is at least "
             << llvm::formatv("{0:F3}", stepAtLeast * 1e3)
             << " ms, above prune-above ("
             << llvm::formatv("{0:F3}", pruneAbove * 1e3) << " ms)";
    if (!busiestAdded[worst]) {
      busiestAdded[worst] = true;
      const std::vector<double> &profile = parts[worst].profile;
      std::vector<int64_t> points(profile.size());
      for (size_t p = 0; p < points.size(); ++p)
        points[p] = static_cast<int64_t>(p);
      const size_t k = std::min<size_t>(points.size(), 8);
      std::partial_sort(points.begin(), points.begin() + k, points.end(),
                        [&](int64_t a, int64_t b) { return profile[a] > profile[b]; });
      for (size_t i = 0; i < k; ++i)
        addRow(worst, points[i]);
    }
    addRow(worst, worstPoint);
    sol = program.solve(timeLimit);
    solverSeconds += sol.seconds;
  }
  if (!sol.feasible && quiet)
    return failure();
  if (!sol.feasible) {
    // What may help: for a pipeline, its own knobs (recomputation unless
    // the step has it already).
    const bool recomputed =
        !func.getBody().front().getOps<RecomputeBarrierOp>().empty();
    const char *hint =
        stages <= 1 ? "another mesh, or pipeline stages "
                      "(--strategy pp=N,microbatches=M)"
        : recomputed ? "another stage mesh, or more pipeline stages"
                     : "another stage mesh, more pipeline stages, or "
                       "recomputation (--recompute=blocks)";
    return func.emitError("bb-auto-shard: no plan for @")
           << func.getSymName() << " fits " << formatBytes(memoryLimit)
           << " per device on this mesh (or none was found within "
           << llvm::formatv("{0:F0}", timeLimit) << " s); try more devices, "
           << hint;
  }
  optimal &= sol.optimal;

  // Write the plan.
  std::vector<size_t> chosen(nodes.size());
  double compute = 0;
  for (auto [i, n] : llvm::enumerate(nodes)) {
    const Node &r = nodes[root[i]];
    size_t best = 0;
    for (size_t s = 0; s < r.strategies.size(); ++s)
      if (sol.values[r.firstVar + s] > sol.values[r.firstVar + best])
        best = s;
    chosen[i] = best;
    compute += nodeCompute[i][best];
  }
  if (objectiveOut)
    *objectiveOut = sol.objective;
  if (!final) {
    chosenOut->clear();
    for (auto [i, n] : llvm::enumerate(nodes))
      chosenOut->push_back(n.strategies[chosen[i]]);
    return success();
  }
  if (primary)
    computeSeconds = compute;

  // Book the chosen plan's communication by link kind, and its activations'
  // peak by liveness (each result's per-device bytes, from its definition to
  // its last use).
  accounting = primary;
  std::vector<costmodel::LiveRange> live;
  // Per stage, each distinct weight block once.
  std::vector<int64_t> stageWeights(numParts, 0);
  if (primary && staged)
    for (StageSeconds *work : {&microbatchWork, &stepWork})
      for (auto *v : {&work->compute, &work->intraHost, &work->interHost})
        v->assign(numParts, 0);
  std::set<std::tuple<int64_t, const void *, std::string>> stageWeightBlocks;
  std::set<std::tuple<const void *, bool, std::string>> booked;
  for (auto [vi, v] : llvm::enumerate(nodes)) {
    if (!v.op)
      continue;
    perStepEdge = perStep.contains(v.op);
    if (primary && perStepEdge)
      stepComputeSeconds += nodeCompute[vi][chosen[vi]];
    bookingStage = primary && staged ? stageOf(v) : -1;
    if (bookingStage >= 0)
      (perStepEdge ? stepWork : microbatchWork).compute[bookingStage] +=
          nodeCompute[vi][chosen[vi]];
    // Model FLOPs (for MFU) leave out recomputation; its time is counted.
    if (auto cost = dyn_cast<CostOpInterface>(v.op);
        cost && primary && !v.op->hasAttr("bb.recomputed"))
      modelFlops += cost.getFlops();
    for (auto [i, operand] : llvm::enumerate(v.op->getOperands())) {
      auto it = producer.find(operand);
      auto type = cast<RankedTensorType>(operand.getType());
      if (it == producer.end()) {
        // A weight: each distinct block a device needs is loaded once.
        TensorSharding want =
            operandSharding(v.rule, v.strategies[chosen[vi]], i, type.getRank());
        if (primary && operand.getDefiningOp<ConstantOp>() &&
            weightBlocks.insert({operand.getAsOpaquePointer(), want.splitAxesText()})
                .second)
          weightBytes += bytesOf(type, want.localShape(type.getShape(), meshShape));
        if (primary && staged && operand.getDefiningOp<ConstantOp>() &&
            stageWeightBlocks
                .insert({stageOf(v), operand.getAsOpaquePointer(), want.splitAxesText()})
                .second)
          stageWeights[stageOf(v)] +=
              bytesOf(type, want.localShape(type.getShape(), meshShape));
        continue;
      }
      auto [ui, result] = it->second;
      // The partitioner reshards a value to one layout once per function:
      // book it once per value, layout and kind of work (per micro-batch
      // or per step, which run as different functions in a pipeline).
      if (readsUpdatedGradient(v.op, operand))
        continue;
      TensorSharding want =
          operandSharding(v.rule, v.strategies[chosen[vi]], i, type.getRank());
      if (!booked.insert({operand.getAsOpaquePointer(), perStepEdge,
                          want.layoutText()})
               .second)
        continue;
      reshardCost(nodes[ui].produced(result, type.getRank(), chosen[ui]), want,
                  type);
    }
    for (auto [i, r] : llvm::enumerate(v.op->getResults())) {
      if (isa<RecomputeBarrierOp>(v.op))
        break;
      auto type = cast<RankedTensorType>(r.getType());
      int64_t last = lastUse(r, position[v.op]);
      live.push_back({bytesOf(type, v.produced(i, type.getRank(), chosen[vi])
                                        .localShape(type.getShape(), meshShape)),
                      position[v.op], last});
    }
  }
  for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
    auto it = producer.find(value);
    if (it == producer.end())
      continue;
    auto [ui, result] = it->second;
    auto type = cast<RankedTensorType>(value.getType());
    TensorSharding to = TensorSharding::replicated(type.getRank());
    // New state going back to its argument's layout: once per step.
    perStepEdge = static_cast<bool>(
        func.getResultAttrOfType<IntegerAttr>(i, "bb.updates"));
    bookingStage = primary && staged ? stageOf(nodes[ui]) : -1;
    if (auto k = func.getResultAttrOfType<IntegerAttr>(i, "bb.updates")) {
      size_t ai = producer.lookup(body.getArgument(k.getInt())).first;
      to = nodes[ai].produced(0, type.getRank(), chosen[ai]);
    }
    reshardCost(nodes[ui].produced(result, type.getRank(), chosen[ui]), to, type);
  }
  accounting = false;
  perStepEdge = false;
  bookingStage = -1;
  if (primary) {
    // Unweighted: what one micro-batch's step (or the whole step) moves.
    communicationSeconds = intraHostSeconds + interHostSeconds;
    activationBytes = costmodel::peakLiveBytes(live);
  }
  if (primary && staged) {
    // Each stage's bytes under the plan, its peak over all points.
    auto chosenBytes = [&](const std::map<int, double> &terms) {
      double bytes = 0;
      for (auto [var, coef] : terms)
        bytes += coef * sol.values[var];
      return static_cast<int64_t>(std::llround(bytes));
    };
    for (auto [pi, part] : llvm::enumerate(parts)) {
      std::vector<costmodel::LiveRange> ranges;
      for (const Live &l : part.lives)
        ranges.push_back({static_cast<int64_t>((*l.bytes)[chosen[l.node]]),
                          l.def, l.last});
      const int64_t stash = chosenBytes(part.stash);
      stageStateBytes.push_back(chosenBytes(part.state));
      stageWeightBytes.push_back(stageWeights[pi]);
      stageStashBytes.push_back(stash);
      stageActivationBytes.push_back(chosenBytes(part.held) +
                                     (inFlight(pi) - 1) * stash +
                                     costmodel::peakLiveBytes(ranges));
    }
  }
  MLIRContext *ctx = func.getContext();
  // The arguments' layouts, set at once (one setArgAttr per argument
  // rebuilds the attribute array each time).
  SmallVector<DictionaryAttr> argAttrs;
  func.getAllArgAttrs(argAttrs);
  for (auto [i, n] : llvm::enumerate(nodes)) {
    const Strategy &s = n.strategies[chosen[i]];
    bool replicated = llvm::all_of(s, [](int64_t l) { return l < 0; });
    if (n.op) {
      if (!replicated)
        n.op->setAttr("bb.strategy", DenseI64ArrayAttr::get(ctx, s));
      continue;
    }
    auto type = cast<RankedTensorType>(n.arg.getType());
    TensorSharding sharding = n.produced(0, type.getRank(), chosen[i]);
    unsigned a = n.arg.getArgNumber();
    auto name = func.getArgAttrOfType<StringAttr>(a, "bb.name");
    if (func.getArgAttr(a, "bb.state") && name &&
        placedStates.try_emplace(name.getValue().str(), sharding).second)
      stateBytes += bytesOf(type, sharding.localShape(type.getShape(), meshShape));
    if (!replicated) {
      NamedAttrList attrs(argAttrs[a]);
      attrs.set("bb.sharding", sharding.toAttr(sym));
      argAttrs[a] = attrs.getDictionary(ctx);
    }
  }
  func.setAllArgAttrs(argAttrs);
  return success();
}

struct AutoShardPass : mlir::bb::impl::AutoShardBase<AutoShardPass> {
  using AutoShardBase::AutoShardBase;

  /// Plans `module` on a mesh of `shape`; returns the predicted step time.
  FailureOr<double> planOn(ModuleOp module, const cluster::Cluster &loaded,
                           ArrayRef<int64_t> shape, bool refinePlan);

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto loaded = cluster::loadCluster(cluster);
    if (!loaded) {
      module.emitError("bb-auto-shard: --cluster=")
          << cluster << ": " << llvm::toString(loaded.takeError());
      return signalPassFailure();
    }
    if (search != "exact" && search != "axiswise") {
      module.emitError("bb-auto-shard: --search=") << search
                                                    << ": expected exact or axiswise";
      return signalPassFailure();
    }
    // Default: one axis over the devices of a host, one across hosts (fast
    // links inside, slow between, as the cost model sees them).
    SmallVector<int64_t> shape = {loaded->deviceCount()};
    if (loaded->hostCount() > 1 && loaded->devicesPerHost() > 1)
      shape = {loaded->hostCount(), loaded->devicesPerHost()};
    if (meshShape == "auto") {
      // Every split of the devices into (all / k) x k, k dividing a host's
      // devices: each candidate is planned on a copy, the fastest kept.
      int64_t d = loaded->deviceCount(), perHost = loaded->devicesPerHost();
      // Each shape's plan is refined too: the rounds alone can rank the
      // shapes wrongly.
      OwningOpRef<ModuleOp> best;
      double bestTime = 0;
      for (int64_t k = 1; k <= perHost; ++k) {
        if (perHost % k || d % k)
          continue;
        SmallVector<int64_t> candidate =
            k == 1 ? SmallVector<int64_t>{d} : SmallVector<int64_t>{d / k, k};
        OwningOpRef<ModuleOp> copy = module.clone();
        FailureOr<double> time = planOn(*copy, *loaded, candidate, refine);
        if (failed(time))
          continue; // e.g. nothing fits on this mesh
        if (!best || *time < bestTime) {
          best = std::move(copy);
          bestTime = *time;
        }
      }
      if (!best) {
        module.emitError("bb-auto-shard: --mesh=auto: no mesh shape has a plan");
        return signalPassFailure();
      }
      module.getBodyRegion().takeBody(best->getBodyRegion());
      module->setAttrs(best->getOperation()->getAttrDictionary());
      return;
    }
    if (!meshShape.empty()) {
      shape = parseMeshShape(meshShape);
      if (shape.empty()) {
        module.emitError("bb-auto-shard: --mesh=")
            << meshShape << ": expected sizes like 2x4, or auto";
        return signalPassFailure();
      }
    }
    if (failed(planOn(module, *loaded, shape, refine)))
      return signalPassFailure();
  }
};

FailureOr<double> AutoShardPass::planOn(ModuleOp module,
                                        const cluster::Cluster &loaded,
                                        ArrayRef<int64_t> shape,
                                        bool refinePlan) {
  auto mesh = costmodel::DeviceMesh::create(loaded, shape, firstDevice);
  if (!mesh) {
    module.emitError("bb-auto-shard: --mesh=")
        << meshShape << ": " << llvm::toString(mesh.takeError());
    return failure();
  }
  if (pinBatch >= static_cast<int64_t>(shape.size()))
    return module.emitError("bb-auto-shard: --pin-batch=")
           << pinBatch << ": the mesh has " << shape.size() << " axes";
  OpBuilder b(module.getBodyRegion());
  b.setInsertionPointToStart(module.getBody());
  auto meshOp = b.create<mesh::MeshOp>(module.getLoc(), "mesh", shape);
  auto sym = FlatSymbolRefAttr::get(meshOp.getSymNameAttr());
  double limit =
      memoryFraction > 0 ? memoryFraction * loaded.device().memory_bytes() : 0;
  std::map<std::string, std::string> pinMap;
  SmallVector<StringRef> items;
  StringRef(shardPins).split(items, ';', -1, false);
  for (StringRef item : items) {
    auto [name, spec] = item.split('=');
    if (name.empty() || spec.empty())
      return module.emitError("bb-auto-shard: --shard ")
             << item << ": expected NAME=[[axes], ...]";
    pinMap[name.str()] = spec.str();
  }
  if (stages < 1 || microbatches < 1)
    return module.emitError("bb-auto-shard: --stages and --microbatches must be "
                            "at least 1");
  Planner planner(loaded, *mesh, pinBatch, zero, limit, std::move(pinMap));
  planner.stages = stages;
  planner.microbatches = microbatches;
  planner.stageReplicas.assign(stageReplicas.begin(), stageReplicas.end());
  if (planStage >= stages)
    return module.emitError("bb-auto-shard: plan-stage=")
           << planStage << " names no stage of " << stages;
  planner.planStage = planStage;
  planner.stageDevices.assign(stageDevices.begin(), stageDevices.end());
  if (!stageDevices.empty() &&
      (static_cast<int64_t>(stageDevices.size()) != stages ||
       !stageReplicas.empty() ||
       llvm::any_of(stageDevices, [](int64_t d) { return d < 1; })))
    return module.emitError("bb-auto-shard: stage-devices needs one positive "
                            "count per stage, and no stage-replicas");
  if (!stageReplicas.empty() &&
      (static_cast<int64_t>(stageReplicas.size()) != stages ||
       llvm::any_of(stageReplicas, [&](int64_t r) {
         return r < 1 || microbatches % r != 0;
       })))
    return module.emitError("bb-auto-shard: stage-replicas needs one count "
                            "per stage, each dividing microbatches");
  if (stages > 1) {
    planner.stateScale = 1.0 / static_cast<double>(stages);
    planner.activationScale =
        static_cast<double>(std::min(stages, microbatches)) / static_cast<double>(stages);
  }
  planner.stepWeight = 1.0 / static_cast<double>(microbatches);
  planner.pruneAbove = pruneAbove;
  // The training step places the state; evaluation follows it.
  SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
  llvm::stable_sort(funcs, [](func::FuncOp a, func::FuncOp b) {
    return a.getSymName() == "train_step" && b.getSymName() != "train_step";
  });
  for (auto func : funcs)
    if (failed(planner.plan(func, timeLimit, sym, search == "axiswise",
                            refinePlan)))
      return failure();
  if (std::optional<std::string> unused = planner.unusedPin())
    return module.emitError("bb-auto-shard: --shard ")
           << *unused << ": no input, parameter or weight has that name";
  auto f64 = [&](StringRef key, double v) {
    return b.getNamedAttr(key, b.getF64FloatAttr(v));
  };
  auto i64 = [&](StringRef key, int64_t v) {
    return b.getNamedAttr(key, b.getI64IntegerAttr(v));
  };
  auto i64s = [&](StringRef key, ArrayRef<int64_t> v) {
    return b.getNamedAttr(key, b.getI64ArrayAttr(v));
  };
  NamedAttrList staged;
  if (!planner.stageStateBytes.empty()) {
    staged.push_back(i64s("pipeline_stage_state_bytes", planner.stageStateBytes));
    staged.push_back(i64s("pipeline_stage_weight_bytes", planner.stageWeightBytes));
    staged.push_back(
        i64s("pipeline_stage_activation_bytes", planner.stageActivationBytes));
    staged.push_back(i64s("pipeline_stage_stash_bytes", planner.stageStashBytes));
    for (auto [prefix, work] :
         {std::pair<std::string, const Planner::StageSeconds *>{
              "pipeline_stage_", &planner.microbatchWork},
          {"pipeline_stage_step_", &planner.stepWork}})
      for (auto [key, v] : {std::pair{"compute_seconds", &work->compute},
                            {"communication_intra_host_seconds", &work->intraHost},
                            {"communication_inter_host_seconds", &work->interHost}})
        staged.push_back(
            b.getNamedAttr(prefix + key, b.getF64ArrayAttr(*v)));
  }
  NamedAttrList plan(
          {b.getNamedAttr("cluster", b.getStringAttr(cluster)),
           f64("compute_seconds", planner.computeSeconds),
           f64("communication_seconds", planner.communicationSeconds),
           f64("communication_intra_host_seconds", planner.intraHostSeconds),
           f64("communication_inter_host_seconds", planner.interHostSeconds),
           f64("step_compute_seconds", planner.stepComputeSeconds),
           f64("step_communication_intra_host_seconds",
               planner.stepIntraHostSeconds),
           f64("step_communication_inter_host_seconds",
               planner.stepInterHostSeconds),
           f64("model_flops", planner.modelFlops),
           i64("activation_bytes_per_device", planner.activationBytes),
           i64("weight_bytes_per_device", planner.weightBytes),
           i64("state_bytes_per_device", planner.stateBytes),
           b.getNamedAttr("solver", b.getStringAttr(planner.optimal ? "optimal"
                                                                    : "time limit")),
           f64("solver_seconds", planner.solverSeconds),
           i64("variables", planner.variables),
           i64("constraints", planner.constraints)});
  plan.append(staged);
  module->setAttr("bb.plan", plan.getDictionary(b.getContext()));
  return planner.computeSeconds + planner.communicationSeconds;
}
} // namespace
