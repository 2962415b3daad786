//===- PipelineStages.h - cutting a layer sequence into stages --*- C++ -*-===//
//
// The inter-operator half of the plan: consecutive blocks of a model grouped
// into pipeline stages, and what a 1F1B schedule over them costs. A step of
// M micro-batches on S stages takes one micro-batch time (forward plus
// backward) of every stage, the first micro-batch's way through the
// pipeline and back, and M - 1 more of the slowest stage (Alpa's latency
// of a pipeline); the other stages' times are the bubble, in which some
// stage idles. With equal stages, (M + S - 1) slots.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_COSTMODEL_PIPELINESTAGES_H
#define BB_COMPILER_COSTMODEL_PIPELINESTAGES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mlir::bb::costmodel {

/// Cuts `costs` (one per block, in order) into `stages` non-empty contiguous
/// ranges so that the largest range sum is as small as possible (dynamic
/// programming, O(stages * blocks^2)); among those cuts, the one with the
/// smallest sum of squared range sums (the rest of the work spread evenly),
/// then the one whose later ranges start latest. Returns the first block of
/// each range.
/// With `devices` (one count per stage), a range's sum is divided by its
/// stage's devices: stages replicated over several devices, each running
/// every d-th micro-batch, take that much more of the work.
/// Needs 1 <= stages <= costs.size().
std::vector<size_t> balancedStages(llvm::ArrayRef<double> costs, size_t stages,
                                   llvm::ArrayRef<int64_t> devices = {});

/// Stage replication (PipeDream's): `devices` devices, each holding one
/// stage, stage s on replicas[s] of them, each running every replicas[s]-th
/// of `microbatches` micro-batches. The cut into `stages` ranges and the
/// replica counts (each dividing `microbatches`, summing to `devices`)
/// whose largest range sum per replica is smallest (dynamic programming
/// over blocks and devices, O(stages * blocks^2 * devices * divisors));
/// among those, the one with the smallest sum of squared sums per replica
/// (balancedStages' tie-break). Empty when no counts qualify.
///
/// With `perStep`, `costs` are seconds (a micro-batch's forward and
/// backward on one device) and a stage's load is its busy time per step
/// over the micro-batches: its range's sum per replica plus perStep(stage,
/// first block, end block, first device, replicas) / microbatches, the
/// once-per-step work its devices add (the replicas' all-reduce of their
/// gradients). A stage for which perStep is infinite (it does not fit a
/// device) is never chosen.
struct ReplicatedCut {
  std::vector<size_t> starts;
  std::vector<int64_t> replicas;
};
using StageStepCost =
    llvm::function_ref<double(size_t stage, size_t first, size_t end,
                              int64_t firstDevice, int64_t replicas)>;
ReplicatedCut replicatedStages(llvm::ArrayRef<double> costs, size_t stages,
                               int64_t devices, int64_t microbatches,
                               StageStepCost perStep = nullptr);

/// Per-stage sums of `costs` under the cut `starts` (balancedStages' form).
std::vector<double> stageCosts(llvm::ArrayRef<double> costs,
                               llvm::ArrayRef<size_t> starts);

/// Time of one step of `microbatches` micro-batches through stages taking
/// `stageTimes` each per micro-batch (forward + backward): 1F1B and GPipe
/// alike, the sum of the stages' times + (microbatches - 1) * the slowest
/// stage's. (Until 2026-12-07, (microbatches + stages - 1) * the slowest,
/// which charged the bubble at the slowest stage's pace: 2 CPU ranks with 2
/// micro-batches measured 192.5 ms for 213.3 predicted, now 201.5.)
/// With `replicas` (one count per stage, each dividing `microbatches`),
/// stage s runs its micro-batches in microbatches / replicas[s] rounds:
/// the stages' times + the most (rounds - 1) * time of any stage.
double pipelineStepTime(llvm::ArrayRef<double> stageTimes, int64_t microbatches,
                        llvm::ArrayRef<int64_t> replicas = {});

/// The share of a step that is bubble: (stages - 1) / (microbatches +
/// stages - 1), for balanced stages.
double bubbleFraction(int64_t stages, int64_t microbatches);

} // namespace mlir::bb::costmodel

#endif // BB_COMPILER_COSTMODEL_PIPELINESTAGES_H
