//===- bb-measure.cpp - measure a cluster into a cluster file -------------===//
//
//   mpirun -np N bb-measure -o cluster.textproto [options]
//
// Measures the devices and links of the ranks it runs on with the runtime
// the generated programs link (runtime/measure/ClusterMeasure.h) and writes
// a cluster file for `bbc --cluster=FILE`. bb-measure-cuda is the same with
// the CUDA runtime (one rank per GPU).
//
//===----------------------------------------------------------------------===//
#include "bbrt/model.h"
#include "bbrt/sharding.h"
#include "runtime/driver/Cli.h"
#include "runtime/measure/ClusterMeasure.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

namespace {

using namespace bbrt;

const char *kUsage =
    "usage: mpirun -np N %s -o FILE [--name NAME] [--intra-host-kind KIND]\n"
    "       [--inter-host-kind KIND] [--max-bytes B] [--seconds-per-point S]\n"
    "       [--ranks-per-host P] [--threads T] [--verbose] [--help]\n"
    "\n"
    "Measures the devices and links of the ranks it runs on (matrix-product\n"
    "FLOP/s per precision, memory bandwidth, kernel call cost, memory; one\n"
    "message's time within and between hosts; all-reduce, all-gather,\n"
    "reduce-scatter, all-to-all and send/recv times from 4 KiB to B bytes)\n"
    "with the runtime the generated programs link, and writes FILE, a cluster\n"
    "file for `bbc --cluster=FILE` (docs/cluster.md). Ranks fill hosts in\n"
    "order, the same number on every host.\n"
    "\n"
    "options:\n"
    "  -o FILE                  the cluster file to write\n"
    "  --name NAME              its name (default: measured)\n"
    "  --intra-host-kind KIND   SHARED_MEMORY, PCIE, NVLINK or NVSWITCH\n"
    "                           (default: SHARED_MEMORY for CPU ranks, PCIE)\n"
    "  --inter-host-kind KIND   INFINIBAND, ROCE or ETHERNET (default)\n"
    "  --max-bytes B            largest message of the tables (default 64 MiB)\n"
    "  --seconds-per-point S    time spent per measurement (default 0.05)\n"
    "  --ranks-per-host P       ranks per host (default: the ranks MPI finds\n"
    "                           sharing rank 0's memory)\n"
    "  --threads T              threads per rank, as the programs' --threads\n"
    "                           (default: the host's cores over its ranks)\n"
    "  --verbose                print each figure as it is measured\n";

int run(int argc, char **argv, const std::string &prog) {
  measure::Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::string opt = arg.substr(0, arg.find('='));
    if (arg == "--help" || arg == "-h") {
      if (isRoot())
        std::printf(kUsage, prog.c_str());
      return 0;
    } else if (arg == "--verbose" || arg == "-v") {
      o.verbose = true;
    } else if (opt == "-o") {
      o.output = driver::optionValue(argc, argv, i, opt);
    } else if (opt == "--name") {
      o.name = driver::optionValue(argc, argv, i, opt);
    } else if (opt == "--intra-host-kind") {
      o.intraHostKind = driver::optionValue(argc, argv, i, opt);
    } else if (opt == "--inter-host-kind") {
      o.interHostKind = driver::optionValue(argc, argv, i, opt);
    } else if (opt == "--max-bytes") {
      long long v = 0;
      const std::string s = driver::optionValue(argc, argv, i, opt);
      if (!driver::parseInt(s, 4096, 1ll << 34, v))
        throw Error("--max-bytes " + s + ": expected bytes from 4096 to 2^34");
      o.maxBytes = v;
    } else if (opt == "--seconds-per-point") {
      const std::string s = driver::optionValue(argc, argv, i, opt);
      if (!driver::parseDouble(s, o.secondsPerPoint) || o.secondsPerPoint <= 0 ||
          o.secondsPerPoint > 60)
        throw Error("--seconds-per-point " + s + ": expected seconds in (0, 60]");
    } else if (opt == "--ranks-per-host") {
      const std::string s = driver::optionValue(argc, argv, i, opt);
      long long v = 0;
      if (!driver::parseInt(s, 1, 1 << 20, v))
        throw Error("--ranks-per-host " + s + ": expected a count from 1");
      o.ranksPerHost = v;
    } else if (opt == "--threads") {
      const std::string s = driver::optionValue(argc, argv, i, opt);
      long long threads = 0;
      if (!driver::parseInt(s, 1, 4096, threads))
        throw Error("--threads " + s + ": expected a count from 1 to 4096");
      o.threads = static_cast<int>(threads);
    } else {
      throw Error("unknown argument '" + arg + "' (see --help)");
    }
  }
  measure::measureCluster(o);
  if (isRoot())
    std::fprintf(stderr, "%s: wrote %s (%lld ranks)\n", prog.c_str(),
                 o.output.c_str(), (long long)worldSize());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  const std::string prog = driver::baseName(argv[0]);
  bbrt::prepareProcess(argv);
  try {
    const int rc = run(argc, argv, prog);
    finalizeDistributed();
    return rc;
  } catch (const bbrt::Error &e) {
    fatalError(prog, e.what());
  } catch (const std::bad_alloc &) {
    fatalError(prog, "out of memory");
  } catch (const std::exception &e) {
    fatalError(prog, e.what());
  }
}
