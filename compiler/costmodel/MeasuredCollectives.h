//===- MeasuredCollectives.h - measured collective times --------*- C++ -*-===//
//
// A cluster file may carry measured collective timings (e.g. from nccl-tests)
// that replace the alpha-beta model for the groups they describe.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_COSTMODEL_MEASUREDCOLLECTIVES_H
#define BB_COMPILER_COSTMODEL_MEASUREDCOLLECTIVES_H

#include "compiler/cluster/Cluster.h"

#include <optional>

namespace mlir::bb::costmodel {

/// Seconds from the cluster's table for (kind, span, groupSize), if it has
/// one. Between points: linear in log(bytes) -> log(seconds). Below the
/// first point: the first point's time (latency bound). Above the last: its
/// time scaled by bytes (bandwidth bound).
std::optional<double> measuredCollectiveTime(
    const cluster::Cluster &cluster, bumblebee::cluster::CollectiveKind kind,
    bumblebee::cluster::GroupSpan span, int64_t groupSize, double bytes);

} // namespace mlir::bb::costmodel

#endif // BB_COMPILER_COSTMODEL_MEASUREDCOLLECTIVES_H
