//===- BbInterfaces.h - op interfaces of the bb dialect ---------*- C++ -*-===//
#ifndef BB_DIALECTS_BB_BBINTERFACES_H
#define BB_DIALECTS_BB_BBINTERFACES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

namespace mlir::bb {
/// Bytes one element of `type` occupies (i1 counts as one byte).
int64_t getElementByteWidth(Type type);
/// Bytes of a ranked tensor value with static shape; 0 for anything else.
int64_t getTensorBytes(Type type);

namespace detail {
int64_t defaultFlops(Operation *op);
int64_t defaultBytesRead(Operation *op);
int64_t defaultBytesWritten(Operation *op);
} // namespace detail
} // namespace mlir::bb

#include "dialects/bb/BbInterfaces.h.inc"

namespace mlir::bb {
/// Attaches MLIR's mesh::ShardingInterface (loop iterator types, indexing
/// maps, reduction kinds) to every bb op. Called by the dialect itself.
void attachShardingInterfaceModels(MLIRContext *context);
/// Attaches AutodiffOpInterface (vector-Jacobian products) to the bb ops
/// that are differentiable. Called by the dialect itself.
void attachAutodiffInterfaceModels(MLIRContext *context);
} // namespace mlir::bb

#endif // BB_DIALECTS_BB_BBINTERFACES_H
