//===- Cluster.cpp - queries on a validated cluster -----------------------===//
#include "compiler/cluster/Cluster.h"

#include <cassert>

using namespace mlir::bb::cluster;

Cluster::Cluster(bumblebee::cluster::Cluster validated)
    : spec(std::move(validated)) {
  if (spec.host_count() == 0)
    spec.set_host_count(spec.hosts_size());
}

int64_t Cluster::hostOf(int64_t device) const {
  assert(device >= 0 && device < deviceCount() && "device out of range");
  return device / devicesPerHost();
}

std::string Cluster::hostName(int64_t host) const {
  assert(host >= 0 && host < hostCount() && "host out of range");
  if (spec.hosts_size() > 0)
    return spec.hosts(host).name();
  return "host" + std::to_string(host);
}

double Cluster::peakFlops(DType type) const {
  const auto &peak = spec.device().peak_flops();
  double flops = 0;
  switch (type) {
  case DType::F32:
    return peak.f32();
  case DType::TF32:
    flops = peak.tf32();
    break;
  case DType::BF16:
    flops = peak.bf16();
    break;
  case DType::F16:
    flops = peak.f16();
    break;
  }
  return flops > 0 ? flops : peak.f32();
}

double Cluster::inPlaceBandwidth() const {
  const auto &device = spec.device();
  return device.memory_bandwidth_in_place() > 0
             ? device.memory_bandwidth_in_place()
             : device.memory_bandwidth();
}

Link Cluster::intraHostLink() const {
  const auto &link = spec.intra_host();
  return {link.kind(), link.bandwidth(), link.latency()};
}

Link Cluster::interHostLink() const {
  assert(spec.has_inter_host() && "the cluster describes no inter-host link");
  const auto &link = spec.inter_host();
  double hostBandwidth = link.nics_per_host() * link.bandwidth_per_nic();
  return {link.kind(), hostBandwidth / devicesPerHost(), link.latency()};
}

Link Cluster::linkBetween(int64_t a, int64_t b) const {
  assert(a != b && "a device does not talk to itself over a link");
  return hostOf(a) == hostOf(b) ? intraHostLink() : interHostLink();
}
