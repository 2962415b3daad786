//===- Roofline.cpp - compute time of one op on one device ----------------===//
#include "compiler/costmodel/Roofline.h"

#include <algorithm>

double mlir::bb::costmodel::computeTime(const cluster::Cluster &cluster,
                                        cluster::DType type, double flops,
                                        double bytes, bool inPlace) {
  if (flops <= 0 && bytes <= 0)
    return 0;
  const auto &device = cluster.device();
  const double bandwidth =
      inPlace ? cluster.inPlaceBandwidth() : device.memory_bandwidth();
  return std::max(flops / cluster.peakFlops(type), bytes / bandwidth) +
         device.launch_overhead();
}
