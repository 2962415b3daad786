//===- PlanReport.cpp - what `bbc plan` prints about a sharding plan ------===//
#include "compiler/pipeline/PlanReport.h"

#include "compiler/support/Bytes.h"

#include "compiler/cluster/Cluster.h"
#include "dialects/bb/BbInterfaces.h"
#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "passes/autodiff/TrainStepParts.h"
#include "passes/pipeline/StageCut.h"
#include "passes/sharding/ShardingRules.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"

#include <map>

using namespace mlir;
using namespace mlir::bb;
using namespace mlir::bb::sharding;

static llvm::Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

/// "/h.0/attn/c_attn/MatMul" -> "/h.0/attn"; optimizer updates -> "optimizer".
static std::string groupOf(Operation *op) {
  if (isa<SgdUpdateOp, AdamwUpdateOp>(op))
    return "optimizer";
  std::string layer = layerOf(op);
  if (!layer.empty())
    return layer;
  auto name = dyn_cast<NameLoc>(op->getLoc());
  return name && name.getName().getValue().starts_with("/") ? "/" : "(other)";
}

static std::string describeSharding(const TensorSharding &s) {
  std::string text = s.splitAxesText();
  if (!s.partialAxes.empty()) {
    text += " partial";
    for (int16_t a : s.partialAxes)
      text += " " + std::to_string(a);
  }
  return text;
}

double mlir::bb::planF64(DictionaryAttr plan, StringRef key) {
  auto a = plan.getAs<FloatAttr>(key);
  return a ? a.getValueAsDouble() : 0.0;
}

int64_t mlir::bb::planI64(DictionaryAttr plan, StringRef key) {
  auto a = plan.getAs<IntegerAttr>(key);
  return a ? a.getInt() : 0;
}

std::vector<int64_t> mlir::bb::planI64Array(DictionaryAttr plan,
                                            StringRef key) {
  std::vector<int64_t> v;
  if (auto a = plan.getAs<ArrayAttr>(key))
    for (Attribute x : a)
      v.push_back(cast<IntegerAttr>(x).getInt());
  return v;
}

std::vector<double> mlir::bb::planF64Array(DictionaryAttr plan, StringRef key) {
  std::vector<double> v;
  if (auto a = plan.getAs<ArrayAttr>(key))
    for (Attribute x : a)
      v.push_back(cast<FloatAttr>(x).getValueAsDouble());
  return v;
}

llvm::Expected<llvm::json::Object> mlir::bb::planReport(ModuleOp module,
                                                        bool withLayers) {
  auto plan = module->getAttrOfType<DictionaryAttr>("bb.plan");
  SmallVector<mesh::MeshOp> meshes(module.getOps<mesh::MeshOp>());
  if (!plan || meshes.empty())
    return makeError("the module has no sharding plan (run bb-auto-shard)");
  auto f64 = [&](StringRef key) { return planF64(plan, key); };
  auto i64 = [&](StringRef key) { return planI64(plan, key); };
  StringRef clusterSpec = plan.getAs<StringAttr>("cluster").getValue();
  auto cluster = cluster::loadCluster(clusterSpec);
  if (!cluster)
    return cluster.takeError();
  ArrayRef<int64_t> meshShape = meshes[0].getShape();
  // A pipelined plan: the mesh is one stage's; stages hold consecutive
  // devices, and a step runs `microbatches` of the module's batch.
  const int64_t stages = std::max<int64_t>(1, i64("pipeline_stages"));
  const int64_t microbatches = std::max<int64_t>(1, i64("microbatches"));
  const int64_t perStage = meshDevices(meshShape);
  // Stage replication: stage s on replicas[s] copies of the stage mesh.
  std::vector<int64_t> replicas = planI64Array(plan, "pipeline_stage_replicas");
  const bool replicated = static_cast<int64_t>(replicas.size()) == stages;
  if (!replicated)
    replicas.assign(stages, 1);
  // Stages on meshes of their own (bb-auto-shard-stages): @stage<s>, each
  // stage's devices its mesh's.
  std::vector<int64_t> stageDevices(stages, perStage);
  llvm::json::Array stageMeshes;
  const bool meshPerStage = meshes.size() > 1;
  if (meshPerStage) {
    if (static_cast<int64_t>(meshes.size()) != stages)
      return makeError("the plan has " + std::to_string(meshes.size()) +
                       " meshes for " + std::to_string(stages) + " stages");
    for (int64_t s = 0; s < stages; ++s) {
      auto m = module.lookupSymbol<mesh::MeshOp>("stage" + std::to_string(s));
      if (!m)
        return makeError("the plan has no mesh @stage" + std::to_string(s));
      stageDevices[s] = meshDevices(m.getShape());
      stageMeshes.push_back(llvm::join(
          llvm::map_range(m.getShape(),
                          [](int64_t d) { return std::to_string(d); }),
          "x"));
    }
  }
  int64_t devices = 0;
  for (int64_t s = 0; s < stages; ++s)
    devices += replicas[s] * stageDevices[s];
  llvm::json::Array stageBlocks;
  if (auto blocks = plan.getAs<ArrayAttr>("pipeline_stage_blocks"))
    for (Attribute a : blocks) {
      SmallVector<StringRef> names;
      cast<StringAttr>(a).getValue().split(names, ',', -1, false);
      llvm::json::Array list;
      for (StringRef n : names)
        list.push_back(n.str());
      stageBlocks.push_back(std::move(list));
    }

  // Per stage of a pipelined plan: memory per device, the stash one
  // micro-batch in flight holds, and how many are in flight at most.
  auto i64Array = [&](StringRef key) {
    return llvm::json::Array(planI64Array(plan, key));
  };
  llvm::json::Array stageMemory = i64Array("pipeline_stage_memory_bytes");
  llvm::json::Array stageStash = i64Array("pipeline_stage_stash_bytes");
  // Of each stage's memory: its parameters and optimizer state, its weights,
  // and the rest (one micro-batch's peak, the gradient buffers, the other
  // micro-batches' stashes), as bb-auto-shard counted them.
  llvm::json::Array stageState = i64Array("pipeline_stage_state_bytes");
  llvm::json::Array stageWeights = i64Array("pipeline_stage_weight_bytes");
  llvm::json::Array stageActivations = i64Array("pipeline_stage_activation_bytes");
  llvm::json::Array stageInFlight = i64Array("pipeline_stage_in_flight");
  const std::vector<double> slots = planF64Array(plan, "pipeline_stage_slot_seconds"),
                            updates = planF64Array(plan, "pipeline_stage_update_seconds");
  llvm::json::Array stageSlot(slots), stageUpdate(updates);
  llvm::json::Array stageGradientBytes(
      planF64Array(plan, "pipeline_stage_gradient_bytes"));
  llvm::json::Array stageAccumulate(
      planF64Array(plan, "pipeline_stage_accumulate_seconds"));
  llvm::json::Array stageAverage(
      planF64Array(plan, "pipeline_stage_average_seconds"));
  llvm::json::Array stageGradients = i64Array("pipeline_stage_gradients");
  llvm::json::Array stageReducedOnce =
      i64Array("pipeline_stage_gradients_reduced_once");
  // What stages of unequal meshes could save at most (Alpa's inter-op
  // pass gives a stage any sub-mesh; here every stage has the same). With
  // the cut's work W = the sum of the slots, no assignment of the same
  // devices to stages makes the slowest slot shorter than W / S unless a
  // stage's time falls faster than linearly with its devices, and the
  // slots then still sum to W; of the step (the slots' sum, M - 1 more of
  // the slowest, the once-per-step work) at most (M - 1) (max - mean) of
  // the slots is saved, and max - mean of the once-per-step work.
  double balanceBound = 0;
  auto slack = [](const std::vector<double> &v) {
    double sum = 0, max = 0;
    for (double x : v) {
      sum += x;
      max = std::max(max, x);
    }
    return max - sum / static_cast<double>(v.size());
  };
  if (stages > 1 && !replicated && !meshPerStage &&
      static_cast<int64_t>(slots.size()) == stages)
    balanceBound = static_cast<double>(microbatches - 1) * slack(slots) +
                   (static_cast<int64_t>(updates.size()) == stages ? slack(updates) : 0);
  // The devices (ranks) of each stage, consecutive, and the hosts they are
  // on: [first, last] of each.
  llvm::json::Array stageRanks, stageHosts;
  if (stages > 1)
    for (int64_t st = 0, first = 0; st < stages; ++st) {
      const int64_t last = first + replicas[st] * stageDevices[st] - 1;
      stageRanks.push_back(llvm::json::Array{first, last});
      stageHosts.push_back(
          llvm::json::Array{cluster->hostOf(first), cluster->hostOf(last)});
      first = last + 1;
    }

  func::FuncOp main = module.lookupSymbol<func::FuncOp>("train_step");
  bool training = static_cast<bool>(main);
  if (!main)
    main = module.lookupSymbol<func::FuncOp>("forward");
  if (!main)
    return makeError("the module has neither @train_step nor @forward");

  // Each op's pipeline stage, as bb-pipeline-stages cuts the step (an
  // optimizer update on the stage of its gradient; the norm, on none).
  llvm::DenseMap<Operation *, int64_t> opStage;
  if (withLayers && stages > 1 && training) {
    FailureOr<StageCut> cut =
        cutStages(main, stages, "plan report",
                  replicated     ? ArrayRef<int64_t>(replicas)
                  : meshPerStage ? ArrayRef<int64_t>(stageDevices)
                                 : ArrayRef<int64_t>());
    if (failed(cut))
      return makeError("the plan's pipeline stages cannot be cut again");
    opStage = std::move(cut->stage);
    for (Operation *op : cut->perStep)
      if (Value g = updateGradient(op))
        if (auto it = opStage.find(g.getDefiningOp()); it != opStage.end())
          opStage[op] = it->second;
  }

  // Layers.
  struct Group {
    int64_t stage = -1, lastStage = -1; // the stages its ops run on
    int64_t ops = 0;
    double flops = 0, topFlops = -1;
    std::string topOp, sharding;
  };
  std::map<std::string, Group> groups;
  std::vector<std::string> order;
  for (Operation &op : main.getBody().front().without_terminator()) {
    if (!withLayers)
      break;
    if (isa<ConstantOp>(op))
      continue;
    std::string key = groupOf(&op);
    auto [it, added] = groups.try_emplace(key);
    if (added)
      order.push_back(key);
    Group &g = it->second;
    if (auto st = opStage.find(&op); st != opStage.end()) {
      g.stage = g.stage < 0 ? st->second : std::min(g.stage, st->second);
      g.lastStage = std::max(g.lastStage, st->second);
    }
    ++g.ops;
    double flops = 0;
    if (auto cost = dyn_cast<CostOpInterface>(op))
      flops = cost.getFlops();
    g.flops += flops;
    if (flops > g.topFlops) {
      g.topFlops = flops;
      g.topOp = op.getName().getStringRef().str();
      OpRule rule = ruleFor(&op);
      Strategy s(meshShape.size(), -1);
      if (auto attr = op.getAttrOfType<DenseI64ArrayAttr>("bb.strategy"))
        s.assign(attr.asArrayRef().begin(), attr.asArrayRef().end());
      std::string text;
      for (auto [i, v] : llvm::enumerate(op.getOperands()))
        text += (i ? ", " : "") +
                describeSharding(operandSharding(
                    rule, s, i, cast<RankedTensorType>(v.getType()).getRank()));
      text += " -> ";
      for (auto [i, r] : llvm::enumerate(op.getResults()))
        text += (i ? ", " : "") +
                describeSharding(resultSharding(
                    rule, s, i, cast<RankedTensorType>(r.getType()).getRank()));
      g.sharding = text;
    }
  }
  llvm::json::Array layers;
  for (const std::string &key : order) {
    const Group &g = groups[key];
    layers.push_back(llvm::json::Object{{"layer", key},
                                        {"ops", g.ops},
                                        {"flops", g.flops},
                                        {"costliest_op", g.topOp},
                                        {"sharding", g.sharding},
                                        {"stage", std::max<int64_t>(g.stage, 0)},
                                        {"last_stage", std::max<int64_t>(g.lastStage, 0)},
                                        {"devices",
                                         meshPerStage
                                             ? stageDevices[std::max<int64_t>(g.stage, 0)]
                                             : devices / stages}});
  }

  // Work per step: tokens for [B, T] integer inputs, else samples.
  int64_t items = 0;
  std::string unit = "samples";
  for (BlockArgument arg : main.getArguments()) {
    if (main.getArgAttr(arg.getArgNumber(), "bb.state") ||
        main.getArgAttr(arg.getArgNumber(), "bb.role"))
      continue;
    auto type = cast<RankedTensorType>(arg.getType());
    if (type.getRank() == 0)
      continue;
    if (type.getRank() == 2 && type.getElementType().isInteger(64)) {
      items = type.getShape()[0] * type.getShape()[1];
      unit = "tokens";
    } else {
      items = type.getShape()[0];
    }
    break;
  }
  items *= microbatches;
  double compute = f64("compute_seconds"), comm = f64("communication_seconds");
  double bubble = f64("pipeline_bubble_seconds");
  double step = compute + comm + bubble;
  double flops = f64("model_flops");
  // MFU against the peak of the products' type: bf16, f16 or tf32 when
  // bb-mixed-precision ran (--precision=bf16|fp16|tf32), else f32.
  const cluster::DType productType = mlir::bb::productType(module);
  double peak = cluster->peakFlops(productType);
  double perDevice = step > 0 ? flops / step / devices : 0;
  int64_t state = i64("state_bytes_per_device");
  int64_t weights = i64("weight_bytes_per_device");
  int64_t activations = i64("activation_bytes_per_device");
  int64_t capacity = static_cast<int64_t>(cluster->device().memory_bytes());

  llvm::json::Array meshJson;
  for (int64_t d : meshShape)
    meshJson.push_back(d);
  return llvm::json::Object{
      {"model", module->getAttrOfType<StringAttr>("bb.source")
                    ? module->getAttrOfType<StringAttr>("bb.source").getValue()
                    : "model"},
      {"mode", training ? "train" : "inference"},
      {"cluster", clusterSpec},
      {"devices", devices},
      {"mesh", std::move(meshJson)},
      {"pipeline_stages", stages},
      {"microbatches", microbatches},
      {"stage_blocks", std::move(stageBlocks)},
      {"stage_memory_bytes", std::move(stageMemory)},
      {"stage_stash_bytes", std::move(stageStash)},
      {"stage_state_bytes", std::move(stageState)},
      {"stage_weight_bytes", std::move(stageWeights)},
      {"stage_activation_bytes", std::move(stageActivations)},
      {"stage_microbatches_in_flight", std::move(stageInFlight)},
      {"stage_slot_seconds", std::move(stageSlot)},
      {"stage_update_seconds", std::move(stageUpdate)},
      {"stage_gradient_bytes", std::move(stageGradientBytes)},
      {"stage_accumulate_seconds", std::move(stageAccumulate)},
      {"stage_average_seconds", std::move(stageAverage)},
      {"stage_gradients", std::move(stageGradients)},
      {"stage_gradients_reduced_once", std::move(stageReducedOnce)},
      {"unequal_meshes_bound_seconds", balanceBound},
      {"stage_replicas", replicated ? llvm::json::Array(replicas)
                                    : llvm::json::Array()},
      // Each stage's own mesh (stages on meshes of their own); empty when
      // every stage has the mesh above.
      {"stage_meshes", std::move(stageMeshes)},
      // Of each stage's update: all-reducing its gradients among its
      // replicas.
      {"stage_replica_reduce_seconds",
       llvm::json::Array(
           planF64Array(plan, "pipeline_stage_replica_reduce_seconds"))},
      {"stage_ranks", std::move(stageRanks)},
      {"stage_hosts", std::move(stageHosts)},
      {"layers", std::move(layers)},
      {"step_seconds", step},
      {"compute_seconds", compute},
      {"communication_seconds", comm},
      {"communication_intra_host_seconds", f64("communication_intra_host_seconds")},
      {"communication_inter_host_seconds", f64("communication_inter_host_seconds")},
      {"pipeline_bubble_seconds", bubble},
      // Of compute + communication: the once-per-step part after the
      // micro-batches (gradient reduction, norm, optimizer update).
      {"pipeline_update_seconds", f64("pipeline_update_seconds")},
      {"throughput_unit", unit},
      {"throughput_per_second", step > 0 ? items / step : 0.0},
      {"model_flops_per_step", flops},
      {"model_flops_per_second_per_device", perDevice},
      {"mfu", peak > 0 ? perDevice / peak : 0.0},
      {"precision", productType == cluster::DType::BF16   ? "bf16"
                    : productType == cluster::DType::F16  ? "fp16"
                    : productType == cluster::DType::TF32 ? "tf32"
                                                          : "fp32"},
      {"state_bytes_per_device", state},
      {"weight_bytes_per_device", weights},
      {"activation_bytes_per_device", activations},
      {"memory_bytes_per_device", state + weights + activations},
      {"memory_capacity_bytes", capacity},
      {"fits", state + weights + activations <= capacity},
      {"solver",
       llvm::json::Object{
           {"status", plan.getAs<StringAttr>("solver").getValue()},
           {"seconds", f64("solver_seconds")},
           {"variables", i64("variables")},
           {"constraints", i64("constraints")}}},
  };
}

static std::string human(double v, const char *unit) {
  const char *prefixes[] = {"", "K", "M", "G", "T", "P"};
  int i = 0;
  while (std::abs(v) >= 1000 && i < 5) {
    v /= 1000;
    ++i;
  }
  return llvm::formatv("{0:F2} {1}{2}", v, prefixes[i], unit).str();
}

cluster::DType mlir::bb::productType(ModuleOp module) {
  cluster::DType type = cluster::DType::F32;
  module.walk([&](MatMulOp op) {
    if (op.getLhs().getType().getElementType().isBF16())
      type = cluster::DType::BF16;
    else if (op.getLhs().getType().getElementType().isF16())
      type = cluster::DType::F16;
    else if (op.getTf32())
      type = cluster::DType::TF32;
  });
  return type;
}

static std::string ms(double seconds) {
  return llvm::formatv("{0:F3} ms", seconds * 1e3).str();
}

void mlir::bb::printPlanReport(const llvm::json::Object &r,
                               llvm::raw_ostream &os) {
  auto num = [&](StringRef k) { return r.getNumber(k).value_or(0); };
  auto str = [&](StringRef k) { return r.getString(k).value_or("").str(); };
  std::string meshText;
  if (const llvm::json::Array *m = r.getArray("mesh"))
    for (const llvm::json::Value &d : *m)
      meshText += (meshText.empty() ? "" : "x") +
                  std::to_string(d.getAsInteger().value_or(0));
  os << "plan: " << str("model") << " (" << str("mode") << ") on "
     << str("cluster") << ": " << static_cast<int64_t>(num("devices"))
     << " devices, ";
  const int64_t stages = r.getInteger("pipeline_stages").value_or(1);
  std::string replicaText;
  if (const llvm::json::Array *reps = r.getArray("stage_replicas"))
    for (const llvm::json::Value &v : *reps)
      replicaText += (replicaText.empty() ? "" : ":") +
                     std::to_string(v.getAsInteger().value_or(0));
  std::string stageMeshText;
  if (const llvm::json::Array *meshes = r.getArray("stage_meshes"))
    for (const llvm::json::Value &v : *meshes)
      stageMeshText += (stageMeshText.empty() ? "" : ", ") +
                       v.getAsString().value_or("").str();
  if (stages > 1 && !stageMeshText.empty())
    os << stages << " pipeline stages on meshes " << stageMeshText << ", "
       << r.getInteger("microbatches").value_or(1) << " micro-batches (1F1B)\n\n";
  else if (stages > 1)
    os << stages << " pipeline stages of mesh " << meshText
       << (replicaText.empty() ? "" : " replicated " + replicaText) << ", "
       << r.getInteger("microbatches").value_or(1) << " micro-batches (1F1B)\n\n";
  else
    os << "mesh " << meshText << ", 1 pipeline stage\n\n";
  os << llvm::formatv("{0,-22} {1,5} {2,6} {3,12}  {4}\n", "layer", "stage", "ops", "FLOP",
                      "sharding of its costliest op (operands -> results; "
                      "per dim the mesh axes it splits over)");
  if (const llvm::json::Array *layers = r.getArray("layers"))
    for (const llvm::json::Value &v : *layers) {
      const llvm::json::Object *l = v.getAsObject();
      const int64_t first = l->getInteger("stage").value_or(0),
                    last = l->getInteger("last_stage").value_or(first);
      os << llvm::formatv("{0,-22} {1,5} {2,6} {3,12}  {4}: {5}\n",
                          l->getString("layer").value_or(""),
                          first == last ? std::to_string(first)
                                        : std::to_string(first) + "-" +
                                              std::to_string(last),
                          l->getInteger("ops").value_or(0),
                          human(l->getNumber("flops").value_or(0), ""),
                          l->getString("costliest_op").value_or(""),
                          l->getString("sharding").value_or(""));
    }
  os << "\npredicted step time " << ms(num("step_seconds")) << " = compute "
     << ms(num("compute_seconds")) << " + communication "
     << ms(num("communication_seconds")) << " (within hosts "
     << ms(num("communication_intra_host_seconds")) << ", between hosts "
     << ms(num("communication_inter_host_seconds")) << ") + pipeline bubble "
     << ms(num("pipeline_bubble_seconds")) << "\n";
  os << "throughput " << human(num("throughput_per_second"), "")
     << str("throughput_unit") << "/s; model "
     << human(num("model_flops_per_second_per_device"), "FLOP/s")
     << " per device; MFU " << llvm::formatv("{0:F1}", 100 * num("mfu"))
     << "% (of the " << str("precision") << " peak)\n";
  os << "memory per device " << formatBytes(num("memory_bytes_per_device"))
     << " (parameters and optimizer state " << formatBytes(num("state_bytes_per_device"))
     << ", constant weights " << formatBytes(num("weight_bytes_per_device"))
     << ", activations " << formatBytes(num("activation_bytes_per_device")) << ") of "
     << formatBytes(num("memory_capacity_bytes"))
     << (r.getBoolean("fits").value_or(false) ? "" : "  DOES NOT FIT") << "\n";
  // A pipelined plan: per stage its devices, its blocks, and what each of
  // its devices holds.
  const llvm::json::Array *stageMemory = r.getArray("stage_memory_bytes");
  const llvm::json::Array *stageStash = r.getArray("stage_stash_bytes");
  const llvm::json::Array *inFlight = r.getArray("stage_microbatches_in_flight");
  const llvm::json::Array *stageRanks = r.getArray("stage_ranks");
  const llvm::json::Array *stageHosts = r.getArray("stage_hosts");
  const llvm::json::Array *stageBlocks = r.getArray("stage_blocks");
  const llvm::json::Array *stageSlot = r.getArray("stage_slot_seconds");
  const size_t numStages = stageMemory ? stageMemory->size() : 0;
  auto sized = [&](const llvm::json::Array *a) { return a && a->size() == numStages; };
  if (numStages > 1 && sized(stageStash) && sized(inFlight) && sized(stageRanks) &&
      sized(stageHosts) && sized(stageBlocks) && sized(stageSlot)) {
    auto range = [](const llvm::json::Value &v, StringRef what) {
      const llvm::json::Array *a = v.getAsArray();
      int64_t first = a && a->size() == 2 ? (*a)[0].getAsInteger().value_or(0) : 0;
      int64_t last = a && a->size() == 2 ? (*a)[1].getAsInteger().value_or(0) : 0;
      return first == last ? (what + " " + Twine(first)).str()
                           : (what + "s " + Twine(first) + "-" + Twine(last)).str();
    };
    os << "per stage (a micro-batch's forward, backward and sends; memory per "
          "device: stash per micro-batch x micro-batches in flight):\n";
    for (size_t s = 0; s < numStages; ++s) {
      const llvm::json::Array *blocks = (*stageBlocks)[s].getAsArray();
      std::string blockText;
      if (blocks && !blocks->empty()) {
        auto name = [&](size_t i) {
          return (*blocks)[i].getAsString().value_or("").str();
        };
        blockText = blocks->size() == 1
                        ? name(0)
                        : name(0) + " .. " + name(blocks->size() - 1) + " (" +
                              std::to_string(blocks->size()) + " blocks)";
      }
      os << "  stage " << s << ": " << range((*stageRanks)[s], "rank") << " ("
         << range((*stageHosts)[s], "host") << "): " << blockText << "; "
         << ms((*stageSlot)[s].getAsNumber().value_or(0)) << "; "
         << formatBytes((*stageMemory)[s].getAsInteger().value_or(0)) << " ("
         << formatBytes((*stageStash)[s].getAsInteger().value_or(0)) << " x "
         << (*inFlight)[s].getAsInteger().value_or(0) << ")\n";
    }
    // Which gradients each stage reduces once per step (accumulated as
    // partial sums) rather than after every micro-batch.
    const llvm::json::Array *grads = r.getArray("stage_gradients");
    const llvm::json::Array *once = r.getArray("stage_gradients_reduced_once");
    if (sized(grads) && sized(once)) {
      int64_t total = 0, deferred = 0;
      for (size_t s = 0; s < numStages; ++s) {
        total += (*grads)[s].getAsInteger().value_or(0);
        deferred += (*once)[s].getAsInteger().value_or(0);
      }
      os << "gradients: " << deferred << " of " << total
         << " accumulated as partial sums and reduced once per step, the "
            "rest reduced after every micro-batch\n";
    }
    const double bound = num("unequal_meshes_bound_seconds");
    if (replicaText.empty() && stageMeshText.empty())
      os << "stage balance: stages of unequal meshes could save at most "
         << ms(bound) << " per step ("
         << llvm::formatv("{0:F1}", 100 * bound / std::max(1e-30, num("step_seconds")))
         << "%), if a stage's time fell linearly with its devices\n";
  }
  // --baseline=grid: the best hand configuration under the same model.
  if (const llvm::json::Object *b = r.getObject("baseline"))
    os << "baseline: the best dp x tp x pp configuration, "
       << b->getString("strategy").value_or("") << ": "
       << ms(b->getNumber("step_seconds").value_or(0)) << " per step, "
       << human(b->getNumber("throughput_per_second").value_or(0), "")
       << str("throughput_unit") << "/s"
       << (b->getBoolean("fits").value_or(false) ? "" : " (does not fit)")
       << "; this plan is "
       << llvm::formatv("{0:F3}", b->getNumber("speedup").value_or(0))
       << "x its throughput\n";
  if (const llvm::json::Object *s = r.getObject("solver"))
    os << "solver: " << s->getString("status").value_or("") << " in "
       << llvm::formatv("{0:F2}", s->getNumber("seconds").value_or(0)) << " s ("
       << s->getInteger("variables").value_or(0) << " variables, "
       << s->getInteger("constraints").value_or(0) << " constraints)\n";
}
