//===- Memory.h - bytes a device holds --------------------------*- C++ -*-===//
//
// Two parts of a device's memory: the training state of the parameters
// (parameters, gradients, optimizer state), each split over its own number of
// devices (tensor parallelism, ZeRO stages), and the activations, whose peak
// follows from liveness over the op sequence.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_COSTMODEL_MEMORY_H
#define BB_COMPILER_COSTMODEL_MEMORY_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>

namespace mlir::bb::costmodel {

/// One parameter tensor and how its state is split.
struct ParameterState {
  int64_t elements = 0;
  int64_t paramBytesPerElement = 4;
  /// 0 where nothing is trained (inference, frozen parameters).
  int64_t gradBytesPerElement = 4;
  /// e.g. 8 for AdamW's two f32 moments, 4 for SGD momentum, 0 for plain SGD.
  int64_t optimizerBytesPerElement = 0;
  /// How many devices each part is split over; a device holds the largest
  /// part, ceil(elements / shards).
  int64_t paramShards = 1;
  int64_t gradShards = 1;
  int64_t optimizerShards = 1;
};

struct StateBytes {
  int64_t params = 0;
  int64_t grads = 0;
  int64_t optimizer = 0;

  int64_t total() const { return params + grads + optimizer; }
};

/// Bytes one device holds for `parameters`.
StateBytes stateBytesPerDevice(llvm::ArrayRef<ParameterState> parameters);

/// A value of a straight-line op sequence, live from the op that defines it
/// (-1: live on entry) through the last op that reads it (>= def).
struct LiveRange {
  int64_t bytes = 0;
  int64_t def = 0;
  int64_t lastUse = 0;
};

/// The most bytes live at once: during op i, every value with
/// def <= i <= lastUse (an op's operands and results are live together).
int64_t peakLiveBytes(llvm::ArrayRef<LiveRange> values);

} // namespace mlir::bb::costmodel

#endif // BB_COMPILER_COSTMODEL_MEMORY_H
