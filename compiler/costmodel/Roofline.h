//===- Roofline.h - compute time of one op on one device --------*- C++ -*-===//
//
// An op is bound either by arithmetic or by memory traffic, whichever takes
// longer on the device; every op that does work also pays the device's launch
// overhead. The caller supplies FLOPs and bytes (bb's CostOpInterface gives
// them; OpCost.h wraps that), so this stays independent of MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_COSTMODEL_ROOFLINE_H
#define BB_COMPILER_COSTMODEL_ROOFLINE_H

#include "compiler/cluster/Cluster.h"

namespace mlir::bb::costmodel {

/// Seconds for `flops` FLOPs in `type` that move `bytes` to and from memory:
///   max(flops / peakFlops(type), bytes / bandwidth) + launch_overhead,
/// and 0 for an op that does neither. The bandwidth is memory_bandwidth, or
/// for an op that writes where it reads (`inPlace`) the device's in-place
/// bandwidth (Cluster::inPlaceBandwidth).
double computeTime(const cluster::Cluster &cluster, cluster::DType type,
                   double flops, double bytes, bool inPlace = false);

} // namespace mlir::bb::costmodel

#endif // BB_COMPILER_COSTMODEL_ROOFLINE_H
