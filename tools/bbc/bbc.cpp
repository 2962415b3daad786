//===- bbc.cpp - the Bumblebee compiler driver ------------------------------===//
//
//   bbc MODEL.onnx --emit=bb [-o FILE] [--input-shape x=2x128]
//
// A thin main: options in, compiler/pipeline does the work, one-line errors.
//
//===----------------------------------------------------------------------===//
#include "compiler/cluster/Cluster.h"
#include "compiler/pipeline/Pipeline.h"
#include "compiler/pipeline/PipelinePlan.h"
#include "compiler/pipeline/PlanReport.h"
#include "llvm/Support/FormatVariadic.h"
#include "dialects/bb/BbDialect.h"
#include "mlir/Dialect/Mesh/Transforms/Passes.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"
#include "passes/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory bbcCategory("bbc options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.onnx|model.onnxtext>"),
                                      cl::cat(bbcCategory));
static cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for stdout)"),
                                       cl::value_desc("file"), cl::init("-"),
                                       cl::cat(bbcCategory));
static cl::opt<bb::EmitStage> emit(
    "emit", cl::desc("Stop after this phase and print its output"),
    cl::values(clEnumValN(bb::EmitStage::BbImport, "bb-import",
                          "bb IR as imported, before any pass"),
               clEnumValN(bb::EmitStage::Bb, "bb",
                          "bb IR after import cleanup"),
               clEnumValN(bb::EmitStage::Bbrt, "bbrt",
                          "bufferized IR: runtime calls on a planned arena"),
               clEnumValN(bb::EmitStage::EmitC, "emitc",
                          "the EmitC module"),
               clEnumValN(bb::EmitStage::Cpp, "cpp", "the generated C++"),
               clEnumValN(bb::EmitStage::Exe, "exe",
                          "an executable NAME and NAME.safetensors (default; "
                          "needs -o)")),
    cl::init(bb::EmitStage::Exe), cl::cat(bbcCategory));
static cl::opt<std::string> cxx("cxx", cl::desc("C++ compiler for --emit=exe"),
                                cl::init("c++"), cl::cat(bbcCategory));
static cl::opt<std::string> optFlags(
    "cxx-flags", cl::desc("Optimization flags for the generated C++"),
    cl::init("-O2"), cl::cat(bbcCategory));
static cl::opt<std::string> runtimeSdk(
    "runtime-sdk",
    cl::desc("Directory with include/bbrt and lib/libbbrt_cpu.a (default: "
             "$BB_RUNTIME_SDK, else the one built beside bbc)"),
    cl::value_desc("dir"), cl::cat(bbcCategory));
static cl::opt<bb::Target> target(
    "target", cl::desc("Runtime the executable links"),
    cl::values(clEnumValN(bb::Target::Cpu, "cpu",
                          "CPU kernels (OpenBLAS, OpenMP), MPI collectives "
                          "(default)"),
               clEnumValN(bb::Target::Cuda, "cuda",
                          "NVIDIA GPUs: CUDA kernels, cuBLASLt, NCCL "
                          "collectives; built with nvcc")),
    cl::init(bb::Target::Cpu), cl::cat(bbcCategory));
static cl::list<std::string> cudaArchs(
    "cuda-arch",
    cl::desc("--target=cuda: GPU architectures to build for, e.g. "
             "sm_80,sm_90 (default: every one the runtime SDK carries)"),
    cl::CommaSeparated, cl::value_desc("sm_XY"), cl::cat(bbcCategory));
static cl::opt<std::string> precision(
    "precision",
    cl::desc("Matrix products: fp32, bf16 or fp16 (bf16 or f16 operands "
             "summed in f32; training in fp16 scales the loss) or tf32 (f32 "
             "operands rounded to TF32 in the product); everything else, and "
             "in training the master weights, gradients and optimizer state, "
             "stays f32; docs/training.md"),
    cl::init("fp32"), cl::value_desc("fp32|bf16|fp16|tf32"),
    cl::cat(bbcCategory));
static cl::opt<bool> fuseElementwise(
    "fuse-elementwise",
    cl::desc("Chains of elementwise ops as one generated kernel each "
             "(bb-fuse-elementwise; --fuse-elementwise=false runs them op "
             "by op)"),
    cl::init(true), cl::cat(bbcCategory));
static cl::opt<bool> fuseAttention(
    "fuse-attention",
    cl::desc("Exported attention (MatMul, scale, mask, Softmax, MatMul) as "
             "one bb.attention, whose backward stores no score matrix "
             "(bb-fuse-attention; --fuse-attention=false keeps the ops)"),
    cl::init(true), cl::cat(bbcCategory));
static cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Shape of a graph input, NAME=DxDx... (repeatable; symbolic "
             "dimensions of other inputs default to 1)"),
    cl::value_desc("name=2x128"), cl::cat(bbcCategory));
static cl::list<std::string> freezeInputs(
    "freeze-input",
    cl::desc("Replace a graph input by the constant in an ONNX TensorProto "
             "file, e.g. axes or a shape the model computes with (repeatable)"),
    cl::value_desc("name=value.pb"), cl::cat(bbcCategory));
static cl::list<std::string> passPlugins(
    "pass-plugin", cl::desc("Load an out-of-tree pass plugin (repeatable)"),
    cl::value_desc("lib.so"), cl::cat(bbcCategory));
static cl::opt<std::string> extraPasses(
    "extra-passes",
    cl::desc("Pass pipeline run after import cleanup, e.g. 'my-fusion' from a "
             "plugin"),
    cl::value_desc("pipeline"), cl::cat(bbcCategory));
static cl::OptionCategory gradCategory("gradient options");
static cl::opt<bool> grad(
    "grad",
    cl::desc("Compile a program that returns the loss and the gradient of "
             "every trainable parameter (outputs 'loss', 'grad:<name>')"),
    cl::cat(gradCategory));
static cl::opt<std::string> lossKind("loss", cl::desc("cross_entropy or mse"),
                                     cl::init("cross_entropy"),
                                     cl::cat(gradCategory));
static cl::opt<std::string> labelsName(
    "labels", cl::desc("Name of the labels input the program gains"),
    cl::init("labels"), cl::cat(gradCategory));
static cl::opt<std::string> freezePattern(
    "freeze", cl::desc("Regular expression: matching parameters are not trained"),
    cl::cat(gradCategory));
static cl::opt<int64_t> ignoreIndex(
    "ignore-index", cl::desc("cross_entropy: label value that does not count"),
    cl::init(-100), cl::cat(gradCategory));
static cl::OptionCategory trainCategory("training options");
static cl::opt<bool> train(
    "train",
    cl::desc("Compile a training binary: forward, loss, backward and "
             "optimizer update in one step function; the binary trains, "
             "checkpoints and resumes (see docs/training.md)"),
    cl::cat(trainCategory));
static cl::opt<std::string> optimizerKind("optimizer", cl::desc("sgd or adamw"),
                                          cl::init("adamw"),
                                          cl::cat(trainCategory));
static cl::opt<double> learningRate("lr", cl::desc("Peak learning rate"),
                                    cl::init(1e-3), cl::cat(trainCategory));
static cl::opt<double> momentum("momentum", cl::desc("SGD momentum"),
                                cl::init(0.0), cl::cat(trainCategory));
static cl::opt<bool> nesterov("nesterov", cl::desc("SGD: Nesterov momentum"),
                              cl::cat(trainCategory));
static cl::opt<double> beta1("beta1", cl::desc("AdamW beta1"), cl::init(0.9),
                             cl::cat(trainCategory));
static cl::opt<double> beta2("beta2", cl::desc("AdamW beta2"), cl::init(0.999),
                             cl::cat(trainCategory));
static cl::opt<double> adamEps("eps", cl::desc("AdamW epsilon"), cl::init(1e-8),
                               cl::cat(trainCategory));
static cl::opt<double> weightDecay(
    "weight-decay",
    cl::desc("Weight decay (decoupled for AdamW, L2 for SGD; all parameters)"),
    cl::init(0.0), cl::cat(trainCategory));
static cl::opt<double> gradClip(
    "grad-clip", cl::desc("Clip the global gradient norm (0: off)"),
    cl::init(0.0), cl::cat(trainCategory));
static cl::opt<std::string> schedule(
    "schedule", cl::desc("Learning-rate schedule: constant, cosine or linear "
                         "(after warmup; the binary may override it)"),
    cl::init("constant"), cl::cat(trainCategory));
static cl::opt<int64_t> warmup("warmup",
                               cl::desc("Linear warmup steps"), cl::init(0),
                               cl::cat(trainCategory));
static cl::opt<double> minLr(
    "min-lr", cl::desc("Learning rate at the end of the decay (default lr/10)"),
    cl::init(-1.0), cl::cat(trainCategory));
static cl::opt<int64_t> decaySteps(
    "decay-steps",
    cl::desc("Steps over which cosine/linear decay (default: the binary's "
             "--steps)"),
    cl::init(0), cl::cat(trainCategory));
static cl::opt<double> lossScale(
    "loss-scale",
    cl::desc("--precision=fp16: the initial loss scale of dynamic loss "
             "scaling (halved after a step whose gradients overflow, which is "
             "skipped; doubled after --loss-scale-window good steps)"),
    cl::init(65536.0), cl::cat(trainCategory));
static cl::opt<int64_t> lossScaleWindow(
    "loss-scale-window",
    cl::desc("--precision=fp16: good steps in a row after which the loss "
             "scale doubles"),
    cl::init(2000), cl::cat(trainCategory));
static cl::opt<std::string> recompute(
    "recompute",
    cl::desc("Activation recomputation: none, or blocks (each layer's forward "
             "runs again before its backward; only layer inputs are kept)"),
    cl::init("none"), cl::value_desc("none|blocks"), cl::cat(trainCategory));
static cl::OptionCategory shardCategory("parallelization options");
static cl::opt<std::string> clusterSpec(
    "cluster",
    cl::desc("Compile one program per device of this cluster (a preset "
             "NAME:COUNT such as cpu:4, or a .textproto file; see "
             "docs/cluster.md); run it with mpirun -np <devices>"),
    cl::value_desc("spec"), cl::cat(shardCategory));
static cl::opt<std::string> meshShape(
    "mesh", cl::desc("Device mesh shape, e.g. 2x4 (default: one axis)"),
    cl::value_desc("AxB"), cl::cat(shardCategory));
static cl::opt<std::string> strategy(
    "strategy",
    cl::desc("Force Megatron-style parallelism: dp=N,tp=M[,zero=1] (the "
             "search fills in the rest), with pipeline stages "
             "pp=S[,microbatches=M] for training (dp=D0:D1:...,tp=T0:T1:...: "
             "each stage on a mesh of its own)"),
    cl::value_desc("dp=2,tp=4"), cl::cat(shardCategory));
static cl::list<std::string> shardPins(
    "shard",
    cl::desc("Pin a named input, parameter or weight's layout: NAME=[[axes], "
             "...] (mesh axes per dimension; repeatable); the search fills in "
             "the rest"),
    cl::value_desc("name=[[],[1]]"), cl::cat(shardCategory));
static cl::opt<double> planTimeLimit(
    "plan-time-limit",
    cl::desc("Seconds the sharding solver may take (default 60)"),
    cl::init(60.0), cl::cat(shardCategory));
static cl::opt<std::string> planJson(
    "json", cl::desc("bbc plan: also write the report as JSON to this file"),
    cl::value_desc("plan.json"), cl::cat(shardCategory));
static cl::opt<std::string> stagesSearch(
    "stages",
    cl::desc("--train --cluster: 'auto' also plans pipeline stages (2, 4, 8, "
             "... stages, 2, 4 and 8 micro-batches per stage) and keeps the "
             "fastest plan that fits (bbc plan reports it; bbc compiles it)"),
    cl::value_desc("auto"), cl::cat(shardCategory));
static cl::opt<std::string> baseline(
    "baseline",
    cl::desc("bbc plan --train: 'grid' also plans every Megatron-style "
             "dp x tp x pp x micro-batch configuration on the cluster and "
             "reports the best against the plan (slow: dozens of plans)"),
    cl::value_desc("grid"), cl::cat(shardCategory));
static cl::opt<bool> listOps("list-ops",
                             cl::desc("Print the supported ONNX op types and exit"),
                             cl::cat(bbcCategory));

static int fail(const std::string &message) {
  llvm::errs() << "bbc: error: " << message << "\n";
  return 1;
}

/// A search's log, one line per plan it tried, each after `prefix`, then a
/// blank line.
static void printSearchLog(llvm::StringRef prefix,
                           const std::vector<std::string> &log) {
  for (const std::string &line : log)
    llvm::outs() << prefix << " " << line << "\n";
  llvm::outs() << "\n";
}

/// `bbc plan ...`: plan only, and report the plan.
static int plan(MLIRContext &context, const bb::CompileOptions &options) {
  llvm::Expected<OwningOpRef<ModuleOp>> module = OwningOpRef<ModuleOp>();
  if (stagesSearch == "auto") {
    std::vector<std::string> log;
    auto found = bb::planWithStageSearch(context, inputFile, options, log);
    printSearchLog("candidate", log);
    if (!found)
      return fail(llvm::toString(found.takeError()));
    module = std::move(found->plan);
  } else {
    module = bb::compileModel(context, inputFile, options, bb::EmitStage::Bb);
  }
  if (!module)
    return fail(llvm::toString(module.takeError()));
  auto report = bb::planReport(**module);
  if (!report)
    return fail(llvm::toString(report.takeError()));
  if (baseline == "grid") {
    std::vector<std::string> log;
    auto grid = bb::planStrategyGrid(context, inputFile, options, log);
    printSearchLog("baseline", log);
    if (!grid)
      return fail(llvm::toString(grid.takeError()));
    auto best = bb::planReport(*grid->plan, /*withLayers=*/false);
    if (!best)
      return fail(llvm::toString(best.takeError()));
    const double mine = report->getNumber("step_seconds").value_or(0),
                 theirs = best->getNumber("step_seconds").value_or(0);
    (*report)["baseline"] = llvm::json::Object{
        {"strategy", grid->choice},
        {"step_seconds", theirs},
        {"throughput_per_second",
         best->getNumber("throughput_per_second").value_or(0)},
        {"fits", best->getBoolean("fits").value_or(false)},
        {"speedup", mine > 0 ? theirs / mine : 0.0}};
  }
  if (!planJson.empty()) {
    std::string error;
    auto out = openOutputFile(planJson, &error);
    if (!out)
      return fail("--json=" + planJson + ": " + error);
    out->os() << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object(*report)))
              << "\n";
    out->os().flush();
    if (out->os().has_error())
      return fail("--json=" + planJson + ": write failed");
    out->keep();
  }
  bb::printPlanReport(*report, llvm::outs());
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // `bbc plan MODEL ...` is the planning subcommand.
  bool planMode = argc > 1 && StringRef(argv[1]) == "plan";
  std::vector<char *> args(argv, argv + argc);
  if (planMode)
    args.erase(args.begin() + 1);
  argc = static_cast<int>(args.size());
  argv = args.data();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  registerTransformsPasses();
  mesh::registerMeshPasses();
  bb::registerAllPasses();
  // --help lists bbc's own options; LLVM's and MLIR's (hundreds, from every
  // linked backend) still parse and are listed by --help-hidden.
  cl::HideUnrelatedOptions(
      {&bbcCategory, &gradCategory, &trainCategory, &shardCategory});
  cl::ParseCommandLineOptions(
      argc, argv,
      "bbc: the Bumblebee compiler. Imports an ONNX model into the bb dialect "
      "and compiles it.\n\n  bbc model.onnx --emit=bb -o model.mlir "
      "--input-shape idx=2x128\n\nMLIR's options (--mlir-timing, "
      "--mlir-print-ir-after-all, --mlir-print-debuginfo, ...) are listed by "
      "--help-hidden.\n");

  if (listOps) {
    for (const std::string &op : bb::frontend::supportedOpTypes())
      llvm::outs() << op << "\n";
    return 0;
  }
  if (inputFile.empty())
    return fail("no input model given (see bbc --help)");

  bb::CompileOptions options;
  options.emit = emit;
  options.extraPasses = extraPasses;
  if (precision != "fp32" && precision != "bf16" && precision != "fp16" &&
      precision != "tf32")
    return fail("--precision=" + precision +
                ": expected fp32, bf16, fp16 or tf32");
  if ((lossScale.getNumOccurrences() || lossScaleWindow.getNumOccurrences()) &&
      !(train && precision == "fp16"))
    return fail("--loss-scale and --loss-scale-window need --train "
                "--precision=fp16");
  if (!(lossScale > 0) || lossScale > 3.0e38)
    return fail("--loss-scale must be positive (and finite in f32)");
  if (lossScaleWindow < 1)
    return fail("--loss-scale-window must be at least 1");
  options.precision = precision;
  options.fuseElementwise = fuseElementwise;
  options.fuseAttention = fuseAttention;
  options.grad.enabled = grad;
  options.grad.loss = lossKind;
  options.grad.labels = labelsName;
  options.grad.freeze = freezePattern;
  options.grad.ignoreIndex = ignoreIndex;
  options.train.enabled = train;
  options.train.optimizer = optimizerKind;
  options.train.lr = learningRate;
  options.train.momentum = momentum;
  options.train.nesterov = nesterov;
  options.train.beta1 = beta1;
  options.train.beta2 = beta2;
  options.train.epsilon = adamEps;
  options.train.weightDecay = weightDecay;
  options.train.gradClip = gradClip;
  if (precision == "fp16") {
    options.train.lossScale = lossScale;
    options.train.lossScaleWindow = lossScaleWindow;
  }
  options.train.recompute = recompute; // checked by the compiler
  options.train.schedule = schedule;
  options.train.warmup = warmup;
  options.train.minLr = minLr;
  options.train.decaySteps = decaySteps;
  if (train && grad)
    return fail("--train and --grad exclude each other");
  if (train) {
    if (optimizerKind != "sgd" && optimizerKind != "adamw")
      return fail("--optimizer=" + optimizerKind + ": expected sgd or adamw");
    if (schedule != "constant" && schedule != "cosine" && schedule != "linear")
      return fail("--schedule=" + schedule +
                  ": expected constant, cosine or linear");
    if (!(learningRate > 0))
      return fail("--lr must be positive");
    if (warmup < 0 || decaySteps < 0)
      return fail("--warmup and --decay-steps must not be negative");
    if (momentum < 0 || weightDecay < 0 || gradClip < 0 || adamEps < 0)
      return fail("--momentum, --weight-decay, --grad-clip and --eps must not "
                  "be negative");
    if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1)
      return fail("--beta1 and --beta2 must lie in [0, 1)");
  }
  options.shard.cluster = clusterSpec;
  options.shard.mesh = meshShape;
  options.shard.timeLimit = planTimeLimit;
  options.shard.pins.assign(shardPins.begin(), shardPins.end());
  if (!strategy.empty()) {
    if (!meshShape.empty())
      return fail("--strategy and --mesh exclude each other");
    if (llvm::Error err = bb::parseStrategy(strategy, options.shard))
      return fail(llvm::toString(std::move(err)));
  } else if (!meshShape.empty() && clusterSpec.empty()) {
    return fail("--mesh needs --cluster");
  }
  if (!shardPins.empty() && options.shard.cluster.empty())
    return fail("--shard needs --cluster (or --strategy)");
  if (!options.shard.cluster.empty()) {
    auto cluster = bb::cluster::loadCluster(options.shard.cluster);
    if (!cluster)
      return fail("--cluster=" + options.shard.cluster + ": " +
                  llvm::toString(cluster.takeError()));
    const bb::ShardOptions &s = options.shard;
    const int64_t want = s.pipelineDevices();
    if (s.pipelineStages > 1 && cluster->deviceCount() != want)
      return fail("--strategy=" + strategy + ": " +
                  (!s.stageTensorParallel.empty() ? "the stage meshes' dp x tp summed"
                   : s.stageReplicas.empty()        ? "pp x dp x tp"
                                                    : "the replicas' sum x dp x tp") +
                  " = " +
                  std::to_string(want) + " devices, but --cluster=" +
                  s.cluster + " has " + std::to_string(cluster->deviceCount()));
  }
  options.passPlugins.assign(passPlugins.begin(), passPlugins.end());
  for (const std::string &spec : inputShapes)
    if (llvm::Error err = bb::frontend::parseInputShapes(spec, options.import))
      return fail(llvm::toString(std::move(err)));
  for (const std::string &spec : freezeInputs)
    if (llvm::Error err = bb::frontend::parseFrozenInput(spec, options.import))
      return fail(llvm::toString(std::move(err)));
  if (llvm::Error err = bb::loadPassPlugins(options.passPlugins))
    return fail(llvm::toString(std::move(err)));

  DialectRegistry registry;
  bb::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  if (!stagesSearch.empty()) {
    if (stagesSearch != "auto")
      return fail("--stages=" + stagesSearch + ": expected auto");
    if (options.shard.pipelineStages > 1)
      return fail("--stages=auto and --strategy pp=N exclude each other");
    if (options.shard.cluster.empty())
      return fail("--stages=auto needs --cluster");
  }
  if (!baseline.empty() && baseline != "grid")
    return fail("--baseline=" + baseline + ": expected grid");
  if (!baseline.empty() && !planMode)
    return fail("--baseline=grid is for bbc plan");
  if (!baseline.empty() && !options.train.enabled)
    return fail("--baseline=grid plans training: give --train");
  if (planMode) {
    if (options.shard.cluster.empty())
      return fail("bbc plan needs --cluster=SPEC (or --strategy)");
    options.import.shapesOnly = true;
    options.shard.planOnly = true;
    return plan(context, options);
  }
  if (emit == bb::EmitStage::Exe) {
    if (outputFile == "-")
      return fail("an executable needs -o NAME (or choose another --emit)");
    auto sdk = bb::findRuntimeSdk(runtimeSdk, argv[0], (void *)&fail);
    if (!sdk)
      return fail(llvm::toString(sdk.takeError()));
    options.host.runtimeSdk = *sdk;
    options.host.cxx = cxx;
    options.host.optFlags = optFlags;
    options.host.target = target;
    options.host.cudaArchs.assign(cudaArchs.begin(), cudaArchs.end());
  }
  if (!cudaArchs.empty() && target != bb::Target::Cuda)
    return fail("--cuda-arch needs --target=cuda");
  if (target == bb::Target::Cuda && emit != bb::EmitStage::Exe)
    return fail("--target=cuda applies to executables (--emit=exe); the IR "
                "and C++ of other --emit stages are the same for every "
                "target");
  bb::EmitStage stopAfter = emit;
  if (emit == bb::EmitStage::Exe)
    stopAfter = bb::EmitStage::Bbrt;
  else if (emit == bb::EmitStage::Cpp)
    stopAfter = bb::EmitStage::EmitC;
  bb::CompileOptions chosen = options;
  if (stagesSearch == "auto") {
    // Plan the candidates, then compile the one chosen.
    std::vector<std::string> log;
    auto found = bb::planWithStageSearch(context, inputFile, options, log);
    for (const std::string &line : log)
      llvm::errs() << "bbc: --stages=auto: " << line << "\n";
    if (!found)
      return fail(llvm::toString(found.takeError()));
    llvm::errs() << "bbc: --stages=auto: chose " << found->choice << "\n";
    chosen = found->options;
  }
  auto module = bb::compileModel(context, inputFile, chosen, stopAfter);
  if (!module)
    return fail(llvm::toString(module.takeError()));

  if (emit == bb::EmitStage::Exe) {
    auto arena = bb::buildProgram(**module, outputFile, inputFile, chosen);
    if (!arena)
      return fail(llvm::toString(arena.takeError()));
    llvm::errs() << "bbc: wrote " << outputFile << " and " << outputFile
                 << ".safetensors (arena " << *arena << " bytes)\n";
    return 0;
  }

  // The output appears only when everything succeeded (ToolOutputFile removes
  // it otherwise), so a failed run never leaves a partial file behind.
  std::string error;
  auto output = openOutputFile(outputFile, &error);
  if (!output)
    return fail(outputFile + ": " + error);
  if (emit == bb::EmitStage::Cpp) {
    if (llvm::Error err = bb::emitCpp(**module, output->os()))
      return fail(llvm::toString(std::move(err)));
  } else {
    (*module)->print(output->os());
    output->os() << "\n";
  }
  output->os().flush();
  if (output->os().has_error())
    return fail(outputFile + ": write failed");
  output->keep();
  return 0;
}
