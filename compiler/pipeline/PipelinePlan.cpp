//===- PipelinePlan.cpp - what a pipelined plan costs ---------------------===//
#include "compiler/pipeline/PipelinePlan.h"

#include "compiler/pipeline/PlanReport.h"

#include "compiler/cluster/Cluster.h"
#include "compiler/costmodel/Collective.h"
#include "compiler/costmodel/DeviceMesh.h"
#include "compiler/costmodel/PipelineStages.h"
#include "compiler/support/FirstDiagnostic.h"
#include "dialects/bb/BbInterfaces.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/Pass/PassManager.h"
#include "passes/Passes.h"
#include "passes/pipeline/AccumulateGradients.h"
#include "passes/pipeline/StageCut.h"
#include "passes/sharding/ShardingRules.h"
#include "llvm/Support/FormatVariadic.h"

#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

using namespace mlir;

static llvm::Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

/// One plan a search tries: its name in the log and its options.
struct PlanCandidate {
  std::string name;
  mlir::bb::CompileOptions options;
  /// Stage replication over this many copies of the stage mesh: the
  /// replica counts (and the cut) are chosen from the model's block costs
  /// when it is planned (costmodel::replicatedStages); 0: the options are
  /// complete.
  int64_t replicaCopies = 0;
  /// With replicaCopies: the stages share the copies as meshes of their own
  /// (stage s on r_s copies joined along the data-parallel axis, a
  /// (r_s D) x T mesh) instead of replicas.
  bool meshes = false;
};

/// Micro-batch counts a search tries on P pipeline stages: 2P, 4P and 8P,
/// and the most up to 16P that splits `batch` into micro-batches the
/// stage mesh's outer (data-parallel) axis of `outer` devices splits
/// evenly: 1536 sequences on 16 stages of 8 x 8 make 128 micro-batches of
/// 12, which 8 does not divide, and 192 of 8 (the best GPT-3 175B plan
/// here). The caller drops those the batch does not allow.
static SmallVector<int64_t, 4> microbatchCounts(int64_t P, int64_t batch,
                                                int64_t outer) {
  SmallVector<int64_t, 4> counts = {2 * P, 4 * P, 8 * P};
  for (int64_t M = 16 * P; M > 2 * P; --M)
    if (batch % (M * outer) == 0) {
      if (!llvm::is_contained(counts, M))
        counts.push_back(M);
      break;
    }
  return counts;
}

/// Where a replicated stage's replicas all-reduce their gradients: device
/// 0 of each of `replicas` copies of a stage mesh of `perCopy` devices, the
/// first copy from device `firstDevice` on (one collective over the
/// driver's one buffer of them; the composition and the search's replica
/// counts price it alike).
static mlir::bb::costmodel::GroupLayout
replicaGroup(const mlir::bb::cluster::Cluster &cluster, int64_t firstDevice,
             int64_t replicas, int64_t perCopy) {
  SmallVector<int64_t> group;
  for (int64_t j = 0; j < replicas; ++j)
    group.push_back(firstDevice + j * perCopy);
  return mlir::bb::costmodel::groupLayout(cluster, group);
}

/// The blocks of @train_step that bb-pipeline-stages can put on stages
/// (layers and their halves, StageCut.h): their costs, their parameters'
/// state and gradient bytes, and their stash per micro-batch.
struct BlockFigures {
  std::vector<double> cost;
  std::vector<int64_t> stateBytes, gradientBytes, stashBytes;
  /// The products' type, whose peak rate the costs run at.
  mlir::bb::cluster::DType products = mlir::bb::cluster::DType::F32;
};

/// The blocks' figures; nullopt when @train_step cannot be cut (planning
/// the candidate reports why).
static std::optional<BlockFigures> blockFigures(ModuleOp module) {
  auto train = module.lookupSymbol<func::FuncOp>("train_step");
  if (!train)
    return BlockFigures();
  ScopedDiagnosticHandler quiet(module.getContext(),
                                [](Diagnostic &) { return success(); });
  FailureOr<mlir::bb::StageCut> cut =
      mlir::bb::cutStages(train, 1, "bb-pipeline-stages");
  if (failed(cut))
    return std::nullopt;
  auto bytes = [](ArrayRef<int64_t> v) {
    return std::vector<int64_t>(v.begin(), v.end());
  };
  return BlockFigures{
      std::vector<double>(cut->blockCost.begin(), cut->blockCost.end()),
      bytes(cut->blockStateBytes), bytes(cut->blockGradientBytes),
      bytes(cut->blockStashBytes), mlir::bb::productType(module)};
}

/// The replica counts and cut of a --stages=auto candidate with replicated
/// stages (`o`: its stages, micro-batches and stage mesh) over
/// `copies` copies of the stage mesh: costmodel::replicatedStages over the
/// blocks' seconds (each block's cost, FLOPs or bytes where they dominate
/// (StageCut), at the device's peak rate for the products' type on all the
/// stage mesh's devices), with each stage's replicas' all-reduce of their
/// gradients once per step (priced as the composition prices it), and
/// without stages that cannot fit a device: their parameters, optimizer
/// state, gradients and stash times the micro-batches in flight (1F1B:
/// min(S - s, M / replicas)), split over all of a copy's devices, above
/// the search's share of its memory. (A lower bound of what bb-auto-shard
/// will count, which judges the candidate.) Empty when no counts qualify.
/// With `meshes`, stage s joins its r_s copies into one mesh of its own:
/// every micro-batch runs on it (min(S - s, M) in flight), its state splits
/// over all its devices at best, its data-parallel axis all-reduces the
/// gradients once per step (priced as the replicas' all-reduce), and it
/// lies within one host or on whole hosts (Alpa's sub-mesh shapes).
static mlir::bb::costmodel::ReplicatedCut
replicaCounts(const BlockFigures &blocks, const mlir::bb::ShardOptions &o,
              int64_t copies, bool meshes = false) {
  using namespace mlir::bb;
  auto cluster = cluster::loadCluster(o.cluster);
  if (!cluster) {
    llvm::consumeError(cluster.takeError());
    return {};
  }
  const int64_t perCopy = o.dataParallel * o.tensorParallel;
  const double perDevice = 1.0 / static_cast<double>(perCopy);
  const double rate =
      cluster->peakFlops(blocks.products) * static_cast<double>(perCopy);
  const size_t n = blocks.cost.size();
  std::vector<double> seconds(n);
  std::vector<int64_t> held(n + 1, 0), sent(n + 1, 0), stash(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    seconds[i] = blocks.cost[i] / rate;
    held[i + 1] = held[i] + blocks.stateBytes[i] + blocks.gradientBytes[i];
    sent[i + 1] = sent[i] + blocks.gradientBytes[i];
    stash[i + 1] = stash[i] + blocks.stashBytes[i];
  }
  const double memory = static_cast<double>(cluster->device().memory_bytes()) *
                        AutoShardOptions().memoryFraction;
  const int64_t S = o.pipelineStages, M = o.microbatches;
  // The replicas' groups by first copy and count: device 0 of each copy,
  // as the composition prices them (size 0: not yet laid out).
  std::vector<costmodel::GroupLayout> groups(
      static_cast<size_t>((copies + 1) * (copies + 1)));
  auto perStep = [&](size_t stage, size_t first, size_t end, int64_t firstCopy,
                     int64_t replicas) {
    const int64_t inFlight = std::min<int64_t>(
        S - static_cast<int64_t>(stage), meshes ? M : M / replicas);
    const double bytes = static_cast<double>(held[end] - held[first]) +
                         static_cast<double>(stash[end] - stash[first]) *
                             static_cast<double>(inFlight);
    if (bytes * perDevice / (meshes ? static_cast<double>(replicas) : 1.0) >
        memory)
      return std::numeric_limits<double>::infinity();
    if (meshes) {
      const int64_t first = firstCopy * perCopy, n = replicas * perCopy,
                    host = cluster->devicesPerHost();
      const bool placed = n <= host ? first / host == (first + n - 1) / host
                                    : first % host == 0 && n % host == 0;
      if (!placed)
        return std::numeric_limits<double>::infinity();
    }
    if (replicas == 1)
      return 0.0;
    costmodel::GroupLayout &layout = groups[firstCopy * (copies + 1) + replicas];
    if (layout.size == 0)
      layout = replicaGroup(*cluster, firstCopy * perCopy, replicas, perCopy);
    return costmodel::collectiveTime(
        *cluster, costmodel::CollectiveKind::ALL_REDUCE, layout,
        static_cast<double>(sent[end] - sent[first]) * perDevice);
  };
  return costmodel::replicatedStages(seconds, S, copies, M, perStep);
}

llvm::Error mlir::bb::composePipelinePlan(ModuleOp module,
                                          const ShardOptions &o) {
  MLIRContext *ctx = module.getContext();
  auto plan = module->getAttrOfType<DictionaryAttr>("bb.plan");
  if (!plan)
    return makeError("internal error: no bb.plan to compose a pipeline with");
  auto cluster = cluster::loadCluster(o.cluster);
  if (!cluster)
    return cluster.takeError();
  const int64_t S = o.pipelineStages, M = o.microbatches;
  // Stage s on replicas[s] copies of the stage mesh (stage replication:
  // each runs every replicas[s]-th micro-batch whole), from device
  // first[s] on; without replicas, one each. With meshes of their own
  // (bb-auto-shard-stages), stage s's mesh is D_s x T_s.
  const bool meshPerStage = !o.stageTensorParallel.empty();
  std::vector<int64_t> perStage(S, o.dataParallel * o.tensorParallel);
  if (meshPerStage)
    for (int64_t s = 0; s < S; ++s)
      perStage[s] = o.stageDataParallel[s] * o.stageTensorParallel[s];
  const std::vector<int64_t> replicas =
      o.stageReplicas.empty() ? std::vector<int64_t>(S, 1) : o.stageReplicas;
  std::vector<int64_t> first(S, 0);
  for (int64_t s = 1; s < S; ++s)
    first[s] = first[s - 1] + replicas[s - 1] * perStage[s - 1];

  // The cut, on a copy.
  OwningOpRef<ModuleOp> copy = module.clone();
  {
    PassManager pm(ctx);
    // Read for its figures and dropped: compiling the plan runs the same
    // cut verified.
    pm.enableVerifier(false);
    PipelineStagesOptions ps;
    ps.stages = S;
    ps.microbatches = M;
    ps.dataParallel = o.stageReplicas.empty() ? o.dataParallel : 1;
    // Crossings and stashes keep the plan's layouts: what each device
    // sends and holds is its block of them. (With replicas, the replicated
    // cut.)
    ps.keepSharding = true;
    ps.replicas = o.stageReplicas;
    pm.addPass(createPipelineStages(ps));
    FirstDiagnostic diag(ctx);
    if (failed(pm.run(*copy)))
      return makeError("pipeline stages: " + diag.message());
  }
  auto attrs = (*copy)->getAttrOfType<DictionaryAttr>("bb.attributes");
  auto attr = [&](int64_t s, StringRef key) -> std::string {
    auto a = attrs.getAs<StringAttr>(
        ("pipeline.stage" + std::to_string(s) + "." + key).str());
    return a ? a.getValue().str() : "";
  };

  // A crossing's bytes on one device of its function's mesh (the stage
  // mesh, or the stage's own): its block under the layout the plan leaves
  // it in.
  auto meshShapeOf = [&](func::FuncOp f) {
    SmallVector<int64_t> shape;
    mesh::MeshOp m;
    if (auto sym = f->getAttrOfType<FlatSymbolRefAttr>("bb.mesh"))
      m = (*copy).lookupSymbol<mesh::MeshOp>(sym.getAttr());
    else if (auto meshes = (*copy).getOps<mesh::MeshOp>(); !meshes.empty())
      m = *meshes.begin();
    if (m)
      shape.assign(m.getShape().begin(), m.getShape().end());
    return shape;
  };
  auto blockBytes = [&](func::FuncOp f, Type t, mesh::MeshShardingAttr attr) {
    auto type = cast<RankedTensorType>(t);
    if (!attr)
      return static_cast<double>(getTensorBytes(type));
    auto local = sharding::TensorSharding::fromAttr(attr, type.getRank())
                     .localShape(type.getShape(), meshShapeOf(f));
    return static_cast<double>(
        getTensorBytes(RankedTensorType::get(local, type.getElementType())));
  };
  auto localBytes = [&](func::FuncOp f, unsigned result) -> double {
    return blockBytes(
        f, f.getResultTypes()[result],
        f.getResultAttrOfType<mesh::MeshShardingAttr>(result, "bb.sharding"));
  };

  // Per stage: cost share, and what it sends and to whom.
  std::vector<double> share(S), p2p(S, 0);
  std::vector<bool> p2pInter(S, false);
  // Each crossing's receiving stage, and the bytes each of its devices
  // receives (its block of it).
  std::map<std::string, std::pair<int64_t, double>> receiver;
  for (auto f : (*copy).getOps<func::FuncOp>())
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      if (auto role = f.getArgAttrOfType<StringAttr>(i, "bb.role");
          role && role.getValue() == "recv") {
        int64_t s = std::stoll(f.getSymName().drop_front(5).str());
        receiver[f.getArgAttrOfType<StringAttr>(i, "bb.name").getValue().str()] = {
            s, blockBytes(f, f.getArgumentTypes()[i],
                          f.getArgAttrOfType<mesh::MeshShardingAttr>(
                              i, "bb.sharding"))};
      }
  for (int64_t s = 0; s < S; ++s) {
    share[s] = std::stod(attr(s, "share"));
    std::string prefix = "stage" + std::to_string(s) + "_";
    for (const char *part : {"forward", "backward"}) {
      auto f = (*copy).lookupSymbol<func::FuncOp>(prefix + part);
      if (!f)
        continue;
      for (unsigned i = 0; i < f.getNumResults(); ++i) {
        auto role = f.getResultAttrOfType<StringAttr>(i, "bb.role");
        if (!role || role.getValue() != "send")
          continue;
        auto name = f.getResultAttrOfType<StringAttr>(i, "bb.name").getValue();
        auto rec = receiver.find(name.str());
        const int64_t to = rec != receiver.end() ? rec->second.first : s;
        // Device k of stage s sends its block of the tensor to device k of
        // stage `to` (as the pipelined binary does: a tensor replicated
        // over an axis is sent by every device along it). Between meshes
        // of different shapes the sender's mesh gathers it whole and
        // device k of the receiver's mesh gets its block from device k mod
        // n of the sender's n: up to ceil(n' / n) sends per device.
        int64_t a = first[s], b = first[to];
        cluster::Link link = cluster->linkBetween(a, b);
        const double sends =
            meshPerStage ? static_cast<double>((perStage[to] + perStage[s] - 1) /
                                               perStage[s])
                         : 1.0;
        const double bytes = rec != receiver.end() && meshPerStage
                                 ? rec->second.second
                                 : localBytes(f, i);
        p2p[s] += sends * (link.latency + bytes / link.bandwidth);
        if (meshPerStage) {
          // From the layout the sender's plan leaves it in to the one it is
          // sent in (whole between meshes of different shapes): each
          // stage's plan was made with the receiver on its own mesh, so
          // neither priced this.
          Value sent = f.getBody().front().getTerminator()->getOperand(i);
          auto type = cast<RankedTensorType>(sent.getType());
          SmallVector<int64_t> shape = meshShapeOf(f);
          auto stageMesh = costmodel::DeviceMesh::create(*cluster, shape, a);
          if (!stageMesh)
            return stageMesh.takeError();
          auto declared =
              f.getResultAttrOfType<mesh::MeshShardingAttr>(i, "bb.sharding");
          p2p[s] += sharding::reshardSeconds(
              sharding::plannedSharding(sent, /*keepPartial=*/true),
              declared ? sharding::TensorSharding::fromAttr(declared, type.getRank())
                       : sharding::TensorSharding::replicated(type.getRank()),
              type, shape,
              [&](costmodel::CollectiveKind kind, ArrayRef<int16_t> axes,
                         double bytes) {
                SmallVector<int64_t> meshAxes(axes.begin(), axes.end());
                return costmodel::meshCollectiveTime(*cluster, *stageMesh,
                                                     meshAxes, kind, bytes);
              });
        }
        if (cluster->hostOf(a) != cluster->hostOf(b))
          p2pInter[s] = true;
      }
    }
  }

  // Each stage's work under the plan, as bb-auto-shard booked it (its ops'
  // compute and the layout changes into them): one micro-batch's forward
  // and backward, and the once-per-step work after the micro-batches (the
  // gradients' reduction, the global norm and the optimizer update).
  struct StageWork {
    std::vector<double> compute, intra, inter;
    double total(int64_t s) const { return compute[s] + intra[s] + inter[s]; }
  };
  auto stageWork = [&](StringRef prefix) -> std::optional<StageWork> {
    StageWork w{planF64Array(plan, (prefix + "compute_seconds").str()),
                planF64Array(plan, (prefix + "communication_intra_host_seconds").str()),
                planF64Array(plan, (prefix + "communication_inter_host_seconds").str())};
    for (const std::vector<double> *v : {&w.compute, &w.intra, &w.inter})
      if (static_cast<int64_t>(v->size()) != S)
        return std::nullopt;
    return w;
  };
  std::optional<StageWork> micro = stageWork("pipeline_stage_"),
                          perStep = stageWork("pipeline_stage_step_");
  if (!micro || !perStep)
    return makeError("pipeline stages: the plan has no work figures for " +
                     std::to_string(S) + " stages (bb-auto-shard ran without "
                     "stages=" + std::to_string(S) + ")");
  // The driver's own work on the gradients (runtime/driver/
  // PipelineSchedule.cpp), which the plan of one micro-batch does not
  // have: after each micro-batch's backward but the first, an add of every
  // gradient into its accumulator (read both, write one); once per step, the
  // averaging by 1 / micro-batches (read and write), unless the gradients
  // are summed (pipeline.gradients = sum, under loss scaling). Each is one
  // kernel per gradient over the device's block, in place: at the device's
  // in-place bandwidth.
  const bumblebee::cluster::Device &device = cluster->device();
  const double bandwidth = cluster->inPlaceBandwidth();
  bool averaged = true;
  if (auto attrs = (*copy)->getAttrOfType<DictionaryAttr>("bb.attributes"))
    if (auto how = attrs.getAs<StringAttr>("pipeline.gradients"))
      averaged = how.getValue() != "sum";
  std::vector<double> gradientBytes(S, 0), accumulate(S, 0), average(S, 0);
  // Per stage, its gradients and those it accumulates as partial sums and
  // reduces once per step (the rest are reduced after every micro-batch).
  SmallVector<int64_t> gradients(S, 0), reducedOnce(S, 0);
  for (int64_t s = 0; s < S; ++s) {
    auto bwd = (*copy).lookupSymbol<func::FuncOp>("stage" + std::to_string(s) +
                                                  "_backward");
    if (!bwd)
      continue;
    // Each micro-batch's backward adds its gradients into the accumulators
    // (bb-accumulate-gradients): a product with no collective after it (its
    // partial sums kept, or one device) in its GEMM, reading the block once
    // more; any other gradient in an add of its own, reading two blocks and
    // writing one. Once per step the driver zeroes them and (mean)
    // averages them.
    auto ret = cast<func::ReturnOp>(bwd.getBody().front().getTerminator());
    double bytes = 0, addedBytes = 0, adds = 0;
    for (unsigned i = 0; i < bwd.getNumResults(); ++i)
      if (auto role = bwd.getResultAttrOfType<StringAttr>(i, "bb.role");
          role && role.getValue() == "grad") {
        const double b = localBytes(bwd, i);
        bytes += b;
        gradients[s] += 1;
        auto attr =
            bwd.getResultAttrOfType<mesh::MeshShardingAttr>(i, "bb.sharding");
        const bool partial = attr && !attr.getPartialAxes().empty();
        if (partial)
          reducedOnce[s] += 1;
        if (!accumulatedInProduct(ret.getOperand(i), partial, perStage[s] == 1)) {
          addedBytes += b;
          adds += 1;
        }
      }
    const double launch = device.launch_overhead();
    const double kernels = static_cast<double>(gradients[s]);
    gradientBytes[s] = bytes;
    accumulate[s] = (bytes + 2 * addedBytes) / bandwidth + adds * launch;
    micro->compute[s] += accumulate[s];
    average[s] = (averaged ? 3 : 1) * bytes / bandwidth +
                 (averaged ? 2 : 1) * kernels * launch;
    perStep->compute[s] += average[s];
  }
  // A replicated stage's replicas all-reduce its gradients once per step,
  // one collective over all of them (the driver keeps them in one buffer),
  // among its devices (device k of each copy of the stage mesh).
  std::vector<double> replicaReduce(S, 0);
  for (int64_t s = 0; s < S; ++s) {
    if (replicas[s] == 1)
      continue;
    const costmodel::GroupLayout layout =
        replicaGroup(*cluster, first[s], replicas[s], perStage[s]);
    replicaReduce[s] = costmodel::collectiveTime(
        *cluster, costmodel::CollectiveKind::ALL_REDUCE, layout,
        gradientBytes[s]);
    (layout.spansHosts() ? perStep->inter : perStep->intra)[s] +=
        replicaReduce[s];
  }
  std::vector<double> slot(S);
  for (int64_t s = 0; s < S; ++s)
    slot[s] = micro->total(s) + p2p[s];
  // Stage s runs M / replicas[s] rounds of micro-batches (M without
  // replicas); the slowest is the stage whose rounds after the first take
  // longest (costmodel::pipelineStepTime's).
  auto rounds = [&](int64_t s) { return M / replicas[s]; };
  auto after = [&](int64_t s) { return (rounds(s) - 1) * slot[s]; };
  int64_t worst = 0, slowestUpdate = 0;
  for (int64_t s = 1; s < S; ++s) {
    if (after(s) > after(worst) ||
        (after(s) == after(worst) && slot[s] > slot[worst]))
      worst = s;
    if (perStep->total(s) > perStep->total(slowestUpdate))
      slowestUpdate = s;
  }
  const double R = static_cast<double>(rounds(worst));
  const double compute = R * micro->compute[worst] + perStep->compute[slowestUpdate];
  double intra = R * micro->intra[worst] + perStep->intra[slowestUpdate],
         inter = R * micro->inter[worst] + perStep->inter[slowestUpdate];
  (p2pInter[worst] ? inter : intra) += R * p2p[worst];
  const double comm = intra + inter;
  const double pipeline = costmodel::pipelineStepTime(slot, M, replicas);
  // The step (the report adds it up): the slowest stage's rounds and the
  // bubble (the other stages' slots), then the slowest stage's update.
  const double bubble = pipeline - R * slot[worst];

  // Memory: the fullest stage, as bb-auto-shard counted each stage's (its
  // state, weights and gradient buffers, one micro-batch's peak, and its
  // stash for each further micro-batch in flight, 1F1B: min(S - s, M) in
  // all), with the stages of the cut above.
  const std::vector<int64_t>
      stageState = planI64Array(plan, "pipeline_stage_state_bytes"),
      stageWeights = planI64Array(plan, "pipeline_stage_weight_bytes"),
      stageActs = planI64Array(plan, "pipeline_stage_activation_bytes");
  if (static_cast<int64_t>(stageState.size()) != S ||
      static_cast<int64_t>(stageWeights.size()) != S ||
      static_cast<int64_t>(stageActs.size()) != S)
    return makeError("pipeline stages: the plan has no memory figures for " +
                     std::to_string(S) + " stages (bb-auto-shard ran without "
                     "stages=" + std::to_string(S) + ")");
  int64_t fullest = 0;
  std::vector<int64_t> mem(S);
  for (int64_t s = 0; s < S; ++s) {
    mem[s] = stageState[s] + stageWeights[s] + stageActs[s];
    if (mem[s] > mem[fullest])
      fullest = s;
  }

  Builder b(ctx);
  NamedAttrList list(plan);
  list.set("compute_seconds", b.getF64FloatAttr(compute));
  list.set("communication_seconds", b.getF64FloatAttr(comm));
  list.set("communication_intra_host_seconds", b.getF64FloatAttr(intra));
  list.set("communication_inter_host_seconds", b.getF64FloatAttr(inter));
  list.set("pipeline_bubble_seconds", b.getF64FloatAttr(bubble));
  list.set("pipeline_update_seconds",
           b.getF64FloatAttr(perStep->total(slowestUpdate)));
  list.set("pipeline_stages", b.getI64IntegerAttr(S));
  list.set("microbatches", b.getI64IntegerAttr(M));
  list.set("model_flops", b.getF64FloatAttr(M * planF64(plan, "model_flops")));
  list.set("state_bytes_per_device", b.getI64IntegerAttr(stageState[fullest]));
  list.set("weight_bytes_per_device", b.getI64IntegerAttr(stageWeights[fullest]));
  list.set("activation_bytes_per_device", b.getI64IntegerAttr(stageActs[fullest]));
  SmallVector<Attribute> blocks, shares;
  SmallVector<int64_t> inFlight;
  for (int64_t s = 0; s < S; ++s) {
    blocks.push_back(b.getStringAttr(attr(s, "blocks")));
    shares.push_back(b.getF64FloatAttr(share[s]));
    inFlight.push_back(std::min(S - s, rounds(s)));
  }
  list.set("pipeline_stage_blocks", b.getArrayAttr(blocks));
  list.set("pipeline_stage_shares", b.getArrayAttr(shares));
  list.set("pipeline_stage_memory_bytes", b.getI64ArrayAttr(mem));
  list.set("pipeline_stage_in_flight", b.getI64ArrayAttr(inFlight));
  if (!o.stageReplicas.empty()) {
    list.set("pipeline_stage_replicas", b.getI64ArrayAttr(replicas));
    // Part of each stage's once-per-step work.
    list.set("pipeline_stage_replica_reduce_seconds",
             b.getF64ArrayAttr(replicaReduce));
  }
  // One micro-batch's forward and backward on each stage, its sends
  // included: the slots of the schedule.
  list.set("pipeline_stage_slot_seconds", b.getF64ArrayAttr(slot));
  // Each stage's once-per-step work (the slowest one's is the step's).
  SmallVector<double> update;
  for (int64_t s = 0; s < S; ++s)
    update.push_back(perStep->total(s));
  list.set("pipeline_stage_update_seconds", b.getF64ArrayAttr(update));
  // The gradients each device of a stage accumulates, and what adding one
  // micro-batch's into them costs per slot (part of the slot's compute).
  list.set("pipeline_stage_gradient_bytes", b.getF64ArrayAttr(gradientBytes));
  list.set("pipeline_stage_accumulate_seconds", b.getF64ArrayAttr(accumulate));
  // And zeroing and averaging them once per step (only zeroing where they
  // are summed).
  list.set("pipeline_stage_average_seconds", b.getF64ArrayAttr(average));
  list.set("pipeline_stage_gradients", b.getI64ArrayAttr(gradients));
  list.set("pipeline_stage_gradients_reduced_once",
           b.getI64ArrayAttr(reducedOnce));
  module->setAttr("bb.plan", list.getDictionary(ctx));
  return llvm::Error::success();
}

/// Plans `candidates` (shapes only, unrefined) on one thread per core, one
/// front end (import, differentiation, recomputation) per micro-batch
/// count, then plans the best three again (refined when `options` says so)
/// and returns the best of those: fitting first, then the fastest. `log`
/// gets a line per candidate and per refined one; `what` names the search
/// in errors.
/// The largest clusters --stages=auto plans replicated stages on: of one
/// device (a DP over the devices), and of half the equal stages' meshes.
static constexpr int64_t kMaxReplicaDevices = 64;
static constexpr int64_t kMaxReplicatedMeshDevices = 256;
/// And stage meshes of their own (half meshes joined): each such candidate
/// plans every stage on its own mesh, S solves of the whole step (on 39B
/// with 64 and 256 devices they took the search from 33 to 53 s and from
/// 29 to 80 s, and lost).
static constexpr int64_t kMaxStageMeshDevices = 32;

static llvm::Expected<mlir::bb::StageSearchResult>
planCandidates(MLIRContext &context, const std::string &modelPath,
               const mlir::bb::CompileOptions &options,
               std::vector<PlanCandidate> candidates,
               std::vector<std::string> &log, llvm::StringRef what) {
  using namespace mlir::bb;
  // Candidates with the same micro-batch count import the same graph: the
  // front end (import, differentiation, recomputation) runs once per count,
  // and each candidate plans a copy. Stage counts above the model's blocks
  // cannot be cut and are not planned.
  llvm::stable_sort(candidates, [](const PlanCandidate &a, const PlanCandidate &b) {
    return a.options.shard.microbatches < b.options.shard.microbatches;
  });
  // What planning each candidate gave: its log line and, when it has a
  // plan, its predicted step and whether it fits.
  struct Outcome {
    std::string line;
    bool planned = false;
    double step = 0;
    bool fits = false;
  };
  std::vector<Outcome> outcomes(candidates.size());
  // The fitting steps found so far, fastest first: once there are as many
  // as the choice refines (or one without refinement), a candidate whose
  // step is shown to be slower than the last of them cannot be chosen, and
  // bb-auto-shard gives up on it before its memory rows (its prune-above).
  // The choice is the same as without pruning; only the log shows which
  // candidates were given up on, which depends on the order they finish in.
  // (The best three are refined below, the best one without refinement.)
  const size_t kept = options.shard.refine ? 3 : 1;
  std::mutex fittingMutex;
  std::vector<double> fitting;
  auto pruneBound = [&] {
    std::lock_guard<std::mutex> lock(fittingMutex);
    return fitting.size() >= kept ? fitting[kept - 1] : 0.0;
  };
  auto found = [&](double step) {
    std::lock_guard<std::mutex> lock(fittingMutex);
    fitting.insert(llvm::upper_bound(fitting, step), step);
  };
  // Groups of consecutive candidates with one micro-batch count, the most
  // micro-batches first (they are handed out in that order): deep
  // pipelines with many micro-batches tend to be fast, and the steps they
  // find let the slow candidates be given up on early.
  std::vector<std::pair<size_t, size_t>> groups;
  for (size_t i = 0; i < candidates.size();) {
    size_t j = i;
    while (j < candidates.size() &&
           candidates[j].options.shard.microbatches ==
               candidates[i].options.shard.microbatches)
      ++j;
    groups.push_back({i, j});
    i = j;
  }
  std::reverse(groups.begin(), groups.end());
  std::atomic<size_t> nextGroup{0};
  // Why the whole batch's graph could not be made (the plan without
  // stages): an error in the model or the options themselves (a batch the
  // model fixes otherwise), which every candidate shares.
  std::string wholeBatchError;
  auto planGroups = [&](MLIRContext &ctx) {
    for (size_t g; (g = nextGroup++) < groups.size();) {
      auto [begin, end] = groups[g];
      auto front = differentiateModel(ctx, modelPath, candidates[begin].options);
      if (!front) {
        std::string error = llvm::toString(front.takeError());
        for (size_t i = begin; i < end; ++i) {
          outcomes[i].line = candidates[i].name + ": no plan (" + error + ")";
          if (candidates[i].options.shard.pipelineStages <= 1)
            wholeBatchError = error; // one group plans it, once
        }
        continue;
      }
      const std::optional<BlockFigures> figures = blockFigures(**front);
      const int64_t blocks = figures ? static_cast<int64_t>(figures->cost.size())
                                   : std::numeric_limits<int64_t>::max();
      for (size_t i = begin; i < end; ++i) {
        PlanCandidate &cand = candidates[i]; // this thread's alone
        Outcome &out = outcomes[i];
        if (cand.options.shard.pipelineStages > blocks) {
          out.line = cand.name + ": not planned (the model has " +
                     std::to_string(blocks) + " blocks)";
          continue;
        }
        if (cand.replicaCopies > 0) {
          // Devices where the work is: replica counts and cut together.
          const ShardOptions &o = cand.options.shard;
          costmodel::ReplicatedCut rc =
              figures ? replicaCounts(*figures, o, cand.replicaCopies,
                                      cand.meshes)
                      : costmodel::ReplicatedCut();
          // Equal counts on a power of two of stages dividing the devices
          // are an equal stage mesh candidate's pipeline.
          const int64_t S = o.pipelineStages;
          const bool duplicate = !rc.replicas.empty() &&
                                 llvm::all_equal(ArrayRef<int64_t>(rc.replicas)) &&
                                 llvm::isPowerOf2_64(S) &&
                                 cand.replicaCopies % S == 0;
          if (rc.replicas.empty() || duplicate) {
            out.line = cand.name + ": not planned (" +
                       (rc.replicas.empty()
                            ? std::string(cand.meshes
                                              ? "no stage meshes that fill the "
                                                "devices have stages that fit "
                                                "them"
                                              : "no replica counts that divide "
                                                "the micro-batches and fill the "
                                                "devices have stages that fit "
                                                "them")
                            : std::string(cand.meshes
                                              ? "equal meshes, as the equal "
                                                "stage meshes above"
                                              : "equal replicas, as the equal "
                                                "stage meshes above")) +
                       ")";
            continue;
          }
          if (cand.meshes) {
            // Stage s on a mesh of its own: its r_s copies joined along
            // the data-parallel axis.
            ShardOptions &so = cand.options.shard;
            so.stageDataParallel.clear();
            so.stageTensorParallel.clear();
            std::vector<std::string> shapes;
            for (int64_t r : rc.replicas) {
              so.stageDataParallel.push_back(r * so.dataParallel);
              so.stageTensorParallel.push_back(so.tensorParallel);
              shapes.push_back(std::to_string(r * so.dataParallel) + "x" +
                               std::to_string(so.tensorParallel));
            }
            cand.name += " " + llvm::join(shapes, ":");
          } else {
            cand.options.shard.stageReplicas = rc.replicas;
            cand.name += " " + llvm::join(llvm::map_range(rc.replicas,
                                                          [](int64_t r) {
                                                            return std::to_string(r);
                                                          }),
                                          ":");
          }
        }
        CompileOptions pruned = cand.options;
        pruned.shard.pruneAbove = pruneBound();
        auto module =
            compileDifferentiated(**front, modelPath, pruned, EmitStage::Bb);
        if (!module) {
          std::string error = llvm::toString(module.takeError());
          const size_t at = error.find(kAutoShardPruned);
          out.line = at != std::string::npos
                         ? cand.name + ": given up (" +
                               error.substr(at + kAutoShardPruned.size()) +
                               ", slower than " + std::to_string(kept) +
                               " plans found)"
                         : cand.name + ": no plan (" + error + ")";
          continue;
        }
        auto report = planReport(**module, /*withLayers=*/false);
        if (!report) {
          out.line = cand.name + ": " + llvm::toString(report.takeError());
          continue;
        }
        out.planned = true;
        out.step = report->getNumber("step_seconds").value_or(0);
        out.fits = report->getBoolean("fits").value_or(false);
        if (out.fits)
          found(out.step);
        out.line = llvm::formatv("{0}: {1:F3} ms per step{2}", cand.name,
                                 out.step * 1e3,
                                 out.fits ? "" : ", does not fit")
                       .str();
      }
    }
  };
  // One thread per core, each with a context of its own (MLIR's uniquing is
  // shared within a context; separate ones keep the threads apart).
  const size_t threads =
      context.isMultithreadingEnabled()
          ? std::min<size_t>(groups.size(),
                             std::max(1u, std::thread::hardware_concurrency()))
          : 1;
  if (threads <= 1) {
    planGroups(context);
  } else {
    std::vector<std::unique_ptr<MLIRContext>> contexts;
    for (size_t t = 0; t < threads; ++t) {
      contexts.push_back(std::make_unique<MLIRContext>(
          context.getDialectRegistry(), MLIRContext::Threading::DISABLED));
      contexts.back()->loadAllAvailableDialects();
    }
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { planGroups(*contexts[t]); });
    for (std::thread &t : pool)
      t.join();
  }

  // Every candidate's unrefined result, in candidate order.
  struct Result {
    size_t index;
    double step;
    bool fits;
  };
  std::vector<Result> results;
  for (auto [i, out] : llvm::enumerate(outcomes)) {
    log.push_back(out.line);
    if (out.planned)
      results.push_back({i, out.step, out.fits});
  }
  if (results.empty() && !wholeBatchError.empty()) {
    log.clear(); // one error, not one per candidate
    return makeError(wholeBatchError);
  }
  if (results.empty())
    return makeError(what + ": no candidate has a plan");
  // The best few (fitting first, then by step time) are planned again in
  // the caller's context, with bb-auto-shard's refinement; the best of
  // those is kept. Without refinement, the best one as it was.
  llvm::stable_sort(results, [](const Result &a, const Result &b) {
    return a.fits != b.fits ? a.fits : a.step < b.step;
  });
  const bool refine = options.shard.refine;
  mlir::bb::StageSearchResult best;
  double bestTime = 0;
  bool bestFits = false;
  // One front end per micro-batch count among them.
  std::map<int64_t, OwningOpRef<ModuleOp>> fronts;
  for (size_t r = 0; r < std::min(kept, results.size()); ++r) {
    const PlanCandidate &cand = candidates[results[r].index];
    CompileOptions again = cand.options;
    again.shard.refine = refine;
    OwningOpRef<ModuleOp> &front = fronts[again.shard.microbatches];
    if (!front) {
      auto differentiated = differentiateModel(context, modelPath, again);
      if (!differentiated)
        return differentiated.takeError();
      front = std::move(*differentiated);
    }
    auto module = compileDifferentiated(*front, modelPath, again, EmitStage::Bb);
    if (!module) {
      log.push_back(cand.name + ", refined: no plan (" +
                    llvm::toString(module.takeError()) + ")");
      continue;
    }
    auto report = planReport(**module, /*withLayers=*/false);
    if (!report)
      return report.takeError();
    const double step = report->getNumber("step_seconds").value_or(0);
    const bool fits = report->getBoolean("fits").value_or(false);
    if (refine)
      log.push_back(llvm::formatv("{0}, refined: {1:F3} ms per step{2}",
                                  cand.name, step * 1e3,
                                  fits ? "" : ", does not fit")
                        .str());
    if (!best.plan || (fits && !bestFits) || (fits == bestFits && step < bestTime)) {
      best.plan = std::move(*module);
      best.options = cand.options;
      best.options.shard.planOnly = options.shard.planOnly;
      best.options.shard.refine = refine;
      best.options.import = options.import;
      best.choice = cand.name;
      bestTime = step;
      bestFits = fits;
    }
  }
  if (!best.plan)
    return makeError(what + ": no candidate has a plan");
  return best;
}

/// What a search over whole-step plans (`what`: --stages=auto,
/// --baseline=grid) needs first: a training step, the cluster, the batch;
/// the options' own errors once here, not once per candidate.
struct SearchSetup {
  int64_t batch, devices, perHost;
};
static llvm::Expected<SearchSetup>
searchSetup(const mlir::bb::CompileOptions &options, llvm::StringRef what) {
  auto cluster = mlir::bb::cluster::loadCluster(options.shard.cluster);
  if (!cluster)
    return cluster.takeError();
  if (!options.train.enabled)
    return makeError(what + " plans training (--train)");
  if (auto err = mlir::bb::checkRecompute(options.train))
    return std::move(err);
  if (options.import.inputShapes.empty())
    return makeError(what + " needs the batch size: give the inputs' "
                            "shapes with --input-shape");
  return SearchSetup{options.import.inputShapes.begin()->second.at(0),
                     cluster->deviceCount(), cluster->devicesPerHost()};
}

llvm::Expected<mlir::bb::StageSearchResult>
mlir::bb::planWithStageSearch(MLIRContext &context, const std::string &modelPath,
                              const CompileOptions &options,
                              std::vector<std::string> &log) {
  auto setup = searchSetup(options, "--stages=auto");
  if (!setup)
    return setup.takeError();
  const int64_t batch = setup->batch, devices = setup->devices,
                perHost = setup->perHost;

  // Candidates are planned on shapes alone.
  CompileOptions base = options;
  base.shard.planOnly = true;
  base.import.shapesOnly = true;
  base.shard.refine = false; // the chosen one is refined below
  std::vector<PlanCandidate> candidates = {{"no pipeline stages", base}};
  // S stages on stage meshes of m devices, (m / k) x k, each stage on one
  // mesh (copies = 0) or the stages sharing `copies` meshes unequally: as
  // replicas, or (`meshes`) joined into meshes of their own.
  auto meshCandidates = [&](int64_t S, int64_t m, int64_t k, int64_t copies,
                            bool meshes = false) {
    for (int64_t M : microbatchCounts(S, batch, m / k)) {
      if (batch % M)
        continue;
      CompileOptions c = base;
      ShardOptions &o = c.shard;
      o.pipelineStages = S;
      o.microbatches = M;
      o.pinBatch = -1;
      o.zero = false;
      o.planStages = true;
      o.dataParallel = m / k;
      o.tensorParallel = k;
      o.mesh = k == 1 ? std::to_string(m)
                      : std::to_string(m / k) + "x" + std::to_string(k);
      candidates.push_back({"pp=" + std::to_string(S) + ", microbatches=" +
                                std::to_string(M) + ", stage mesh " + o.mesh +
                                (!copies ? "" : meshes ? ", stage meshes" : ", replicas"),
                            std::move(c), copies, meshes});
    }
  };
  for (int64_t S = 2; S <= devices; S *= 2) {
    if (devices % S)
      continue;
    const int64_t n = devices / S;
    // Stage meshes (n / k) x k, k dividing a host's devices (the inner
    // axis stays within a host), as --mesh=auto tries them.
    for (int64_t k = 1; k <= std::min(n, perHost); ++k) {
      if (perHost % k || n % k || (k > 1 && k == n)) // 1 x n is [n]
        continue;
      meshCandidates(S, n, k, 0);
      // The same stages on half-size stage meshes, 2S copies of them shared
      // unequally (counts and cut from the block costs when planned), on
      // clusters of at most kMaxReplicatedMeshDevices.
      const int64_t half = n / 2;
      if (n % 2 == 0 && half >= 2 && half % k == 0 && !(k > 1 && k == half) &&
          devices <= kMaxReplicatedMeshDevices && base.shard.pins.empty()) {
        meshCandidates(S, half, k, 2 * S);
        // ... and joined into meshes of their own (Alpa's sub-meshes:
        // stage s on r_s half meshes, a (r_s n / 2k) x k mesh).
        if (devices <= kMaxStageMeshDevices)
          meshCandidates(S, half, k, 2 * S, /*meshes=*/true);
      }
    }
  }
  // Stages of one device replicated over unequal device counts
  // (PipeDream's replication; counts and cut chosen from the block costs
  // when planned), on clusters of at most kMaxReplicaDevices devices (the
  // choice is a dynamic program over devices, and beyond them a stage's
  // whole state on one device rarely fits); not with --shard pins, which
  // need partitioned stages.
  for (int64_t S = 2; S <= std::min<int64_t>(8, devices) &&
                      devices <= kMaxReplicaDevices && base.shard.pins.empty();
       ++S)
    for (int64_t M : microbatchCounts(S, batch, 1)) {
      if (batch % M)
        continue;
      CompileOptions c = base;
      if (llvm::Error err = parseStrategy("pp=" + std::to_string(S) +
                                              ",microbatches=" +
                                              std::to_string(M),
                                          c.shard))
        return std::move(err);
      candidates.push_back({"pp=" + std::to_string(S) + ", microbatches=" +
                                std::to_string(M) + ", replicas",
                            std::move(c), devices});
    }

  return planCandidates(context, modelPath, options, std::move(candidates),
                        log, "--stages=auto");
}

llvm::Expected<mlir::bb::StageSearchResult>
mlir::bb::planStrategyGrid(MLIRContext &context, const std::string &modelPath,
                           const CompileOptions &options,
                           std::vector<std::string> &log) {
  auto setup = searchSetup(options, "--baseline=grid");
  if (!setup)
    return setup.takeError();
  const int64_t batch = setup->batch, devices = setup->devices,
                perHost = setup->perHost;
  CompileOptions base = options;
  base.shard = ShardOptions();
  base.shard.cluster = options.shard.cluster;
  base.shard.timeLimit = options.shard.timeLimit;
  base.shard.planOnly = true;
  base.shard.refine = false; // the best are refined by planCandidates
  base.import.shapesOnly = true;
  std::vector<PlanCandidate> candidates;
  for (int64_t T = 1; T <= perHost; ++T) {
    if (perHost % T || devices % T)
      continue;
    for (int64_t P = 1; P * T <= devices; P *= 2) {
      if (devices % (P * T))
        continue;
      const int64_t D = devices / (P * T);
      SmallVector<int64_t, 4> counts = {1};
      if (P > 1)
        counts = microbatchCounts(P, batch, D);
      for (int64_t M : counts) {
        if (batch % (M * D))
          continue;
        std::string strategy =
            "dp=" + std::to_string(D) + ",tp=" + std::to_string(T);
        if (P > 1)
          strategy += ",pp=" + std::to_string(P) +
                      ",microbatches=" + std::to_string(M);
        CompileOptions c = base;
        if (llvm::Error err = parseStrategy(strategy, c.shard))
          return std::move(err);
        candidates.push_back({strategy, std::move(c)});
      }
    }
  }
  if (candidates.empty())
    return makeError("--baseline=grid: no dp x tp x pp configuration splits "
                     "the batch of " + std::to_string(batch) + " over " +
                     std::to_string(devices) + " devices");
  return planCandidates(context, modelPath, options, std::move(candidates), log,
                        "--baseline=grid");
}
