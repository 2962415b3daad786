//===- Pipeline.cpp - the compiler's phases, strung together ---------------===//
#include "compiler/pipeline/Pipeline.h"
#include "compiler/pipeline/PipelinePlan.h"

#include "compiler/emit/Weights.h"
#include "compiler/onnx/TrainedModel.h"
#include "dialects/bbrt/BbrtDialect.h"
#include "compiler/support/FirstDiagnostic.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Support/Timing.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "passes/Passes.h"

#include <optional>
#include <tuple>

using namespace mlir;

static llvm::Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

llvm::Error mlir::bb::loadPassPlugins(const std::vector<std::string> &paths) {
  for (const std::string &path : paths) {
    auto plugin = PassPlugin::load(path);
    if (!plugin)
      return makeError("--pass-plugin=" + path + ": " +
                       llvm::toString(plugin.takeError()));
    plugin->registerPassRegistryCallbacks();
  }
  return llvm::Error::success();
}

/// Runs `pm` on `module`, turning the first diagnostic into the error.
static llvm::Error runPasses(PassManager &pm, ModuleOp module,
                             const std::string &what) {
  bb::FirstDiagnostic diag(module.getContext());
  if (failed(pm.run(module)))
    return makeError(what + ": a pass failed: " + diag.message());
  return llvm::Error::success();
}

llvm::Error mlir::bb::parseStrategy(llvm::StringRef text, ShardOptions &o) {
  int64_t dp = 1, tp = 1, pp = 1, microbatches = 1;
  bool zero = false;
  std::vector<int64_t> replicas, stageDp, stageTp;
  SmallVector<StringRef> items;
  text.split(items, ',');
  // "N:N:...", one positive count per stage, into `list`.
  auto counts = [](StringRef value, std::vector<int64_t> &list) {
    SmallVector<StringRef> parts;
    value.split(parts, ':');
    for (StringRef c : parts) {
      int64_t n;
      if (c.trim().getAsInteger(10, n) || n < 1)
        return false;
      list.push_back(n);
    }
    return true;
  };
  for (StringRef item : items) {
    auto [key, value] = item.trim().split('=');
    if ((key == "tp" || key == "dp") && value.contains(':')) {
      if (!counts(value, key == "tp" ? stageTp : stageDp))
        return makeError("--strategy=" + text + ": '" + item +
                         "': expected " + key + "=N or " + key +
                         "=N:N:... (one positive degree per pipeline stage)");
      continue;
    }
    if (key == "replicas") {
      if (!counts(value, replicas))
        return makeError("--strategy=" + text + ": '" + item +
                         "': expected replicas=N:N:... (one positive "
                         "count per pipeline stage)");
      continue;
    }
    int64_t v;
    if (value.getAsInteger(10, v) || v < 0)
      return makeError("--strategy=" + text + ": '" + item +
                       "': expected KEY=NUMBER");
    if (key == "dp" && v > 0)
      dp = v;
    else if (key == "tp" && v > 0)
      tp = v;
    else if (key == "pp" && v > 0)
      pp = v;
    else if (key == "microbatches" && v > 0)
      microbatches = v;
    else if (key == "zero" && v <= 1)
      zero = v == 1;
    else
      return makeError("--strategy=" + text + ": unknown or invalid '" + item +
                       "' (known: dp=N, tp=N, pp=N, microbatches=N, "
                       "replicas=N:N:..., zero=0|1)");
  }
  if (zero && dp == 1 && stageDp.empty())
    return makeError("--strategy=" + text + ": zero=1 needs dp > 1");
  if (microbatches > 1 && pp == 1)
    return makeError("--strategy=" + text + ": microbatches=N needs pp > 1");
  if (!replicas.empty()) {
    if (static_cast<int64_t>(replicas.size()) != pp)
      return makeError("--strategy=" + text + ": replicas= lists " +
                       std::to_string(replicas.size()) + " count(s); pp=" +
                       std::to_string(pp) + " needs one per stage");
    for (int64_t r : replicas) {
      if (microbatches % r != 0)
        return makeError("--strategy=" + text + ": a stage's " +
                         std::to_string(r) + " replicas do not divide the "
                         "step's " + std::to_string(microbatches) +
                         " micro-batches");
    }
  }
  // Stages on meshes of their own: dp and tp per stage (a single value for
  // every stage where one of them is given once).
  if (!stageTp.empty() || !stageDp.empty()) {
    for (auto [list, key, one] :
         {std::tuple{&stageDp, "dp", dp}, std::tuple{&stageTp, "tp", tp}}) {
      if (list->empty())
        list->assign(pp, one);
      if (static_cast<int64_t>(list->size()) != pp)
        return makeError("--strategy=" + text + ": " + key + "= lists " +
                         std::to_string(list->size()) + " degree(s); pp=" +
                         std::to_string(pp) + " needs one per stage");
    }
    if (zero || !replicas.empty())
      return makeError("--strategy=" + text + ": dp or tp per stage (stages "
                       "on meshes of their own) goes without zero and "
                       "replicas");
    if (llvm::all_equal(stageTp) && llvm::all_equal(stageDp)) {
      // Every stage on the same mesh.
      dp = stageDp.front();
      tp = stageTp.front();
      stageDp.clear();
      stageTp.clear();
    }
  }
  o.stageDataParallel = stageDp;
  o.stageTensorParallel = stageTp;
  o.pipelineStages = pp;
  o.microbatches = microbatches;
  o.dataParallel = dp;
  o.tensorParallel = tp;
  o.stageReplicas = replicas;
  o.mesh = std::to_string(dp) + "x" + std::to_string(tp);
  if (o.cluster.empty())
    o.cluster = "cpu:" + std::to_string(o.pipelineDevices());
  o.pinBatch = dp > 1 || llvm::any_of(stageDp, [](int64_t d) { return d > 1; })
                   ? 0
                   : -1;
  o.zero = zero;
  return llvm::Error::success();
}

/// Pipelined training compiles one micro-batch: every input given with
/// --input-shape has its first dimension (the batch) divided by the number
/// of micro-batches of a step (micro-batches per replica x replicas).
static llvm::Error microbatchShapes(const bb::ShardOptions &o,
                                    bb::frontend::ImportOptions &import) {
  // A plan, and a binary whose stages are partitioned (tp, ZeRO or a
  // searched stage mesh: ShardOptions::partitionedStages), split
  // each micro-batch over dp themselves (the stage mesh's axis 0); a binary
  // without them runs dp replicas of the pipeline, each on its own
  // micro-batches.
  const bool inMesh = o.planOnly || o.partitionedStages();
  const int64_t parts = o.microbatches * (inMesh ? 1 : o.dataParallel);
  if (import.inputShapes.empty())
    return makeError("pipeline stages need the batch size: give the inputs' "
                     "shapes with --input-shape (the batch, dimension 0, is "
                     "split into " + std::to_string(parts) + " micro-batches)");
  for (auto &[name, shape] : import.inputShapes) {
    if (shape.empty() || shape[0] % parts != 0)
      return makeError("--input-shape " + name + ": the batch (dimension 0) "
                       "must be divisible by " +
                       (inMesh ? "microbatches = " : "microbatches x dp = ") +
                       std::to_string(parts));
    shape[0] /= parts;
  }
  return llvm::Error::success();
}

/// bb-auto-shard's options for `o`. With pipeline stages it plans the whole
/// micro-batch step on one stage's mesh, with each stage's memory counted
/// as bb-pipeline-stages will cut it; the per-step work weighs
/// 1/microbatches.
static bb::AutoShardOptions autoShardOptions(const bb::ShardOptions &o) {
  bb::AutoShardOptions as;
  as.cluster = o.cluster;
  as.meshShape = o.mesh;
  as.pinBatch = o.pinBatch;
  as.zero = o.zero;
  as.shardPins = llvm::join(o.pins, ";");
  as.timeLimit = o.timeLimit;
  as.refine = o.refine;
  as.pruneAbove = o.pruneAbove;
  if (o.pipelineStages > 1) {
    as.stages = o.pipelineStages;
    as.microbatches = o.microbatches;
    as.stageReplicas = o.stageReplicas;
  }
  return as;
}

/// The pass bb-auto-shard-stages for `o` (stages on meshes of their own,
/// D_s x T_s each, the micro-batch split over D_s).
static std::unique_ptr<Pass> autoShardStages(const bb::ShardOptions &o) {
  bb::AutoShardStagesOptions as;
  as.cluster = o.cluster;
  std::vector<std::string> meshes;
  for (auto [d, t] : llvm::zip(o.stageDataParallel, o.stageTensorParallel))
    meshes.push_back(std::to_string(d) + "x" + std::to_string(t));
  as.stageMeshes = meshes;
  // A forced strategy's data parallelism splits the inputs; the stage
  // search's candidates leave the layout to the search.
  as.pinBatch = o.pinBatch >= 0;
  as.microbatches = o.microbatches;
  as.shardPins = llvm::join(o.pins, ";");
  as.timeLimit = o.timeLimit;
  as.refine = o.refine;
  return bb::createAutoShardStages(as);
}

/// Shortest decimal that reads back as the same double.
static std::string formatDouble(double v) {
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (strtod(buf, nullptr) == v)
      break;
  }
  return buf;
}

/// What the training binary needs to know about how it was compiled, as the
/// module's `bb.attributes` (string pairs that bb_describe passes on).
static void setTrainingAttributes(ModuleOp module,
                                  const bb::CompileOptions &o) {
  const bb::TrainOptions &t = o.train;
  Builder b(module.getContext());
  SmallVector<NamedAttribute> attrs;
  auto add = [&](StringRef key, const std::string &value) {
    attrs.push_back(b.getNamedAttr(key, b.getStringAttr(value)));
  };
  add("train.loss", o.grad.loss);
  add("train.optimizer", t.optimizer);
  add("train.lr", formatDouble(t.lr));
  add("train.schedule", t.schedule);
  add("train.warmup", std::to_string(t.warmup));
  add("train.min_lr", formatDouble(t.minLr < 0 ? t.lr / 10 : t.minLr));
  add("train.decay_steps", std::to_string(t.decaySteps));
  add("train.weight_decay", formatDouble(t.weightDecay));
  add("train.grad_clip", formatDouble(t.gradClip));
  if (t.recompute != "none")
    add("train.recompute", t.recompute);
  if (o.precision != "fp32")
    add("train.precision", o.precision);
  if (t.lossScale > 0) {
    add("train.loss_scale", formatDouble(t.lossScale));
    add("train.loss_scale_window", std::to_string(t.lossScaleWindow));
  }
  if (t.optimizer == "sgd") {
    add("train.momentum", formatDouble(t.momentum));
    add("train.nesterov", t.nesterov ? "true" : "false");
  } else {
    add("train.beta1", formatDouble(t.beta1));
    add("train.beta2", formatDouble(t.beta2));
    add("train.epsilon", formatDouble(t.epsilon));
  }
  if (!o.grad.freeze.empty())
    add("train.freeze", o.grad.freeze);
  module->setAttr("bb.attributes", b.getDictionaryAttr(attrs));
}

/// Name of the weights-file tensor holding the ONNX model for --export.
static constexpr const char *kOnnxTemplate = "__onnx_model__";

llvm::Error mlir::bb::checkRecompute(const TrainOptions &train) {
  if (train.recompute != "none" && train.recompute != "blocks")
    return makeError("--recompute=" + train.recompute +
                     ": expected none or blocks");
  if (train.recompute == "blocks" && !train.enabled)
    return makeError("--recompute=blocks needs --train");
  return llvm::Error::success();
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::bb::importModel(MLIRContext &context, const std::string &modelPath,
                      const CompileOptions &options) {
  frontend::ImportOptions importOptions = options.import;
  const bool gradients = options.grad.enabled || options.train.enabled;
  const bool pipelined = options.shard.pipelineStages > 1;
  if (auto err = checkRecompute(options.train))
    return std::move(err);
  if (pipelined) {
    if (!options.train.enabled)
      return makeError("pipeline stages (--strategy pp=N) need --train");
    // Pins name layouts on a stage's mesh, which plans and partitioned
    // stages (with tp or zero) have; stages of one rank have nothing to pin.
    if (!options.shard.pins.empty() && !options.shard.partitionedStages() &&
        !options.shard.planOnly)
      return makeError("--shard with pipeline stages needs stages partitioned "
                       "over a mesh (tp=T or zero=1 in --strategy)");
    if (auto err = microbatchShapes(options.shard, importOptions))
      return std::move(err);
  }
  importOptions.parametersAsResources |= gradients;
  return frontend::importOnnxModel(context, modelPath, importOptions);
}

llvm::Error mlir::bb::addFrontEndPasses(PassManager &pm,
                                        const CompileOptions &options) {
  const bool gradients = options.grad.enabled || options.train.enabled;
  buildImportCleanupPipeline(pm);
  // Before differentiation, so that the backward pass is attention_grad.
  if (options.fuseAttention) {
    pm.addNestedPass<func::FuncOp>(createFuseAttention());
    pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  }
  if (!options.extraPasses.empty()) {
    std::string err;
    llvm::raw_string_ostream os(err);
    if (failed(parsePassPipeline(options.extraPasses, pm, os)))
      return makeError("--extra-passes='" + options.extraPasses + "': " +
                       StringRef(err).trim().str());
  }
  // After differentiation and the training step, so that the backward
  // pass's products are converted too and the master weights stay f32;
  // the cleanup's CSE then shares each tensor's bf16 copy.
  const bool reduced = options.precision != "fp32";
  auto addPrecision = [&] {
    MixedPrecisionOptions mp;
    mp.dtype = options.precision == "fp16" ? "f16" : options.precision;
    pm.addNestedPass<func::FuncOp>(createMixedPrecision(mp));
  };
  if (!gradients) {
    if (reduced) {
      addPrecision();
      buildImportCleanupPipeline(pm);
    }
    return llvm::Error::success();
  }
  AutodiffOptions ad;
  ad.loss = options.grad.loss;
  ad.labels = options.grad.labels;
  ad.freeze = options.grad.freeze;
  ad.ignoreIndex = options.grad.ignoreIndex;
  pm.addPass(createAutodiff(ad));
  if (options.train.enabled) {
    const bb::TrainOptions &t = options.train;
    TrainStepOptions ts;
    ts.optimizer = t.optimizer;
    ts.momentum = t.momentum;
    ts.nesterov = t.nesterov;
    ts.beta1 = t.beta1;
    ts.beta2 = t.beta2;
    ts.epsilon = t.epsilon;
    ts.weightDecay = t.weightDecay;
    ts.gradClip = t.gradClip;
    ts.lossScale = t.lossScale;
    ts.lossScaleWindow = t.lossScaleWindow;
    pm.addPass(createTrainStep(ts));
  }
  if (reduced)
    addPrecision();
  buildImportCleanupPipeline(pm);
  // After the cleanup, so that the copies are made of the ops CSE kept.
  // A pipelined step recomputes each block of the stage cut (a layer's
  // halves apart), so that stages may start at a layer's MLP half; an
  // unpipelined one each layer, which keeps only the layers' inputs.
  if (options.train.enabled && options.train.recompute == "blocks") {
    RecomputeOptions recompute;
    if (options.shard.pipelineStages > 1)
      recompute.blocks = "cut";
    pm.addPass(createRecompute(recompute));
  }
  return llvm::Error::success();
}

void mlir::bb::addBackEndPasses(PassManager &pm, const CompileOptions &options,
                                EmitStage stopAfter) {
  const bool gradients = options.grad.enabled || options.train.enabled;
  const bool pipelined = options.shard.pipelineStages > 1;
  const ShardOptions &so = options.shard;
  if (pipelined && !so.planOnly && !so.partitionedStages()) {
    // Stages of one rank each, dp replicas of the pipeline.
    PipelineStagesOptions ps;
    ps.stages = so.pipelineStages;
    ps.microbatches = so.microbatches;
    ps.dataParallel = so.dataParallel;
    ps.replicas = so.stageReplicas;
    pm.addPass(createPipelineStages(ps));
    buildImportCleanupPipeline(pm);
  } else if (pipelined && !so.planOnly && !so.stageTensorParallel.empty()) {
    // Stages on meshes of their own: each planned on its mesh, cut with the
    // plans kept, each function partitioned over its stage's mesh.
    pm.addPass(autoShardStages(so));
    PipelineStagesOptions ps;
    ps.stages = so.pipelineStages;
    ps.microbatches = so.microbatches;
    ps.keepSharding = true;
    pm.addPass(createPipelineStages(ps));
    pm.addPass(createSpmdize());
    pm.addNestedPass<func::FuncOp>(createMergeAllReduces());
    buildImportCleanupPipeline(pm);
  } else if (pipelined && !so.planOnly) {
    // Stages on dp x tp meshes: plan one micro-batch on a stage's mesh, cut
    // it with the plan kept, partition, then make the mesh the program's.
    pm.addPass(createAutoShard(autoShardOptions(so)));
    PipelineStagesOptions ps;
    ps.stages = so.pipelineStages;
    ps.microbatches = so.microbatches;
    ps.dataParallel = 1;
    ps.keepSharding = true;
    ps.replicas = so.stageReplicas;
    pm.addPass(createPipelineStages(ps));
    pm.addPass(createSpmdize());
    pm.addNestedPass<func::FuncOp>(createMergeAllReduces());
    // The outer axis: one entry per copy of the stage mesh (the stages, or
    // with replicas every stage's copies).
    PipelineMeshOptions pmesh;
    pmesh.stages = so.stageReplicas.empty()
                       ? so.pipelineStages
                       : so.pipelineDevices() / (so.dataParallel * so.tensorParallel);
    pm.addPass(createPipelineMesh(pmesh));
    buildImportCleanupPipeline(pm);
  } else if (pipelined && !so.stageTensorParallel.empty()) {
    pm.addPass(autoShardStages(so));
  } else if (!options.shard.cluster.empty()) {
    pm.addPass(createAutoShard(autoShardOptions(so)));
    if (!options.shard.planOnly) {
      pm.addPass(createSpmdize());
      pm.addNestedPass<func::FuncOp>(createMergeAllReduces());
      buildImportCleanupPipeline(pm);
    }
  }
  if (stopAfter != EmitStage::Bb) {
    // Batch norm folding assumes inference statistics; gradients need them.
    if (!gradients)
      buildInferenceOptimizationPipeline(pm);
    // On the per-rank program: weight gradients summed over the batch as one
    // product each, then the bias adds into the products' epilogues.
    pm.addNestedPass<func::FuncOp>(createFuseBatchSum());
    // A pipeline stage's backward adds its gradients into the accumulators
    // (products with the accumulator as their addend).
    if (pipelined && !so.planOnly)
      pm.addNestedPass<func::FuncOp>(createAccumulateGradients());
    pm.addNestedPass<func::FuncOp>(createFuseLinear());
    // Then the elementwise chains, one generated kernel each.
    if (options.fuseElementwise)
      pm.addNestedPass<func::FuncOp>(createFuseElementwise());
    buildBufferizePipeline(pm);
  }
}

llvm::Error mlir::bb::finishModule(ModuleOp module,
                                   const CompileOptions &options,
                                   EmitStage stopAfter) {
  if (options.shard.pipelineStages > 1 && options.shard.planOnly)
    if (auto err = composePipelinePlan(module, options.shard))
      return err;
  if (stopAfter == EmitStage::EmitC)
    return lowerToEmitC(module);
  return llvm::Error::success();
}

/// A pass manager with bbc's command-line instrumentation (--mlir-timing,
/// --mlir-print-ir-*, where the tool registered them).
static llvm::Expected<std::unique_ptr<PassManager>>
makePassManager(MLIRContext &context) {
  auto pm = std::make_unique<PassManager>(&context);
  if (failed(applyPassManagerCLOptions(*pm)))
    return makeError("invalid pass manager options");
  applyDefaultTimingPassManagerCLOptions(*pm);
  return std::move(pm);
}

/// importModel and the training attributes, then one pass manager with the
/// front end and, with `backEndUntil`, the back end up to that stage.
static llvm::Expected<OwningOpRef<ModuleOp>>
importAndCompile(MLIRContext &context, const std::string &modelPath,
                 const bb::CompileOptions &options,
                 std::optional<bb::EmitStage> backEndUntil) {
  auto module = bb::importModel(context, modelPath, options);
  if (!module)
    return module;
  if (options.train.enabled)
    setTrainingAttributes(**module, options);
  auto pm = makePassManager(context);
  if (!pm)
    return pm.takeError();
  if (auto err = bb::addFrontEndPasses(**pm, options))
    return std::move(err);
  if (backEndUntil)
    bb::addBackEndPasses(**pm, options, *backEndUntil);
  if (auto err = runPasses(**pm, **module, modelPath))
    return std::move(err);
  return module;
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::bb::compileModel(MLIRContext &context, const std::string &modelPath,
                       const CompileOptions &options, EmitStage stopAfter) {
  if (stopAfter == EmitStage::BbImport)
    return importModel(context, modelPath, options);
  auto module = importAndCompile(context, modelPath, options, stopAfter);
  if (!module)
    return module;
  if (auto err = finishModule(**module, options, stopAfter))
    return std::move(err);
  return module;
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::bb::differentiateModel(MLIRContext &context, const std::string &modelPath,
                             const CompileOptions &options) {
  return importAndCompile(context, modelPath, options, std::nullopt);
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::bb::compileDifferentiated(ModuleOp differentiated,
                                const std::string &modelPath,
                                const CompileOptions &options,
                                EmitStage stopAfter) {
  OwningOpRef<ModuleOp> module = differentiated.clone();
  auto pm = makePassManager(*differentiated.getContext());
  if (!pm)
    return pm.takeError();
  // A plan alone is bb-auto-shard's attributes on a module verified after
  // the front end (the stage search plans a hundred copies of one);
  // compiling the plan verifies it after each pass.
  if (options.shard.planOnly)
    (*pm)->enableVerifier(false);
  addBackEndPasses(**pm, options, stopAfter);
  if (auto err = runPasses(**pm, *module, modelPath))
    return std::move(err);
  if (auto err = finishModule(*module, options, stopAfter))
    return std::move(err);
  return module;
}

llvm::Error mlir::bb::lowerToEmitC(ModuleOp module) {
  PassManager pm(module.getContext());
  pm.addPass(createConvertBbrtToEmitC());
  return runPasses(pm, module, "bbrt-to-emitc");
}

llvm::Expected<int64_t> mlir::bb::buildProgram(ModuleOp module,
                                               const std::string &outputPath,
                                               const std::string &modelPath,
                                               const CompileOptions &options) {
  int64_t arena = -1;
  llvm::StringSet<> trained;
  for (auto func : module.getOps<func::FuncOp>())
    if (auto size = func->getAttrOfType<IntegerAttr>("bbrt.arena_size"))
      arena = std::max(arena, size.getInt());
  if (arena < 0)
    return makeError("internal error: the module is not at stage bbrt");
  // The trained parameters (not the optimizer's or the loss scaler's
  // state): the model's initializers that --export writes back.
  module.walk([&](bbrt::StateOp s) {
    if (s.getKind() == "param")
      trained.insert(s.getName());
  });
  auto weights = collectWeights(module);
  if (!weights)
    return weights.takeError();
  if (!trained.empty()) {
    auto onnx = frontend::modelWithoutInitializers(modelPath, trained);
    if (!onnx)
      return onnx.takeError();
    auto type = RankedTensorType::get(
        {static_cast<int64_t>(onnx->size())},
        IntegerType::get(module.getContext(), 8, IntegerType::Unsigned));
    weights->push_back(
        {kOnnxTemplate, DenseElementsAttr::getFromRawBuffer(
                            type, ArrayRef<char>(onnx->data(), onnx->size()))});
    auto attrs = module->getAttrOfType<DictionaryAttr>("bb.attributes");
    NamedAttrList list(attrs ? attrs : DictionaryAttr::get(module.getContext()));
    list.set("onnx.template", StringAttr::get(module.getContext(), kOnnxTemplate));
    module->setAttr("bb.attributes", list.getDictionary(module.getContext()));
  }
  if (auto err = lowerToEmitC(module))
    return std::move(err);

  // Everything goes to temporary files beside the output, renamed at the end.
  llvm::SmallString<256> dir(llvm::sys::path::parent_path(outputPath));
  if (dir.empty())
    dir = ".";
  if (!llvm::sys::fs::is_directory(dir))
    return makeError("-o " + outputPath + ": directory '" + dir +
                     "' does not exist");
  std::string base = llvm::sys::path::filename(outputPath).str();
  llvm::SmallVector<std::string, 3> temps;
  auto cleanup = llvm::make_scope_exit([&] {
    for (const std::string &t : temps)
      llvm::sys::fs::remove(t);
  });
  auto tempFile = [&](StringRef suffix) -> llvm::Expected<std::string> {
    llvm::SmallString<256> model(dir);
    llvm::sys::path::append(model, "." + base + "-%%%%%%" + suffix);
    llvm::SmallString<256> path;
    int fd;
    if (auto ec = llvm::sys::fs::createUniqueFile(model, fd, path))
      return makeError("-o " + outputPath + ": cannot write in '" + dir +
                       "': " + ec.message());
    llvm::sys::Process::SafelyCloseFileDescriptor(fd);
    temps.push_back(std::string(path));
    return std::string(path);
  };
  auto cppPath = tempFile(".cpp");
  if (!cppPath)
    return cppPath.takeError();
  auto exePath = tempFile(".exe");
  if (!exePath)
    return exePath.takeError();
  auto weightsPath = tempFile(".safetensors");
  if (!weightsPath)
    return weightsPath.takeError();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(*cppPath, ec);
    if (ec)
      return makeError(*cppPath + ": " + ec.message());
    if (auto err = emitCpp(module, os))
      return std::move(err);
  }
  if (auto err = compileAndLink(*cppPath, *exePath, options.host))
    return std::move(err);
  if (auto err = writeSafetensors(*weights, *weightsPath))
    return std::move(err);
  if (auto ec = llvm::sys::fs::rename(*weightsPath, outputPath + ".safetensors"))
    return makeError(outputPath + ".safetensors: " + ec.message());
  if (auto ec = llvm::sys::fs::rename(*exePath, outputPath))
    return makeError(outputPath + ": " + ec.message());
  return arena;
}
