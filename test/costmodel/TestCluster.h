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

} // namespace bbtest

#endif // BB_TEST_COSTMODEL_TESTCLUSTER_H
