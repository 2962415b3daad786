//===- PipelineSchedule.h - 1F1B over a model's pipeline stages -*- C++ -*-===//
//
// A model that bb-pipeline-stages cut (attributes pipeline.*) runs each stage
// on a group of ranks, stage after stage in world rank order, each stage on
// one or more copies (replicas) of a stage mesh:
//   - a partitioned stage (bb-spmdize) runs on a dp x tp mesh, the mesh's
//     first axis enumerates the copies and the functions' collectives stay
//     inside a copy (rank k of a copy talks to rank k of the others);
//   - an unpartitioned stage's mesh is one rank.
// pipeline.replicas lists the copies per stage (PipeDream's stage
// replication, unequal device counts per stage; the mesh's first axis is
// their sum); else pipeline.data_parallel = r copies of every one-rank
// stage (mesh stages x r), or one copy of every partitioned stage (mesh
// stages x the stage mesh). Replica j of a stage of r runs the step's
// micro-batches j, j + r, j + 2r, ... and receives each from whichever
// replica of the stage before ran it. A model with a mesh per stage
// (ModelInfo::stageMeshes: stages on meshes of their own) has one replica
// of each, of its own size; what crosses between two stages then goes
// whole, rank k of the receiver taking it from rank k mod n of the
// sender's n.
// Each training step a rank
//   1. reads the step's micro-batches (every rank reads the same stream, so
//      data position and shuffling stay one) and keeps its own;
//   2. runs its stage's forward and backward on them in an order simulated
//      once for the whole pipeline (scheduleOf: 1F1B, at most S - s in
//      flight where it can), the backward adding its gradients into the
//      accumulators, which the driver zeroes first; it receives the values
//      it needs from other stages as it goes and posts what it computes for
//      them without waiting;
//   3. averages the gradients over its micro-batches and the stage's
//      replicas (all-reduce among them), sums their squares
//      (stage<s>_gradsq) over the stages for the global norm, and runs its
//      stage's update; in a partitioned stage the backward leaves a
//      gradient as partial sums where its plan does, and stage<s>_gradsq
//      reduces it once per step and returns it for the update;
//   4. sends the parameters it owns to the stages that also read them (tied
//      weights; replica j of a reader from replica j % r of the owner).
// The loss of a step is the mean of the last stage's micro-batch losses,
// over the replicas too.
// A rank holds only the states its stage owns or reads, and an arena for its
// stage's functions (contextOptions). Checkpoints and exports take each
// state from its stage to the first stage one at a time (stateForRoot);
// evaluation runs the stages' forward functions (evaluate).
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_DRIVER_PIPELINESCHEDULE_H
#define BBRT_DRIVER_PIPELINESCHEDULE_H

#include "bbrt/model.h"
#include "runtime/driver/DataLoader.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace bbrt {
namespace driver {

/// True when the model was cut into pipeline stages.
bool isPipelined(const ModelInfo &info);
/// A pipelined model's data inputs, as one function "stages" would take
/// them: its stage functions' inputs with role "" (in stage order), then
/// those with role "labels", each once, and the loss its last stage returns
/// (what eval_step takes and returns, for models without one).
FunctionInfo stageDataInputs(const ModelInfo &info);
/// Batches of the compiled size one training step reads: micro-batches x
/// replicas for a pipelined model (whose step functions take one
/// micro-batch), else 1.
int64_t batchesPerStep(const ModelInfo &info);

class PipelineSchedule {
public:
  /// What this process holds: its stage's states (owned or read) and an
  /// arena for its stage's functions. Starts MPI (initDistributed) to learn
  /// this process's rank.
  static ContextOptions contextOptions(const ModelInfo &info);

  /// `data`: the micro-batch's data inputs (those of eval_step), in the
  /// loader's order. Checks the model's pipeline attributes and functions.
  PipelineSchedule(const ModelInfo &info, Context *ctx,
                   const std::vector<TensorDecl> &data);

  struct Result {
    float loss, gradNorm;
    /// The loss scale the step used (dynamic loss scaling), else NaN.
    float lossScale = NAN;
  };
  /// Whether the stages scale the loss dynamically (--precision=fp16).
  bool lossScaled() const;
  /// One training step at learning rate `lr`, 1-based step number `step`.
  Result step(DataLoader &loader, float lr, float step);

  /// State `index` as the gather to rank 0 wants it (a StateFetch,
  /// Checkpoint.h): on the first stage's first replica its value (received
  /// into `scratch` from the owning stage's first replica when the first
  /// stage does not hold it), elsewhere a block of the right size whose
  /// value the gather does not use. With a mesh per stage, the state whole
  /// on rank 0 (put together on the owner's first rank and sent, in
  /// `scratch`) and an empty Tensor elsewhere: no gather follows. Every
  /// rank calls it for every state, in the same order.
  Tensor stateForRoot(size_t index, DeviceBuffer &scratch);

  /// The mean loss over `microbatches` micro-batches from `loader` (every
  /// rank reads them all; micro-batch m goes through replica m % r of each
  /// stage of r), each through every stage's forward function; the same on
  /// every rank.
  double evaluate(DataLoader &loader, int64_t microbatches);

  /// "pipeline stage S of N (ranks A-B): holds K of M states (X per rank),
  /// stash Y per micro-batch x N in flight, gradient accumulators Z, arena W:
  /// T per rank" for this process.
  std::string describe() const;
  /// Whether this process is its stage's first rank.
  bool firstRankOfStage() const { return local_ == 0 && replica_ == 0; }
  /// This process's stage.
  int64_t stage() const { return stage_; }

private:
  struct Transfer {
    int64_t from = -1, to = -1; // stages
    bool toForward = false;     // received by a forward function
    int tag = 0;
    /// Sent whole to a stage on a mesh of another shape, which receives
    /// its block of it: the receiving function's input (local shape,
    /// split, mesh) by which the sender cuts each receiver's block.
    const TensorDecl *block = nullptr;
  };
  /// Posts `t`, what this rank computes of crossing `x` for micro-batch m,
  /// to the ranks of the receiving stage that take it from this one: whole,
  /// or each its block (Transfer::block).
  void sendCrossing(const Transfer &x, Tensor t, int64_t m);
  /// Runs the stage's forward or backward on micro-batch m: its inputs in
  /// (data, stash slot, received), its outputs out (sent, stashed, the loss
  /// summed, gradients accumulated).
  void run(const FunctionInfo &fn, int64_t m);
  /// Binds or fills fn's inputs for micro-batch m, the i-th of this rank's
  /// (its data batch and stash slot).
  void fillInputs(const FunctionInfo &fn, int64_t m, int64_t i);
  /// Binds fn's stashes to the slot of this rank's i-th micro-batch and its
  /// gradients to their accumulators.
  void bindOutputs(const FunctionInfo &fn, int64_t i);
  /// The rank of `stage` that runs micro-batch m (same place in its
  /// replica): that of replica m % r. Whole states (shared parameters) go
  /// the same way, replica j of a stage taking them from rankOf(from, j);
  /// receiversFrom is the sending side.
  /// With a mesh per stage, a stage's ranks may be more or fewer than this
  /// one's: crossings and shared parameters then go whole, rank k of the
  /// receiving stage taking them from rank k mod n of the sending stage's n
  /// (receiversOf is the sending side).
  int64_t rankOf(int64_t stage, int64_t m) const {
    return offsets_[stage] + (m % replicas_[stage]) * perStage_[stage] +
           local_ % perStage_[stage];
  }
  /// The ranks of `stage`'s replica for micro-batch m that take what this
  /// rank sends them.
  std::vector<int64_t> receiversOf(int64_t stage, int64_t m) const;
  int64_t slotOf(int64_t i) const { return i % slots_; }
  std::vector<int64_t> receiversFrom(int64_t to) const;
  /// With a mesh per stage, on this stage's first rank: state `index` whole
  /// into `out` (its global shape, device memory; unused on the stage's
  /// other ranks), put together from the stage's ranks' blocks; every rank
  /// of the stage calls it.
  void wholeOnStage(size_t index, Tensor out);
  /// Sums `values` over every rank.
  void sumOverWorld(double (&values)[2]);

  const ModelInfo &info_;
  Context *ctx_;
  std::vector<TensorDecl> data_;
  int64_t stages_ = 0, total_ = 0; // micro-batches per step, all replicas
  std::vector<int64_t> perStage_; // per stage: ranks per replica
  int64_t local_ = 0;              // this rank's index in its replica
  std::vector<int64_t> replicas_, offsets_; // per stage (StageLayout)
  int64_t stage_ = 0, replica_ = 0, slots_ = 1;
  int64_t mine_ = 0; // micro-batches this rank runs per step
  std::vector<std::pair<int64_t, bool>> order_; // (micro-batch, backward?)
  std::vector<int64_t> stageRanks_; // this rank's peers in its stage's replicas
  const FunctionInfo *fwd_ = nullptr, *bwd_ = nullptr, *update_ = nullptr,
                     *gradsq_ = nullptr;
  std::map<std::string, Transfer> transfers_;
  std::vector<int64_t> ownerOf_;                  // per state: owning stage
  std::vector<std::vector<int64_t>> readersOf_;   // per state: other readers
  std::vector<bool> firstHolds_;                  // per state: stage 0 holds it
  std::vector<std::vector<AlignedBuffer>> batch_; // [m][data input]
  std::vector<std::vector<Tensor>> batchTensors_;  // [m]: views of batch_
  std::vector<AlignedBuffer> skippedBuf_;         // other replicas' batches
  std::vector<Tensor> skipped_;
  // Device memory (DeviceBuffer: host memory in the CPU runtime).
  std::map<std::string, std::vector<DeviceBuffer>> stash_; // name -> [slot]
  // The gradient accumulators, by name: places in gradArena_.
  struct Accumulator {
    void *data;
    size_t size;
  };
  std::map<std::string, Accumulator> grads_;
  DeviceBuffer gradArena_;
  // Bytes of the gradients the gradsq function reduces (where the backward
  // leaves partial sums), which it writes back into their accumulators.
  std::map<std::string, size_t> reducedBytes_;
  DeviceBuffer scale_;  // f32 1 / micro-batches
  bool sumGradients_ = false; // pipeline.gradients = "sum"
  DeviceBuffer totals_; // f64 [gradient sum of squares, loss]
  double lossSum_ = 0;
};

} // namespace driver
} // namespace bbrt

#endif // BBRT_DRIVER_PIPELINESCHEDULE_H
