//===- TestCluster.h - clusters for the cost model tests --------*- C++ -*-===//
#ifndef BB_TEST_COSTMODEL_TESTCLUSTER_H
#define BB_TEST_COSTMODEL_TESTCLUSTER_H

#include "compiler/cluster/Cluster.h"

#include <catch2/catch.hpp>

namespace bbtest {

/// The cluster `spec` (a preset or text), failing the test if it does not load.
inline mlir::bb::cluster::Cluster preset(llvm::StringRef spec) {
  auto cluster = mlir::bb::cluster::loadCluster(spec);
  if (!cluster)
    FAIL(llvm::toString(cluster.takeError()));
  return std::move(*cluster);
}

inline mlir::bb::cluster::Cluster parsed(llvm::StringRef text) {
  auto cluster = mlir::bb::cluster::parseCluster(text, "test.textproto");
  if (!cluster)
    FAIL(llvm::toString(cluster.takeError()));
  return std::move(*cluster);
}

/// One CPU rank whose in-place kernels run at twice its memory bandwidth:
/// 1e11 FLOP/s, 1e10 bytes/s out of place, 2e10 in place, 1 us a kernel.
inline mlir::bb::cluster::Cluster inPlaceCpu() {
  return parsed(R"(name: "cpu"
host_count: 1
devices_per_host: 1
device {
  kind: "CPU rank"
  peak_flops { f32: 1e11 }
  memory_bytes: 1000000000
  memory_bandwidth: 1e10
  memory_bandwidth_in_place: 2e10
  launch_overhead: 1e-6
})");
}

} // namespace bbtest

#endif // BB_TEST_COSTMODEL_TESTCLUSTER_H
