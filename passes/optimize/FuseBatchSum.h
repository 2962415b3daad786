//===- FuseBatchSum.h - which batch sums bb-fuse-batch-sum fuses -*- C++ -*-===//
#ifndef BB_PASSES_OPTIMIZE_FUSEBATCHSUM_H
#define BB_PASSES_OPTIMIZE_FUSEBATCHSUM_H

#include "dialects/bb/BbOps.h"

namespace mlir::bb {

/// The product that `sum` reduces over all of its batch axes when
/// bb-fuse-batch-sum makes the two one product (lhs transposed, rhs not,
/// equal batch dimensions, no other user of the product), else null.
MatMulOp summedProduct(ReduceSumOp sum);

} // namespace mlir::bb

#endif // BB_PASSES_OPTIMIZE_FUSEBATCHSUM_H
