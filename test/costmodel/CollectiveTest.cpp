//===- CollectiveTest.cpp - alpha-beta collectives, flat and hierarchical -===//
//
// Worked numbers for 1 GB on dgx-a100-80g:2: within a host B = 300 GB/s and
// alpha = 1 us; across hosts each GPU's share of 8 x 25 GB/s NICs is 25 GB/s
// and alpha = 5 us.
//
//===----------------------------------------------------------------------===//
#include "compiler/costmodel/Collective.h"
#include "TestCluster.h"

using namespace mlir::bb;
using namespace mlir::bb::costmodel;
using Catch::Detail::Approx;
namespace pb = bumblebee::cluster;

namespace {
constexpr double n = 1e9;
constexpr double bIntra = 300e9, aIntra = 1e-6;
constexpr double bInter = 25e9, aInter = 5e-6;

GroupLayout layoutOf(const cluster::Cluster &c, std::vector<int64_t> devices) {
  return groupLayout(c, devices);
}

std::vector<int64_t> range(int64_t from, int64_t to) {
  std::vector<int64_t> out;
  for (int64_t d = from; d < to; ++d)
    out.push_back(d);
  return out;
}

DeviceMesh mesh(const cluster::Cluster &c, std::vector<int64_t> shape) {
  auto m = DeviceMesh::create(c, shape);
  if (!m)
    FAIL(llvm::toString(m.takeError()));
  return std::move(*m);
}
} // namespace

TEST_CASE("flat formulas per collective", "[collective]") {
  cluster::Link link{pb::NVSWITCH, bIntra, aIntra};
  CHECK(flatCollectiveTime(pb::ALL_REDUCE, 8, n, link) ==
        Approx(2 * 7.0 / 8 * n / bIntra + 14 * aIntra));
  CHECK(flatCollectiveTime(pb::ALL_GATHER, 8, n, link) ==
        Approx(7.0 / 8 * n / bIntra + 7 * aIntra));
  CHECK(flatCollectiveTime(pb::REDUCE_SCATTER, 8, n, link) ==
        Approx(7.0 / 8 * n / bIntra + 7 * aIntra));
  CHECK(flatCollectiveTime(pb::ALL_TO_ALL, 8, n, link) ==
        Approx(7.0 / 8 * n / bIntra + 7 * aIntra));
  CHECK(flatCollectiveTime(pb::BROADCAST, 8, n, link) ==
        Approx(n / bIntra + 7 * aIntra));
  CHECK(flatCollectiveTime(pb::SEND_RECV, 2, n, link) ==
        Approx(n / bIntra + aIntra));
  CHECK(flatCollectiveTime(pb::ALL_REDUCE, 1, n, link) == 0);
}

TEST_CASE("group layouts", "[collective]") {
  cluster::Cluster c = bbtest::preset("dgx-a100-80g:3");
  GroupLayout host = layoutOf(c, range(0, 8));
  CHECK(host.size == 8);
  CHECK(host.hosts == 1);
  CHECK(host.maxPerHost == 8);
  CHECK(!host.spansHosts());
  GroupLayout uneven = layoutOf(c, range(6, 12));
  CHECK(uneven.size == 6);
  CHECK(uneven.hosts == 2);
  CHECK(uneven.maxPerHost == 4);
  CHECK(uneven.spansHosts());
}

TEST_CASE("within a host: the flat ring on NVSwitch", "[collective]") {
  cluster::Cluster c = bbtest::preset("dgx-a100-80g:2");
  CHECK(collectiveTime(c, pb::ALL_REDUCE, layoutOf(c, range(8, 16)), n) ==
        Approx(2 * 7.0 / 8 * n / bIntra + 14 * aIntra)); // 5.85 ms
  CHECK(collectiveTime(c, pb::SEND_RECV, layoutOf(c, {0, 5}), n) ==
        Approx(n / bIntra + aIntra));
  CHECK(collectiveTime(c, pb::ALL_REDUCE, layoutOf(c, {3}), n) == 0);
}

TEST_CASE("across hosts: hierarchical, far faster than a flat ring",
          "[collective]") {
  cluster::Cluster c = bbtest::preset("dgx-a100-80g:2");
  GroupLayout all = layoutOf(c, range(0, 16));
  double rsIntra = 7.0 / 8 * n / bIntra + 7 * aIntra;
  // Reduce-scatter in each host, all-reduce n/8 between the two hosts,
  // all-gather in each host: 10.86 ms.
  double hierarchical = rsIntra + (n / 8 / bInter + 2 * aInter) + rsIntra;
  CHECK(collectiveTime(c, pb::ALL_REDUCE, all, n) == Approx(hierarchical));
  CHECK(hierarchical == Approx(10.857e-3).epsilon(1e-4));
  // A flat ring of 16 over the inter-host share: 75.15 ms.
  double flat = flatCollectiveTime(pb::ALL_REDUCE, 16, n, c.interHostLink());
  CHECK(flat == Approx(2 * 15.0 / 16 * n / bInter + 30 * aInter));
  CHECK(flat == Approx(75.15e-3));
  CHECK(hierarchical < flat / 6);

  double agInter = n / 8 / 2 / bInter + aInter;
  CHECK(collectiveTime(c, pb::ALL_GATHER, all, n) == Approx(agInter + rsIntra));
  CHECK(collectiveTime(c, pb::REDUCE_SCATTER, all, n) ==
        Approx(rsIntra + agInter));
  // 8 of a device's 15 slices of n/16 leave the host, 7 stay.
  CHECK(
      collectiveTime(c, pb::ALL_TO_ALL, all, n) ==
      Approx(8 * (n / 16 / bInter + aInter) + 7 * (n / 16 / bIntra + aIntra)));
  CHECK(collectiveTime(c, pb::BROADCAST, all, n) ==
        Approx((n / bInter + aInter) + (n / bIntra + 7 * aIntra)));
  CHECK(collectiveTime(c, pb::SEND_RECV, layoutOf(c, {7, 8}), n) ==
        Approx(n / bInter + aInter));
}

TEST_CASE("one device per host: only the inter-host phase", "[collective]") {
  cluster::Cluster c = bbtest::preset("dgx-a100-80g:4");
  GroupLayout column = layoutOf(c, {2, 10, 18, 26});
  CHECK(collectiveTime(c, pb::ALL_REDUCE, column, n) ==
        Approx(2 * 3.0 / 4 * n / bInter + 6 * aInter));
  CHECK(collectiveTime(c, pb::ALL_TO_ALL, column, n) ==
        Approx(3.0 / 4 * n / bInter + 3 * aInter));
}

TEST_CASE("low-bandwidth clusters: p3 and g5 across hosts", "[collective]") {
  // p3.16xlarge: one 25 Gbit/s NIC for 8 GPUs = 390.6 MB/s per GPU.
  cluster::Cluster p3 = bbtest::preset("p3.16xlarge:2");
  double perGpu = 3.125e9 / 8;
  double rs = 7.0 / 8 * n / 150e9 + 7 * 1e-6;
  CHECK(collectiveTime(p3, pb::ALL_REDUCE, layoutOf(p3, range(0, 16)), n) ==
        Approx(rs + (n / 8 / perGpu + 2 * 25e-6) + rs));
  // g5.48xlarge: PCIe within, 100 Gbit/s across.
  cluster::Cluster g5 = bbtest::preset("g5.48xlarge:2");
  CHECK(collectiveTime(g5, pb::ALL_GATHER, layoutOf(g5, range(0, 8)), n) ==
        Approx(7.0 / 8 * n / 25e9 + 7 * 2e-6));
}

TEST_CASE("a collective over mesh axes: the slowest group decides",
          "[collective][mesh]") {
  cluster::Cluster c = bbtest::preset("dgx-a100-80g:2");
  DeviceMesh m = mesh(c, {2, 8});
  CHECK(meshCollectiveTime(c, m, {1}, pb::ALL_REDUCE, n) ==
        Approx(2 * 7.0 / 8 * n / bIntra + 14 * aIntra));
  CHECK(meshCollectiveTime(c, m, {0}, pb::ALL_REDUCE, n) ==
        Approx(n / bInter + 2 * aInter));

  // [4, 4]: axis 0 takes 2 devices from each host.
  DeviceMesh square = mesh(c, {4, 4});
  double rs2 = 0.5 * n / bIntra + aIntra;
  CHECK(meshCollectiveTime(c, square, {0}, pb::ALL_REDUCE, n) ==
        Approx(rs2 + (n / 2 / bInter + 2 * aInter) + rs2));

  // [4, 6] on three hosts: the group {6..11} straddles hosts 0 and 1 with 4
  // devices on host 1, and is slower than the group {0..5} inside host 0.
  cluster::Cluster three = bbtest::preset("dgx-a100-80g:3");
  DeviceMesh uneven = mesh(three, {4, 6});
  double straddling =
      collectiveTime(three, pb::ALL_REDUCE, layoutOf(three, range(6, 12)), n);
  CHECK(straddling >
        collectiveTime(three, pb::ALL_REDUCE, layoutOf(three, range(0, 6)), n));
  CHECK(meshCollectiveTime(three, uneven, {1}, pb::ALL_REDUCE, n) ==
        Approx(straddling));
}

TEST_CASE("measured tables override the model", "[collective][tables]") {
  cluster::Cluster c = bbtest::parsed(R"(
    name: "measured"
    host_count: 2
    devices_per_host: 8
    device { peak_flops { f32: 1e12 } memory_bytes: 1 memory_bandwidth: 1e11 }
    intra_host { kind: NVSWITCH bandwidth: 300e9 latency: 1e-6 }
    inter_host { kind: INFINIBAND bandwidth_per_nic: 25e9 nics_per_host: 8 latency: 5e-6 }
    collective_tables {
      collective: ALL_REDUCE span: INTRA_HOST group_size: 8
      points { bytes: 1e6 seconds: 1e-4 }
      points { bytes: 1e8 seconds: 1e-3 }
    }
    collective_tables {
      collective: ALL_REDUCE span: INTER_HOST group_size: 16
      points { bytes: 1e9 seconds: 0.02 }
    }
  )");
  GroupLayout host = layoutOf(c, range(0, 8));
  // On a point, between points (log-log), below and above the table.
  CHECK(collectiveTime(c, pb::ALL_REDUCE, host, 1e6) == Approx(1e-4));
  CHECK(collectiveTime(c, pb::ALL_REDUCE, host, 1e7) ==
        Approx(std::sqrt(1e-4 * 1e-3)));
  CHECK(collectiveTime(c, pb::ALL_REDUCE, host, 1e3) == Approx(1e-4));
  CHECK(collectiveTime(c, pb::ALL_REDUCE, host, 1e9) == Approx(1e-2));
  // The whole 16-device group has a one-point table: flat below the point,
  // proportional to bytes above it.
  GroupLayout all = layoutOf(c, range(0, 16));
  CHECK(collectiveTime(c, pb::ALL_REDUCE, all, 5e8) == Approx(0.02));
  CHECK(collectiveTime(c, pb::ALL_REDUCE, all, 2e9) == Approx(0.04));
  // No table for these: the model.
  CHECK(collectiveTime(c, pb::ALL_REDUCE, layoutOf(c, range(0, 4)), 1e6) ==
        Approx(2 * 3.0 / 4 * 1e6 / bIntra + 6 * aIntra));
  CHECK(collectiveTime(c, pb::ALL_GATHER, host, 1e6) ==
        Approx(7.0 / 8 * 1e6 / bIntra + 7 * aIntra));
}
