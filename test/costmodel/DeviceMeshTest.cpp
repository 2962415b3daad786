//===- DeviceMeshTest.cpp - meshes over cluster devices and their groups --===//
#include "compiler/costmodel/DeviceMesh.h"
#include "TestCluster.h"

using namespace mlir::bb;
using costmodel::DeviceMesh;
using Devices = std::vector<int64_t>;

namespace {
DeviceMesh mesh(const cluster::Cluster &c, std::vector<int64_t> shape,
                int64_t first = 0) {
  auto m = DeviceMesh::create(c, shape, first);
  if (!m)
    FAIL(llvm::toString(m.takeError()));
  return std::move(*m);
}

std::string meshError(const cluster::Cluster &c, std::vector<int64_t> shape,
                      int64_t first = 0) {
  auto m = DeviceMesh::create(c, shape, first);
  return m ? "" : llvm::toString(m.takeError());
}
} // namespace

TEST_CASE("a [2, 8] mesh on two DGX hosts: rows are hosts", "[mesh]") {
  cluster::Cluster c = bbtest::preset("dgx-a100-80g:2");
  DeviceMesh m = mesh(c, {2, 8});
  CHECK(m.size() == 16);
  CHECK(m.deviceAt({1, 3}) == 11);
  CHECK(m.coordsOf(11) == llvm::SmallVector<int64_t>{1, 3});
  // Axis 1 stays within a host, axis 0 crosses hosts.
  CHECK(m.groupOf(11, {1}) == Devices{8, 9, 10, 11, 12, 13, 14, 15});
  CHECK(m.groupOf(11, {0}) == Devices{3, 11});
  CHECK(m.groupOf(11, {0, 1}).size() == 16);
  CHECK(m.groups({0}).size() == 8);
  CHECK(m.groups({0})[7] == Devices{7, 15});
  CHECK(m.groups({1}) == std::vector<Devices>{{0, 1, 2, 3, 4, 5, 6, 7},
                                              {8, 9, 10, 11, 12, 13, 14, 15}});
}

TEST_CASE("group order follows the axes as given", "[mesh]") {
  cluster::Cluster c = bbtest::preset("cpu:8");
  DeviceMesh m = mesh(c, {2, 2, 2});
  CHECK(m.groupOf(0, {0, 2}) == Devices{0, 1, 4, 5});
  CHECK(m.groupOf(0, {2, 0}) == Devices{0, 4, 1, 5});
  CHECK(m.groupOf(7, {}) == Devices{7});
  CHECK(m.groups({1}) == std::vector<Devices>{{0, 2}, {1, 3}, {4, 6}, {5, 7}});
}

TEST_CASE("a pipeline stage's mesh over the second host", "[mesh]") {
  cluster::Cluster c = bbtest::preset("dgx-h100:2");
  DeviceMesh stage = mesh(c, {2, 4}, 8);
  CHECK(stage.firstDevice() == 8);
  CHECK(stage.deviceAt({0, 0}) == 8);
  CHECK(stage.deviceAt({1, 3}) == 15);
  CHECK(stage.groupOf(13, {0}) == Devices{9, 13});
}

TEST_CASE("meshes that do not fit are one-line errors", "[mesh][error]") {
  cluster::Cluster c = bbtest::preset("dgx-a100-80g");
  CHECK(meshError(c, {}) == "mesh []: a mesh needs at least one axis");
  CHECK(meshError(c, {2, 0}) ==
        "mesh [2, 0]: every axis must have a positive size");
  CHECK(meshError(c, {4, 4}) ==
        "mesh [4, 4]: needs more devices than the cluster's 8");
  CHECK(meshError(c, {4}, 6) ==
        "mesh [4]: from device 6 needs devices 6..9; the cluster has 8");
  CHECK(meshError(c, {4}, -1) ==
        "mesh [4]: the first device must be >= 0, got -1");
}
