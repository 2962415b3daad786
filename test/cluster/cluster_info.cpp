//===- cluster_info.cpp - load cluster specs and print what they hold -----===//
//
//   cluster_info --presets     the preset names, one a line
//   cluster_info SPEC...       per spec, one line of its figures
//
// Exits 1 with the loader's one-line error on the first spec that fails.
//
//===----------------------------------------------------------------------===//
#include "compiler/cluster/Cluster.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir::bb::cluster;

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    if (arg == "--presets") {
      for (const std::string &name : presetNames())
        llvm::outs() << name << "\n";
      continue;
    }
    llvm::Expected<Cluster> cluster = loadCluster(arg);
    if (!cluster) {
      llvm::errs() << "cluster_info: error: "
                   << llvm::toString(cluster.takeError()) << "\n";
      return 1;
    }
    llvm::outs() << cluster->name() << ": " << cluster->hostCount()
                 << " hosts x " << cluster->devicesPerHost() << " "
                 << cluster->device().kind() << " = " << cluster->deviceCount()
                 << " devices, bf16 " << cluster->peakFlops(DType::BF16)
                 << " FLOP/s, "
                 << bumblebee::cluster::LinkKind_Name(
                        cluster->intraHostLink().kind);
    if (cluster->proto().has_inter_host())
      llvm::outs() << ", "
                   << bumblebee::cluster::LinkKind_Name(
                          cluster->interHostLink().kind)
                   << " " << cluster->interHostLink().bandwidth
                   << " B/s per device";
    llvm::outs() << "\n";
  }
  return 0;
}
