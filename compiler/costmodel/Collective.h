//===- Collective.h - time of collectives over device groups ----*- C++ -*-===//
//
// The alpha-beta model: a collective over p devices takes some message steps
// of `latency` each plus its bytes over the bottleneck bandwidth of the links
// it crosses. A group within a host uses the intra-host link; a group that
// spans hosts runs hierarchically (docs/cluster.md has every formula). A
// measured table in the cluster for the same collective, span and group size
// takes precedence.
//
// Sizes (`bytes`) follow nccl-tests: the buffer of an all-reduce or a
// broadcast, the gathered output of an all-gather, the input of a
// reduce-scatter, all a device sends in an all-to-all, one send/recv message.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_COSTMODEL_COLLECTIVE_H
#define BB_COMPILER_COSTMODEL_COLLECTIVE_H

#include "compiler/cluster/Cluster.h"
#include "compiler/costmodel/DeviceMesh.h"

namespace mlir::bb::costmodel {

using CollectiveKind = bumblebee::cluster::CollectiveKind;

/// Where a group of devices sits in the cluster.
struct GroupLayout {
  int64_t size = 0;
  int64_t hosts = 0;
  /// The most devices of the group on any one host (groups cut from a mesh
  /// whose axes do not align with hosts may be uneven).
  int64_t maxPerHost = 0;

  bool spansHosts() const { return hosts > 1; }
};

GroupLayout groupLayout(const cluster::Cluster &cluster,
                        llvm::ArrayRef<int64_t> devices);

/// One level of the model, every step over `link` (ring algorithms):
///   all-reduce                          2(p-1)/p * n/B + 2(p-1) * alpha
///   all-gather, reduce-scatter, all-to-all (p-1)/p * n/B +  (p-1) * alpha
///   broadcast (pipelined chain)                   n/B +  (p-1) * alpha
///   send/recv                                     n/B +          alpha
/// and 0 for a group of one.
double flatCollectiveTime(CollectiveKind kind, int64_t p, double bytes,
                          const cluster::Link &link);

/// Seconds for `kind` of `bytes` over a group laid out as `layout`.
double collectiveTime(const cluster::Cluster &cluster, CollectiveKind kind,
                      const GroupLayout &layout, double bytes);

/// Seconds for `kind` over `axes` of `mesh`: all groups run at once and the
/// slowest decides.
double meshCollectiveTime(const cluster::Cluster &cluster,
                          const DeviceMesh &mesh, llvm::ArrayRef<int64_t> axes,
                          CollectiveKind kind, double bytes);

} // namespace mlir::bb::costmodel

#endif // BB_COMPILER_COSTMODEL_COLLECTIVE_H
