//===- ClusterMeasure.h - measuring a cluster for the cost model -*- C++ -*-===//
//
// `bb-measure` (tools/bb-measure) runs on every rank of an mpirun job, on
// the same runtime the generated programs link (OpenBLAS and MPI, or cuBLASLt
// and NCCL), and writes a cluster file (compiler/cluster/cluster.proto, text
// format) that the compiler's cost model reads instead of a preset:
//   - the device: its matrix-product FLOP/s per precision (the best of
//     square products of growing size), its memory bandwidth (an elementwise
//     add over large arrays), the fixed cost of one kernel call, its memory;
//   - the links: one message's time between two ranks on one host and on two
//     hosts (latency: the smallest message, bandwidth: the largest);
//   - collective tables: every collective the programs run (all-reduce,
//     all-gather, reduce-scatter, all-to-all, send/recv) over the whole world,
//     one host's ranks and one rank per host, at message sizes from 4 KiB up,
//     which replace the alpha-beta model for groups of that size and span.
// Every figure is the slowest rank's. Ranks are taken to fill hosts in order
// (mpirun's default): ranks 0..P-1 on the first host, and so on; P is the
// number of ranks MPI finds on one host, or Options::ranksPerHost.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_MEASURE_CLUSTERMEASURE_H
#define BBRT_MEASURE_CLUSTERMEASURE_H

#include <cstdint>
#include <string>

namespace bbrt {
namespace measure {

struct Options {
  /// The cluster file rank 0 writes (atomically).
  std::string output;
  /// Its `name`.
  std::string name = "measured";
  /// Link kinds as cluster.proto names them; empty: SHARED_MEMORY (CPU) or
  /// PCIE (GPU) within a host, ETHERNET between hosts.
  std::string intraHostKind, interHostKind;
  /// The largest message of the collective tables (bytes).
  int64_t maxBytes = 64ll << 20;
  /// Time spent per measured point, about (seconds).
  double secondsPerPoint = 0.05;
  /// Ranks per host; 0: those MPI finds sharing memory with rank 0's.
  int64_t ranksPerHost = 0;
  /// Threads per rank (setNumThreads; 0: the host's cores over its ranks).
  int threads = 0;
  /// Progress lines on stderr (rank 0).
  bool verbose = false;
};

/// Measures and writes `o.output`; every rank of the job calls it. Throws
/// bbrt::Error on bad options or a failed write.
void measureCluster(const Options &o);

} // namespace measure
} // namespace bbrt

#endif // BBRT_MEASURE_CLUSTERMEASURE_H
