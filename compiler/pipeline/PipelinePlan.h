//===- PipelinePlan.h - what a pipelined plan costs -------------*- C++ -*-===//
//
// `bbc plan --strategy pp=S,microbatches=M,dp=D,tp=T`: bb-auto-shard plans
// @train_step for one micro-batch on one stage's D x T mesh; this cuts a copy
// into S stages (bb-pipeline-stages: blocks balanced by cost) and composes
// the step on S x D x T devices (stages are consecutive device ranges, so
// stage s talks to stage s + 1 over the link between device i and
// i + D*T):
//   slot   = the costliest stage's share of the micro-batch's forward and
//            backward compute and communication, plus sending its boundary
//            tensors forward and their gradients back (each device its
//            block under the plan's layout, to the same device of the
//            other stage, as the binary does);
//   step   = M slots of the slowest stage, plus the other stages' slots
//            once as bubble (1F1B: costmodel::pipelineStepTime), then the
//            per-step work once (gradient reduction, global norm,
//            optimizer update, which bb-auto-shard books apart as
//            step_*): the slowest stage's;
//   memory = per stage, what bb-auto-shard counted for it (its state,
//            weights, gradient buffers, one micro-batch's peak, and its
//            stash for each further micro-batch in flight, min(S - s, M) -
//            1); the largest stage.
// The composed figures replace bb.plan's and join it as pipeline_* entries
// that the plan report prints.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_PIPELINE_PIPELINEPLAN_H
#define BB_COMPILER_PIPELINE_PIPELINEPLAN_H

#include "compiler/pipeline/Pipeline.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

namespace mlir::bb {

llvm::Error composePipelinePlan(ModuleOp module, const ShardOptions &options);

/// `--stages=auto`: plans the candidates and keeps the fastest whose
/// memory fits (else the fastest): the plan without stages, and for every
/// S = 2, 4, 8, ... dividing the devices and at most the model's blocks, S
/// stages over equal consecutive device ranges of n devices, each stage
/// mesh (n / k) x k for k dividing a host's devices (the intra-op search
/// free inside it), with M = 2S, 4S and 8S micro-batches where M divides
/// the batch; and stages replicated over unequal counts (PipeDream's
/// replication, counts and cut chosen together from the block costs when
/// planned): S = 2 ... 8 stages of one device on clusters of at most 64
/// devices, and each S above on 2S copies of half its stage mesh (at most
/// 256 devices), as replicas and joined into stage meshes of their own
/// (Alpa's sub-meshes, within a host or on whole hosts). The candidates are planned unrefined, on one thread per core
/// (one import and differentiation per micro-batch count); the best three
/// are planned again, refined, and the best of those is kept. `log` gets a
/// line per candidate: its strategy, predicted step time and whether it
/// fits, or why it has no plan, then a line per refined one. Candidates are
/// planned from shapes alone (planOnly, shapesOnly). Returns the chosen
/// plan and `options` turned into that candidate's (its strategy;
/// `options`' import and planOnly).
struct StageSearchResult {
  OwningOpRef<ModuleOp> plan;
  CompileOptions options;
  std::string choice;
};
llvm::Expected<StageSearchResult>
planWithStageSearch(MLIRContext &context, const std::string &modelPath,
                    const CompileOptions &options,
                    std::vector<std::string> &log);

/// `bbc plan --baseline=grid`: what a skilled engineer would configure by
/// hand, searched exhaustively under the same cost model: every
/// Megatron-style `--strategy=dp=D,tp=T[,pp=P,microbatches=M]` on the
/// cluster (T dividing a host's devices, P a power of two up to the model's
/// blocks, P x D x T the devices; M = 2P, 4P and 8P and the most up to 16P
/// whose micro-batch dp splits, each dividing the batch; P = 1: one batch,
/// split over dp), the search filling in what the strategy leaves open (so
/// each is a Megatron plan or better). Planned as --stages=auto plans its
/// candidates (without `options`' --shard pins); the fastest that fits,
/// else the fastest. `log` gets a line per configuration.
llvm::Expected<StageSearchResult>
planStrategyGrid(MLIRContext &context, const std::string &modelPath,
                 const CompileOptions &options, std::vector<std::string> &log);

} // namespace mlir::bb

#endif // BB_COMPILER_PIPELINE_PIPELINEPLAN_H
