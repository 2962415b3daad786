//===- BbOps.h - ops of the bb dialect --------------------------*- C++ -*-===//
#ifndef BB_DIALECTS_BB_BBOPS_H
#define BB_DIALECTS_BB_BBOPS_H

#include "dialects/bb/BbDialect.h"
#include "dialects/bb/BbInterfaces.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/bb/BbEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/bb/BbAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/bb/BbOps.h.inc"

namespace mlir::bb {
/// NumPy broadcast of two shapes; failure when they are incompatible.
FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                ArrayRef<int64_t> b);
/// Output size of one spatial dimension of a convolution or pooling window.
int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                         int64_t padBegin, int64_t padEnd, int64_t dilation,
                         bool ceilMode);
} // namespace mlir::bb

#endif // BB_DIALECTS_BB_BBOPS_H
