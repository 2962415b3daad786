//===- TrainStepParts.h - the parts of a @train_step ------------*- C++ -*-===//
//
// Passes after bb-train-step (bb-recompute, bb-pipeline-stages,
// bb-auto-shard) tell @train_step's ops apart the same way:
//   forward:  the ops the loss depends on (the per-micro-batch forward);
//   per step: the ops downstream of an optimizer update's gradient (global
//             norm, clipping, the updates), and the ops of state alone that
//             only they and the results use (the loss scaler's), which run
//             once per step.
// What is neither is the backward.
//
//===----------------------------------------------------------------------===//
#ifndef BB_PASSES_AUTODIFF_TRAINSTEPPARTS_H
#define BB_PASSES_AUTODIFF_TRAINSTEPPARTS_H

#include "mlir/IR/Block.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::bb {

/// The ops `loss` depends on, itself included, constants left out.
SetVector<Operation *> forwardOps(Value loss);

/// The gradient operand of `op` when it is an SGD or AdamW update; null
/// otherwise.
Value updateGradient(Operation *op);

/// The ops of `body` computed from state, the learning rate, the step
/// number and constants alone (no data): they have one value per step,
/// however many micro-batches it has. Constants left out.
llvm::DenseSet<Operation *> stepInvariantOps(Block &body);

/// The ops of `body` downstream of the gradient operand of an SGD or AdamW
/// update, and those computed from state, the learning rate, the step
/// number and constants alone whose users are all such ops or the
/// terminator; the terminator left out.
SetVector<Operation *> perStepOps(Block &body);

} // namespace mlir::bb

#endif // BB_PASSES_AUTODIFF_TRAINSTEPPARTS_H
