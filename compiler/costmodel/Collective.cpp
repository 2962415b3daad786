//===- Collective.cpp - time of collectives over device groups ------------===//
#include "compiler/costmodel/Collective.h"

#include "compiler/costmodel/MeasuredCollectives.h"
#include "llvm/Support/ErrorHandling.h"

#include <algorithm>
#include <map>

using namespace mlir::bb;
using namespace mlir::bb::costmodel;
namespace pb = bumblebee::cluster;

GroupLayout mlir::bb::costmodel::groupLayout(const cluster::Cluster &cluster,
                                             llvm::ArrayRef<int64_t> devices) {
  std::map<int64_t, int64_t> perHost;
  for (int64_t device : devices)
    ++perHost[cluster.hostOf(device)];
  GroupLayout layout;
  layout.size = devices.size();
  layout.hosts = perHost.size();
  for (const auto &[host, count] : perHost)
    layout.maxPerHost = std::max(layout.maxPerHost, count);
  return layout;
}

double mlir::bb::costmodel::flatCollectiveTime(CollectiveKind kind, int64_t p,
                                               double bytes,
                                               const cluster::Link &link) {
  if (p <= 1)
    return 0;
  double steps = p - 1;
  double share = steps / p;
  double wire = bytes / link.bandwidth;
  switch (kind) {
  case pb::ALL_REDUCE:
    return 2 * share * wire + 2 * steps * link.latency;
  case pb::ALL_GATHER:
  case pb::REDUCE_SCATTER:
  case pb::ALL_TO_ALL:
    return share * wire + steps * link.latency;
  case pb::BROADCAST:
    return wire + steps * link.latency;
  case pb::SEND_RECV:
    return wire + link.latency;
  default:
    llvm_unreachable("not a collective kind");
  }
}

/// A group of `layout.hosts` hosts with up to d = `layout.maxPerHost` devices
/// on each: phases within a host over the intra-host link, phases across
/// hosts over each device's share of the network, one after the other.
static double hierarchicalTime(const cluster::Cluster &cluster,
                               CollectiveKind kind, const GroupLayout &layout,
                               double n) {
  cluster::Link intra = cluster.intraHostLink();
  cluster::Link inter = cluster.interHostLink();
  int64_t p = layout.size, h = layout.hosts, d = layout.maxPerHost;
  switch (kind) {
  case pb::ALL_REDUCE:
    // Each device ends the first phase owning 1/d of the sum of its host and
    // all-reduces that slice with its counterparts on the other hosts.
    return flatCollectiveTime(pb::REDUCE_SCATTER, d, n, intra) +
           flatCollectiveTime(pb::ALL_REDUCE, h, n / d, inter) +
           flatCollectiveTime(pb::ALL_GATHER, d, n, intra);
  case pb::ALL_GATHER:
    return flatCollectiveTime(pb::ALL_GATHER, h, n / d, inter) +
           flatCollectiveTime(pb::ALL_GATHER, d, n, intra);
  case pb::REDUCE_SCATTER:
    return flatCollectiveTime(pb::REDUCE_SCATTER, d, n, intra) +
           flatCollectiveTime(pb::REDUCE_SCATTER, h, n / d, inter);
  case pb::ALL_TO_ALL: {
    // Of a device's p - 1 outgoing slices, p - d leave the host.
    double slice = n / p;
    double time = (p - d) * (slice / inter.bandwidth + inter.latency);
    if (d > 1)
      time += (d - 1) * (slice / intra.bandwidth + intra.latency);
    return time;
  }
  case pb::BROADCAST:
    return flatCollectiveTime(pb::BROADCAST, h, n, inter) +
           flatCollectiveTime(pb::BROADCAST, d, n, intra);
  case pb::SEND_RECV:
    return flatCollectiveTime(pb::SEND_RECV, 2, n, inter);
  default:
    llvm_unreachable("not a collective kind");
  }
}

double mlir::bb::costmodel::collectiveTime(const cluster::Cluster &cluster,
                                           CollectiveKind kind,
                                           const GroupLayout &layout,
                                           double bytes) {
  if (layout.size <= 1)
    return 0;
  pb::GroupSpan span = layout.spansHosts() ? pb::INTER_HOST : pb::INTRA_HOST;
  if (auto measured =
          measuredCollectiveTime(cluster, kind, span, layout.size, bytes))
    return *measured;
  if (!layout.spansHosts())
    return flatCollectiveTime(kind, layout.size, bytes,
                              cluster.intraHostLink());
  return hierarchicalTime(cluster, kind, layout, bytes);
}

double mlir::bb::costmodel::meshCollectiveTime(const cluster::Cluster &cluster,
                                               const DeviceMesh &mesh,
                                               llvm::ArrayRef<int64_t> axes,
                                               CollectiveKind kind,
                                               double bytes) {
  double slowest = 0;
  for (const std::vector<int64_t> &group : mesh.groups(axes))
    slowest =
        std::max(slowest, collectiveTime(cluster, kind,
                                         groupLayout(cluster, group), bytes));
  return slowest;
}
