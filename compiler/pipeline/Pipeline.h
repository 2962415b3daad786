//===- Pipeline.h - the compiler's phases, strung together ------*- C++ -*-===//
#ifndef BB_COMPILER_PIPELINE_PIPELINE_H
#define BB_COMPILER_PIPELINE_PIPELINE_H

#include "compiler/emit/Executable.h"
#include "compiler/onnx/Importer.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir::bb {

/// Where compilation stops and what it prints (onnx-mlir's --Emit* flags).
enum class EmitStage {
  BbImport, ///< bb IR exactly as imported, before any pass
  Bb,       ///< bb IR after import cleanup (canonicalize, fuse, CSE)
  Bbrt,     ///< bufferized: runtime kernel calls on a planned arena
  EmitC,    ///< the EmitC module that becomes C++
  Cpp,      ///< the generated C++ source
  Exe,      ///< an executable plus its weights (NAME, NAME.safetensors)
};

/// `bbc --grad`: the program returns a loss and the gradient of every
/// trainable parameter instead of the model's outputs.
struct GradientOptions {
  bool enabled = false;
  std::string loss = "cross_entropy";
  std::string labels = "labels";
  std::string freeze;
  int64_t ignoreIndex = -100;
};

/// `bbc --train`: a training program (@train_step and @eval_step) whose
/// binary trains, checkpoints and resumes on its own. Loss, labels and frozen
/// parameters come from GradientOptions.
struct TrainOptions {
  bool enabled = false;
  std::string optimizer = "adamw";
  double lr = 1e-3;
  double momentum = 0.0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double weightDecay = 0.0;
  double gradClip = 0.0;
  /// Dynamic loss scaling (bb-train-step's loss-scale; `--precision=fp16`):
  /// the initial scale, 0 for none, and the good steps after which it
  /// doubles.
  double lossScale = 0.0;
  int64_t lossScaleWindow = 2000;
  /// Learning-rate schedule, applied by the training binary.
  std::string schedule = "constant";
  int64_t warmup = 0;
  double minLr = -1; ///< negative: lr / 10
  int64_t decaySteps = 0; ///< 0: the binary's --steps
  /// Activation recomputation: "none", or "blocks" (bb-recompute: each
  /// block's forward ops run again before its backward ops).
  std::string recompute = "none";
};

/// `bbc --cluster`: an SPMD program for every device of a cluster's mesh,
/// planned by bb-auto-shard and partitioned by bb-spmdize.
struct ShardOptions {
  std::string cluster; ///< empty: one device, no partitioning
  std::string mesh;    ///< e.g. "2x4"; empty: one axis over all devices
  int64_t pinBatch = -1;
  bool zero = false;
  /// Pinned layouts, "NAME=[[0], []]" each (`bbc --shard`).
  std::vector<std::string> pins;
  double timeLimit = 60;
  /// bb-auto-shard's refinement of its axis-wise plan (on by default; the
  /// stage search plans its candidates without it and refines the choice).
  bool refine = true;
  /// bb-auto-shard's prune-above: the stage search gives up on a candidate
  /// whose step is shown to be slower than this (seconds; 0: never).
  double pruneAbove = 0;
  /// Stop after planning (`bbc plan`): the module keeps its global shapes
  /// and carries the plan as annotations.
  bool planOnly = false;
  /// Pipeline parallelism (`--strategy pp=N,microbatches=M,dp=D`): N stages
  /// (bb-pipeline-stages), each step M micro-batches per replica, D replicas
  /// of the pipeline. pipelineStages == 1: no pipeline.
  int64_t pipelineStages = 1;
  int64_t microbatches = 1;
  int64_t dataParallel = 1;
  /// `--strategy pp=N,microbatches=M,replicas=R0:R1:...[,dp=D,tp=T]`:
  /// stage s on R_s copies of the stage mesh (one device, or D x T), each
  /// running every R_s-th of the step's M micro-batches (PipeDream's stage
  /// replication: unequal device counts per stage); empty: one stage mesh
  /// per stage, or dataParallel replicas of every one-device stage.
  std::vector<int64_t> stageReplicas;
  /// Tensor parallelism inside each stage.
  int64_t tensorParallel = 1;
  /// `--strategy pp=N,microbatches=M,dp=D0:D1:...,tp=T0:T1:...`: stage s on
  /// a mesh of its own, D_s x T_s (Alpa's sub-meshes, planned by
  /// bb-auto-shard-stages: the micro-batch split over D_s); both lists
  /// empty: every stage on the same mesh.
  std::vector<int64_t> stageDataParallel, stageTensorParallel;
  /// Plan inside each stage's mesh even without tp or ZeRO (the stage
  /// search's candidates, whose stage mesh the search fills freely).
  bool planStages = false;
  /// Stages partitioned over dp x tp meshes (tp, ZeRO, planStages, or dp
  /// with replicas): planned by bb-auto-shard and partitioned by
  /// bb-spmdize, dp inside each stage; otherwise each stage is one rank and
  /// dp replicates the pipeline.
  /// Devices of a pipelined plan: the stage meshes' sum, the replicas' sum,
  /// else pp x dp x tp.
  int64_t pipelineDevices() const {
    if (!stageTensorParallel.empty()) {
      int64_t n = 0;
      for (auto [d, t] : llvm::zip(stageDataParallel, stageTensorParallel))
        n += d * t;
      return n;
    }
    int64_t n = 0;
    for (int64_t r : stageReplicas)
      n += r;
    return stageReplicas.empty()
               ? pipelineStages * dataParallel * tensorParallel
               : n * dataParallel * tensorParallel;
  }
  bool partitionedStages() const {
    return pipelineStages > 1 &&
           (tensorParallel > 1 || zero || planStages ||
            !stageTensorParallel.empty() ||
            (!stageReplicas.empty() && dataParallel > 1));
  }
};

/// Parses `--strategy dp=2,tp=4[,zero=1]`: a mesh of dp x tp devices whose
/// first axis carries data parallelism (inputs split along dimension 0; the
/// search fills in the rest). Sets mesh, pinBatch and zero, and the cluster
/// to `cpu:dp*tp` when none is set. With `pp=N[,microbatches=M]` (N > 1):
/// N pipeline stages, each on a dp x tp mesh; the cluster defaults to
/// `cpu:pp*dp*tp`.
llvm::Error parseStrategy(llvm::StringRef text, ShardOptions &options);

struct CompileOptions {
  frontend::ImportOptions import;
  EmitStage emit = EmitStage::Bb;
  /// Shared libraries with out-of-tree passes (mlir::PassPlugin).
  std::vector<std::string> passPlugins;
  /// A textual pass pipeline run after import cleanup, e.g. "my-fusion".
  std::string extraPasses;
  /// Matrix products: "fp32", "bf16", "fp16" or "tf32" (bb-mixed-precision after the
  /// training step, or after import cleanup for inference).
  std::string precision = "fp32";
  /// bb-fuse-elementwise on the per-rank program (bbc --fuse-elementwise).
  bool fuseElementwise = true;
  /// bb-fuse-attention after import, before differentiation
  /// (bbc --fuse-attention).
  bool fuseAttention = true;
  GradientOptions grad;
  TrainOptions train;
  ShardOptions shard;
  /// How the generated C++ is compiled (stage Exe).
  HostCompileOptions host;
};

/// `--recompute`: none or blocks, and blocks only with --train.
llvm::Error checkRecompute(const TrainOptions &train);

/// Loads the pass plugins; call before parsing `extraPasses`.
llvm::Error loadPassPlugins(const std::vector<std::string> &paths);

/// Imports `modelPath` and runs the phases up to `stopAfter` (at most EmitC):
/// importModel, then one pass manager with addFrontEndPasses and
/// addBackEndPasses, then finishModule.
llvm::Expected<OwningOpRef<ModuleOp>> compileModel(MLIRContext &context,
                                                   const std::string &modelPath,
                                                   const CompileOptions &options,
                                                   EmitStage stopAfter);

/// compileModel in two halves, for callers that compile one model many
/// ways (the stage search): the front end (import, cleanup, differentiation,
/// training step, recomputation) once, then, per variant, the back end on a
/// copy. The front end depends on the options' import and gradient and
/// training settings and, with pipeline stages, on the micro-batch size.
llvm::Expected<OwningOpRef<ModuleOp>>
differentiateModel(MLIRContext &context, const std::string &modelPath,
                   const CompileOptions &options);
llvm::Expected<OwningOpRef<ModuleOp>>
compileDifferentiated(ModuleOp differentiated, const std::string &modelPath,
                      const CompileOptions &options, EmitStage stopAfter);

/// The pieces of compileModel. importModel: checks the options and imports
/// (with pipeline stages, one micro-batch's shapes). addFrontEndPasses: cleanup, --extra-passes, autodiff, train
/// step, recompute. addBackEndPasses: sharding, stages, partitioning and
/// bufferization up to `stopAfter`. finishModule: a plan's pipeline
/// figures, and the EmitC lowering.
llvm::Expected<OwningOpRef<ModuleOp>> importModel(MLIRContext &context,
                                                  const std::string &modelPath,
                                                  const CompileOptions &options);
llvm::Error addFrontEndPasses(PassManager &pm, const CompileOptions &options);
void addBackEndPasses(PassManager &pm, const CompileOptions &options,
                      EmitStage stopAfter);
llvm::Error finishModule(ModuleOp module, const CompileOptions &options,
                         EmitStage stopAfter);

/// From a module at stage Bbrt: writes the executable `outputPath` and its
/// weights `outputPath.safetensors`. Both appear only if everything
/// succeeded (temporary files, then rename). A training program's weights
/// also hold `modelPath` without its trained initializers, for `--export`.
/// Returns the largest arena of the program's entry points, in bytes.
llvm::Expected<int64_t> buildProgram(ModuleOp bbrtModule,
                                     const std::string &outputPath,
                                     const std::string &modelPath,
                                     const CompileOptions &options);

/// Runs bbrt-to-emitc on a module at stage Bbrt.
llvm::Error lowerToEmitC(ModuleOp bbrtModule);

} // namespace mlir::bb

#endif // BB_COMPILER_PIPELINE_PIPELINE_H
