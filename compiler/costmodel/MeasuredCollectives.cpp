//===- MeasuredCollectives.cpp - collective times from measurements -------===//
#include "compiler/costmodel/MeasuredCollectives.h"

#include <cmath>

namespace pb = bumblebee::cluster;

/// Interpolates a validated table: points strictly increasing in bytes.
static double interpolate(const pb::CollectiveTable &table, double bytes) {
  const auto &points = table.points();
  const auto &first = points[0];
  const auto &last = points[points.size() - 1];
  if (bytes <= first.bytes())
    return first.seconds();
  if (bytes >= last.bytes())
    return last.seconds() * bytes / last.bytes();
  int upper = 1;
  while (points[upper].bytes() < bytes)
    ++upper;
  const auto &lo = points[upper - 1];
  const auto &hi = points[upper];
  double f = std::log(bytes / lo.bytes()) / std::log(hi.bytes() / lo.bytes());
  return lo.seconds() * std::pow(hi.seconds() / lo.seconds(), f);
}

std::optional<double> mlir::bb::costmodel::measuredCollectiveTime(
    const cluster::Cluster &cluster, pb::CollectiveKind kind,
    pb::GroupSpan span, int64_t groupSize, double bytes) {
  for (const pb::CollectiveTable &table : cluster.proto().collective_tables())
    if (table.collective() == kind && table.span() == span &&
        table.group_size() == groupSize)
      return interpolate(table, bytes);
  return std::nullopt;
}
