//===- StageCut.h - which pipeline stage each op of @train_step runs on ---===//
//
// The cut bb-pipeline-stages carries out, computed without changing the IR,
// so that bb-auto-shard can plan each stage's memory with the stages the
// program will have. Every op of @train_step is per step (the norm and the
// optimizer update, downstream of the gradients) or per micro-batch;
// per-micro-batch ops are forward (the loss depends on them) or backward.
// Forward ops go to the stage of their block (contiguous ranges of blocks,
// layers and their halves, from a min-max DP over their costs), never
// before their operands' stage; backward ops to the stage of the forward
// op they differentiate (bb-autodiff gives them its location), never after
// the stage of the gradients they consume.
//
//===----------------------------------------------------------------------===//
#ifndef BB_PASSES_PIPELINE_STAGECUT_H
#define BB_PASSES_PIPELINE_STAGECUT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallVector.h"

#include <string>
#include <vector>

namespace mlir::bb {

struct StageCut {
  /// The per-micro-batch ops the loss depends on.
  SetVector<Operation *> forward;
  /// The ops downstream of a gradient: run once per step.
  SetVector<Operation *> perStep;
  /// The loss, the gradient norm, and the op taking the square root of the
  /// gradients' sum of squares (the norm itself, or what it divides by the
  /// loss scale).
  Value loss, norm;
  Operation *sqrt = nullptr;
  /// Blocks (layers, and the parts of layers where no more crosses than at
  /// the layer's start: a transformer layer's MLP half) in forward order,
  /// their costs, and the first block of each stage.
  SmallVector<std::string> blocks;
  SmallVector<double> blockCost;
  /// Per block, the bytes of the state its parameters' updates write
  /// (each parameter and its optimizer state), and of those parameters'
  /// gradients: a parameter belongs to the block its gradient is computed
  /// in (the first block where that is unnamed). And what its backward
  /// needs of its forward per micro-batch: under recomputation the bytes
  /// crossing into it, else its forward values that backward ops read.
  /// Whole tensors, one micro-batch unsharded.
  SmallVector<int64_t> blockStateBytes, blockGradientBytes, blockStashBytes;
  std::vector<size_t> starts;
  /// The block of each forward op of the micro-batch that has one: its own
  /// part's, or a later one its operands come from.
  llvm::DenseMap<Operation *, size_t> blockOf;
  /// Per-micro-batch ops in program order, and the stage of each.
  SmallVector<Operation *> ops;
  llvm::DenseMap<Operation *, int64_t> stage;
  /// Forward ops computed from state and constants alone (a weight's f16 or
  /// bf16 copy, a transposed weight): the same for every micro-batch, so a
  /// stage function that needs one from another function computes it again
  /// instead of stashing or receiving it per micro-batch.
  llvm::DenseSet<Operation *> ofState;
  /// An op of @train_step's body that runs once per micro-batch.
  bool perMicrobatch(Operation *op) const;
  Block *body = nullptr;
};

/// The unit a cut balances, from `op`'s ONNX node name: its block
/// (sharding::blockOf: a numbered layer, "transformer/h.3", or a module
/// such as "lm_head") and, inside a layer, the next component of the name
/// ("transformer/h.3/attn", "transformer/h.3/mlp"); ops directly under the
/// layer (the residual additions) are the layer's own unit. So a stage may
/// end between a layer's attention and its MLP. Empty without a name.
std::string cutUnitOf(Operation *op);

/// Set on @train_step by bb-recompute when it recomputes each block of the
/// cut (a layer's halves apart) rather than each layer.
inline constexpr llvm::StringLiteral kRecomputedBlocks = "bb.recomputed_blocks";

/// Every op and argument of @train_step on a stage of `cut`: a state
/// belongs to the stage that computes its gradient (its update and the
/// optimizer's moments run there), a state nothing updates and an input to
/// the first stage that reads them; a per-step op (the norm, the updates)
/// to the stage of what it reads; a per-micro-batch op to its own.
struct StagePlacement {
  llvm::DenseMap<Operation *, int64_t> op;
  llvm::DenseMap<Value, int64_t> arg;
};
StagePlacement placeOnStages(const StageCut &cut);

/// The cut of `train` (bb-train-step's @train_step) into `numStages`
/// stages (with `devices`, one count per stage, balanced as
/// costmodel::balancedStages balances replicated stages). Errors are
/// reported on the IR, prefixed with `pass`.
FailureOr<StageCut> cutStages(func::FuncOp train, int64_t numStages,
                              StringRef pass,
                              ArrayRef<int64_t> devices = {});

} // namespace mlir::bb

#endif // BB_PASSES_PIPELINE_STAGECUT_H
