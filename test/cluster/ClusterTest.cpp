//===- ClusterTest.cpp - loading clusters: presets, files, errors ---------===//
//
// Presets load with the figures docs/cluster.md lists; a cluster file gives
// the queries the cost model asks; every error is one line naming the source,
// the line and column where the text has them, and the field.
//
//===----------------------------------------------------------------------===//
#include "compiler/cluster/Cluster.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <catch2/catch.hpp>

#include <string>

using namespace mlir::bb::cluster;
namespace pb = bumblebee::cluster;

namespace {

/// A valid two-host cluster; tests replace one piece of it.
const std::string kValid = R"(name: "test"
host_count: 2
devices_per_host: 4
device {
  kind: "X"
  peak_flops { f32: 1e12 bf16: 4e12 }
  memory_bytes: 1000
  memory_bandwidth: 1e11
  launch_overhead: 2e-6
}
intra_host { kind: NVLINK bandwidth: 1e11 latency: 1e-6 }
inter_host { kind: ETHERNET bandwidth_per_nic: 1e10 nics_per_host: 2 latency: 1e-5 }
)";

/// kValid with the first `from` replaced by `to`.
std::string edited(const std::string &from, const std::string &to) {
  std::string text = kValid;
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

/// The one-line error of loading `text`; "" if it loads.
std::string errorOf(const std::string &text) {
  llvm::Expected<Cluster> cluster = parseCluster(text, "c.textproto");
  if (cluster)
    return "";
  return llvm::toString(cluster.takeError());
}

std::string loadError(llvm::StringRef spec) {
  llvm::Expected<Cluster> cluster = loadCluster(spec);
  if (cluster)
    return "";
  return llvm::toString(cluster.takeError());
}

Cluster load(llvm::StringRef spec) {
  llvm::Expected<Cluster> cluster = loadCluster(spec);
  if (!cluster)
    FAIL(llvm::toString(cluster.takeError()));
  return std::move(*cluster);
}

} // namespace

TEST_CASE("the presets are the five shipped files", "[preset]") {
  CHECK(presetNames() == std::vector<std::string>{"cpu", "dgx-a100-80g",
                                                  "dgx-h100", "g5.48xlarge",
                                                  "p3.16xlarge"});
}

TEST_CASE("cpu:N is N ranks on one host", "[preset]") {
  Cluster one = load("cpu");
  CHECK(one.deviceCount() == 1);
  Cluster c = load("cpu:4");
  CHECK(c.name() == "cpu:4");
  CHECK(c.hostCount() == 1);
  CHECK(c.devicesPerHost() == 4);
  CHECK(c.peakFlops(DType::F32) == 1e11);
  CHECK(c.peakFlops(DType::BF16) == 1e11); // no bf16 figure: the f32 rate
  CHECK(c.device().memory_bandwidth() == 1e10);
  Link link = c.linkBetween(0, 3);
  CHECK(link.kind == pb::SHARED_MEMORY);
  CHECK(link.bandwidth == 5e9);
  CHECK(link.latency == 1e-6);
}

TEST_CASE("dgx-a100-80g:H is H hosts of 8 A100s", "[preset]") {
  Cluster c = load("dgx-a100-80g:4");
  CHECK(c.hostCount() == 4);
  CHECK(c.deviceCount() == 32);
  CHECK(c.peakFlops(DType::F32) == 19.5e12);
  CHECK(c.peakFlops(DType::TF32) == 156e12);
  CHECK(c.peakFlops(DType::BF16) == 312e12);
  CHECK(c.peakFlops(DType::F16) == 312e12);
  CHECK(c.device().memory_bytes() == 80LL << 30);
  CHECK(c.device().memory_bandwidth() == 2.039e12);
  CHECK(c.intraHostLink().kind == pb::NVSWITCH);
  CHECK(c.intraHostLink().bandwidth == 300e9);
  // 8 NICs x 25 GB/s shared by 8 GPUs.
  CHECK(c.interHostLink().kind == pb::INFINIBAND);
  CHECK(c.interHostLink().bandwidth == 25e9);
  CHECK(c.hostOf(7) == 0);
  CHECK(c.hostOf(8) == 1);
  CHECK(c.hostOf(31) == 3);
  CHECK(c.linkBetween(0, 7).kind == pb::NVSWITCH);
  CHECK(c.linkBetween(7, 8).kind == pb::INFINIBAND);
  CHECK(c.hostName(3) == "host3");
}

TEST_CASE("dgx-h100, p3.16xlarge and g5.48xlarge figures", "[preset]") {
  Cluster h100 = load("dgx-h100:2");
  CHECK(h100.peakFlops(DType::BF16) == 989.4e12);
  CHECK(h100.peakFlops(DType::F32) == 67e12);
  CHECK(h100.device().memory_bandwidth() == 3.35e12);
  CHECK(h100.intraHostLink().bandwidth == 450e9);
  CHECK(h100.interHostLink().bandwidth == 50e9);

  Cluster p3 = load("p3.16xlarge:2");
  CHECK(p3.peakFlops(DType::F16) == 125e12);
  CHECK(p3.peakFlops(DType::F32) == 15.7e12);
  CHECK(p3.peakFlops(DType::TF32) == 15.7e12); // Volta has no TF32
  CHECK(p3.device().memory_bytes() == 16LL << 30);
  CHECK(p3.intraHostLink().kind == pb::NVLINK);
  CHECK(p3.intraHostLink().bandwidth == 150e9);
  // One 25 Gbit/s interface shared by 8 GPUs.
  CHECK(p3.interHostLink().kind == pb::ETHERNET);
  CHECK(p3.interHostLink().bandwidth == 3.125e9 / 8);

  Cluster g5 = load("g5.48xlarge");
  CHECK(g5.hostCount() == 1);
  CHECK(g5.peakFlops(DType::BF16) == 125e12);
  CHECK(g5.peakFlops(DType::F32) == 31.2e12);
  CHECK(g5.device().memory_bandwidth() == 600e9);
  CHECK(g5.intraHostLink().kind == pb::PCIE);
  CHECK(g5.intraHostLink().bandwidth == 25e9);
  CHECK(g5.interHostLink().bandwidth == 12.5e9 / 8);
}

TEST_CASE("a cluster file: counts, hosts, links", "[file]") {
  llvm::Expected<Cluster> c = parseCluster(kValid, "c.textproto");
  REQUIRE(bool(c));
  CHECK(c->name() == "test");
  CHECK(c->deviceCount() == 8);
  CHECK(c->hostOf(3) == 0);
  CHECK(c->hostOf(4) == 1);
  CHECK(c->peakFlops(DType::BF16) == 4e12);
  CHECK(c->peakFlops(DType::F16) == 1e12);
  CHECK(c->device().launch_overhead() == 2e-6);
  // No in-place figure: in-place kernels run at memory_bandwidth.
  CHECK(c->inPlaceBandwidth() == 1e11);
  llvm::Expected<Cluster> cpu = parseCluster(
      edited("memory_bandwidth: 1e11\n",
             "memory_bandwidth: 1e11\n  memory_bandwidth_in_place: 1.5e11\n"),
      "c.textproto");
  REQUIRE(bool(cpu));
  CHECK(cpu->inPlaceBandwidth() == 1.5e11);
  CHECK(cpu->device().memory_bandwidth() == 1e11);
  CHECK(c->linkBetween(1, 2).bandwidth == 1e11);
  Link inter = c->linkBetween(1, 5);
  CHECK(inter.kind == pb::ETHERNET);
  CHECK(inter.bandwidth == 2 * 1e10 / 4);
  CHECK(inter.latency == 1e-5);

  SECTION("hosts listed by name instead of counted") {
    llvm::Expected<Cluster> named = parseCluster(
        edited("host_count: 2", "hosts { name: \"a\" } hosts { name: \"b\" }"),
        "c.textproto");
    REQUIRE(bool(named));
    CHECK(named->hostCount() == 2);
    CHECK(named->hostName(1) == "b");
  }
  SECTION("one device per host needs no intra-host link") {
    std::string text = edited("devices_per_host: 4", "devices_per_host: 1");
    size_t intra = text.find("intra_host");
    text.erase(intra, text.find('\n', intra) - intra);
    CHECK(errorOf(text).empty());
  }
}

TEST_CASE("loading a file by path", "[file]") {
  llvm::SmallString<128> path;
  REQUIRE(!llvm::sys::fs::createTemporaryFile("cluster", "textproto", path));
  {
    std::error_code ec;
    llvm::raw_fd_ostream out(path, ec);
    REQUIRE(!ec);
    out << edited("devices_per_host: 4", "devices_per_host: x");
  }
  CHECK(loadError(path) ==
        path.str().str() + ":3:19: devices_per_host: Expected integer, got: x");
  llvm::sys::fs::remove(path);
  CHECK(loadError(path) ==
        path.str().str() + ": cannot read file: No such file or directory");
  CHECK(loadError("no/such.textproto") ==
        "no/such.textproto: cannot read file: No such file or directory");
}

TEST_CASE("syntax errors name the line, column and field", "[error]") {
  CHECK(errorOf(edited("devices_per_host: 4", "devices_per_host: four")) ==
        "c.textproto:3:19: devices_per_host: Expected integer, got: four");
  CHECK(errorOf(edited("memory_bytes: 1000", "memory_bytes: 1e3")) ==
        "c.textproto:7:17: memory_bytes: Expected integer, got: 1e3");
  CHECK(
      errorOf(edited("devices_per_host: 4", "devices_per_host: 4000000000")) ==
      "c.textproto:3:19: devices_per_host: Integer out of range "
      "(4000000000)");
  CHECK(errorOf(edited("memory_bytes", "memory_byts")) ==
        "c.textproto:7:14: Message type \"bumblebee.cluster.Device\" has no "
        "field named \"memory_byts\".");
  CHECK(errorOf(edited("kind: NVLINK", "kind: NVLONK")) ==
        "c.textproto:11:27: Unknown enumeration value of \"NVLONK\" for "
        "field \"kind\".");
  CHECK(errorOf(edited("host_count: 2", "host_count: 2\nhost_count: 3")) ==
        "c.textproto:3:11: Non-repeated field \"host_count\" is specified "
        "multiple times.");
  CHECK(errorOf(edited("bandwidth: 1e11", "bandwidth 1e11")) ==
        "c.textproto:8:20: Expected \":\", found \"1e11\".");
}

TEST_CASE("semantic errors name the field and where it is", "[error]") {
  CHECK(errorOf(edited("devices_per_host: 4", "devices_per_host: 0")) ==
        "c.textproto:3:1: devices_per_host: must be positive, got 0");
  CHECK(errorOf(edited("host_count: 2", "host_count: -1")) ==
        "c.textproto:2:1: host_count: must be positive (or list the hosts), "
        "got -1");
  CHECK(errorOf(edited("host_count: 2\n", "")) ==
        "c.textproto: host_count: must be positive (or list the hosts), got 0");
  CHECK(
      errorOf(edited("host_count: 2", "host_count: 3 hosts { name: \"a\" }")) ==
      "c.textproto:2:1: host_count: is 3 but 1 hosts are listed");
  CHECK(errorOf(edited("host_count: 2",
                       "hosts { name: \"a\" } hosts { name: \"a\" }")) ==
        "c.textproto:2:29: hosts[1].name: 'a' is listed twice");
  CHECK(errorOf(edited("host_count: 2", "hosts { } hosts { name: \"b\" }")) ==
        "c.textproto:2:1: hosts[0].name: is missing");
  CHECK(errorOf(edited("f32: 1e12", "f32: 0")) ==
        "c.textproto:6:16: device.peak_flops.f32: must be a positive number, "
        "got 0");
  CHECK(errorOf(edited("f32: 1e12 ", "")) ==
        "c.textproto:6:3: device.peak_flops.f32: must be a positive number, "
        "got 0");
  CHECK(errorOf(edited("bf16: 4e12", "bf16: -4e12")) ==
        "c.textproto:6:26: device.peak_flops.bf16: must be a number >= 0, got "
        "-4e+12");
  CHECK(errorOf(edited("memory_bytes: 1000", "memory_bytes: -5")) ==
        "c.textproto:7:3: device.memory_bytes: must be positive, got -5");
  CHECK(errorOf(edited("memory_bandwidth: 1e11", "memory_bandwidth: nan")) ==
        "c.textproto:8:3: device.memory_bandwidth: must be a positive number, "
        "got nan");
  CHECK(errorOf(edited("memory_bandwidth: 1e11\n", "")) ==
        "c.textproto:4:1: device.memory_bandwidth: must be a positive number, "
        "got 0");
  CHECK(errorOf(edited("launch_overhead: 2e-6",
                       "memory_bandwidth_in_place: -2")) ==
        "c.textproto:9:3: device.memory_bandwidth_in_place: must be a number "
        ">= 0, got -2");
  CHECK(errorOf(edited("launch_overhead: 2e-6", "launch_overhead: -1")) ==
        "c.textproto:9:3: device.launch_overhead: must be a number >= 0, got "
        "-1");
  CHECK(errorOf(edited("kind: NVLINK", "kind: INFINIBAND")) ==
        "c.textproto:11:14: intra_host.kind: must be SHARED_MEMORY, PCIE, "
        "NVLINK or NVSWITCH, got INFINIBAND");
  CHECK(errorOf(edited("NVLINK bandwidth: 1e11", "NVLINK bandwidth: -1")) ==
        "c.textproto:11:27: intra_host.bandwidth: must be a positive number, "
        "got -1");
  CHECK(errorOf(edited("latency: 1e-6", "latency: -1e-6")) ==
        "c.textproto:11:43: intra_host.latency: must be a number >= 0, got "
        "-1e-06");
  CHECK(errorOf(edited("kind: ETHERNET", "kind: PCIE")) ==
        "c.textproto:12:14: inter_host.kind: must be INFINIBAND, ROCE or "
        "ETHERNET, got PCIE");
  CHECK(errorOf(edited("bandwidth_per_nic: 1e10", "bandwidth_per_nic: 0")) ==
        "c.textproto:12:29: inter_host.bandwidth_per_nic: must be a positive "
        "number, got 0");
  CHECK(errorOf(edited("nics_per_host: 2", "nics_per_host: 0")) ==
        "c.textproto:12:53: inter_host.nics_per_host: must be positive, got 0");
}

TEST_CASE("missing messages are named", "[error]") {
  auto without = [](const std::string &field) {
    std::string text = kValid;
    size_t at = text.find(field);
    REQUIRE(at != std::string::npos);
    size_t end = field == "device {" ? text.find("\n}\n", at) + 3
                                     : text.find('\n', at) + 1;
    return text.erase(at, end - at);
  };
  CHECK(errorOf(without("device {")) == "c.textproto: device: is missing");
  CHECK(errorOf(without("intra_host")) ==
        "c.textproto: intra_host: is missing (hosts have more than one "
        "device)");
  CHECK(errorOf(without("inter_host")) ==
        "c.textproto: inter_host: is missing (there is more than one host)");
  std::string oneHost = edited("host_count: 2", "host_count: 1");
  oneHost.erase(oneHost.find("inter_host"));
  CHECK(errorOf(oneHost) == "");
}

TEST_CASE("measured tables are checked", "[error][tables]") {
  auto withTable = [](const std::string &table) {
    return kValid + "collective_tables {\n" + table + "\n}\n";
  };
  const std::string points =
      "points { bytes: 1e3 seconds: 1e-5 } points { bytes: 1e6 seconds: 1e-4 }";
  CHECK(errorOf(withTable("collective: ALL_REDUCE span: INTRA_HOST "
                          "group_size: 4 " +
                          points)) == "");
  CHECK(errorOf(withTable("span: INTRA_HOST group_size: 4 " + points)) ==
        "c.textproto:13:1: collective_tables[0].collective: is missing");
  CHECK(errorOf(withTable("collective: ALL_GATHER group_size: 4 " + points)) ==
        "c.textproto:13:1: collective_tables[0].span: is missing");
  CHECK(errorOf(withTable("collective: ALL_GATHER span: INTER_HOST "
                          "group_size: 1 " +
                          points)) ==
        "c.textproto:14:41: collective_tables[0].group_size: must be at least "
        "2, got 1");
  CHECK(errorOf(withTable("collective: SEND_RECV span: INTER_HOST "
                          "group_size: 4 " +
                          points)) ==
        "c.textproto:14:40: collective_tables[0].group_size: must be 2 for "
        "SEND_RECV, got 4");
  CHECK(errorOf(withTable("collective: ALL_GATHER span: INTRA_HOST "
                          "group_size: 8 " +
                          points)) ==
        "c.textproto:14:41: collective_tables[0].group_size: is 8, more than "
        "the 4 devices of one host (span is INTRA_HOST)");
  CHECK(errorOf(withTable("collective: ALL_GATHER span: INTRA_HOST "
                          "group_size: 4")) ==
        "c.textproto:13:1: collective_tables[0].points: is missing (a table "
        "needs at least one point)");
  CHECK(errorOf(withTable("collective: ALL_GATHER span: INTRA_HOST "
                          "group_size: 4 points { bytes: 1e3 seconds: 0 }")) ==
        "c.textproto:14:75: collective_tables[0].points[0].seconds: must be a "
        "positive number, got 0");
  CHECK(errorOf(withTable("collective: ALL_GATHER span: INTRA_HOST "
                          "group_size: 4 points { bytes: 1e3 seconds: 1 } "
                          "points { bytes: 1e3 seconds: 2 }")) ==
        "c.textproto:14:97: collective_tables[0].points[1].bytes: must be "
        "larger than the previous point's bytes (1000)");
  std::string table =
      "collective: ALL_GATHER span: INTRA_HOST group_size: 4 " + points;
  CHECK(errorOf(withTable(table + "\n}\ncollective_tables {\n" + table)) ==
        "c.textproto:16:1: collective_tables[1]: has the same collective, span "
        "and group_size as collective_tables[0]");
}

TEST_CASE("preset errors: unknown names and bad counts", "[error][preset]") {
  CHECK(loadError("dgx-a200") ==
        "cluster 'dgx-a200': no such file, and not a preset (presets: cpu, "
        "dgx-a100-80g, dgx-h100, g5.48xlarge, p3.16xlarge)");
  CHECK(loadError("") ==
        "cluster '': no such file, and not a preset (presets: cpu, "
        "dgx-a100-80g, dgx-h100, g5.48xlarge, p3.16xlarge)");
  CHECK(loadError("dgx-h100:0") ==
        "cluster preset 'dgx-h100:0': host_count: must be a positive "
        "integer, got '0'");
  CHECK(loadError("dgx-h100:-2") ==
        "cluster preset 'dgx-h100:-2': host_count: must be a positive "
        "integer, got '-2'");
  CHECK(loadError("dgx-h100:") ==
        "cluster preset 'dgx-h100:': host_count: must be a positive integer, "
        "got ''");
  CHECK(loadError("p3.16xlarge:2x") ==
        "cluster preset 'p3.16xlarge:2x': host_count: must be a positive "
        "integer, got '2x'");
  CHECK(loadError("g5.48xlarge:3000000000") ==
        "cluster preset 'g5.48xlarge:3000000000': host_count: must be a "
        "positive integer, got '3000000000'");
  CHECK(loadError("cpu:zero") ==
        "cluster preset 'cpu:zero': devices_per_host: must be a positive "
        "integer, got 'zero'");
}
