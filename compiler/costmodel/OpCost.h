//===- OpCost.h - roofline time of a bb op ----------------------*- C++ -*-===//
//
// Roofline.h for an MLIR op: FLOPs and bytes from bb's CostOpInterface, the
// element type from the op's first result (else its first operand). A
// separate library from the rest of the cost model, which needs no MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_COSTMODEL_OPCOST_H
#define BB_COMPILER_COSTMODEL_OPCOST_H

#include "compiler/cluster/Cluster.h"
#include "mlir/IR/Operation.h"

namespace mlir::bb::costmodel {

/// The peak that `type`'s elements run at: bf16 and f16 their own, every
/// other type (f32 included: TF32 is the caller's choice) the f32 rate.
cluster::DType dtypeOf(Type type);

/// Seconds `op` takes on one device of `cluster`; 0 for an op without
/// CostOpInterface (func.return, ...).
double opComputeTime(Operation *op, const cluster::Cluster &cluster);

} // namespace mlir::bb::costmodel

#endif // BB_COMPILER_COSTMODEL_OPCOST_H
