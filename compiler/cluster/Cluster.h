//===- Cluster.h - the devices and links to compile for ---------*- C++ -*-===//
//
// A validated cluster description (compiler/cluster/cluster.proto) and the
// questions the cost model asks of it: how many devices, on which host, how
// fast each computes, and which link two devices talk over. A Cluster is only
// made by loading one, so every figure in it has passed validation.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_CLUSTER_CLUSTER_H
#define BB_COMPILER_CLUSTER_CLUSTER_H

#include "compiler/cluster/cluster.pb.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::bb::cluster {

/// Element types with a peak FLOP/s of their own.
enum class DType { F32, TF32, BF16, F16 };

/// A link as the cost model sees it.
struct Link {
  bumblebee::cluster::LinkKind kind;
  /// Bytes/s one device sends over the link (and receives, at the same time)
  /// while every device of its host communicates.
  double bandwidth;
  /// Seconds per message step.
  double latency;
};

class Cluster {
public:
  const bumblebee::cluster::Cluster &proto() const { return spec; }
  llvm::StringRef name() const { return spec.name(); }

  int64_t hostCount() const { return spec.host_count(); }
  int64_t devicesPerHost() const { return spec.devices_per_host(); }
  int64_t deviceCount() const { return hostCount() * devicesPerHost(); }
  /// Devices are numbered host-major: host h holds devices
  /// [h * devicesPerHost(), (h + 1) * devicesPerHost()).
  int64_t hostOf(int64_t device) const;
  /// The host's name from the file's `hosts` list, else "host<h>".
  std::string hostName(int64_t host) const;

  const bumblebee::cluster::Device &device() const { return spec.device(); }
  /// Peak FLOP/s for `type`; types the file leaves at 0 run at the f32 rate.
  double peakFlops(DType type) const;
  /// Bytes/s of a kernel that writes where it reads: the device's
  /// memory_bandwidth_in_place, else its memory_bandwidth.
  double inPlaceBandwidth() const;

  /// The link between two devices of one host.
  Link intraHostLink() const;
  /// The link between hosts, with `bandwidth` one device's share of its
  /// host's network interfaces. Only for clusters that describe one.
  Link interHostLink() const;
  /// The link two distinct devices talk over.
  Link linkBetween(int64_t a, int64_t b) const;

private:
  explicit Cluster(bumblebee::cluster::Cluster spec);
  friend llvm::Expected<Cluster> parseCluster(llvm::StringRef text,
                                              llvm::StringRef source);
  friend llvm::Expected<Cluster> loadCluster(llvm::StringRef spec);

  /// Validated; host_count is set even where the file lists hosts instead.
  bumblebee::cluster::Cluster spec;
};

/// Parses and validates a cluster in protobuf text format. `source` names the
/// text in errors, which are one line: "SOURCE:LINE:COLUMN: FIELD: problem".
llvm::Expected<Cluster> parseCluster(llvm::StringRef text,
                                     llvm::StringRef source);

/// Loads `spec`: a path to a text-format file, or a preset "NAME[:COUNT]"
/// (COUNT defaults to 1; it is the host count, except for `cpu`, where it is
/// the number of ranks on the one host).
llvm::Expected<Cluster> loadCluster(llvm::StringRef spec);

/// The names of the presets shipped in compiler/cluster/presets/, sorted.
std::vector<std::string> presetNames();

} // namespace mlir::bb::cluster

#endif // BB_COMPILER_CLUSTER_CLUSTER_H
