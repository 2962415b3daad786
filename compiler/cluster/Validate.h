//===- Validate.h - semantic checks of a parsed cluster ---------*- C++ -*-===//
//
// What the text format cannot say: counts are positive, bandwidths and FLOP/s
// are positive numbers, links are of a kind that fits where they are, measured
// tables are well formed. Internal to the cluster library.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_CLUSTER_VALIDATE_H
#define BB_COMPILER_CLUSTER_VALIDATE_H

#include "compiler/cluster/cluster.pb.h"
#include "google/protobuf/text_format.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace mlir::bb::cluster {

/// The first problem found, as one line "SOURCE:LINE:COLUMN: FIELD: problem".
/// `locations` (may be null) says where the text gave each field; a field the
/// text omits is reported at the message that should hold it.
llvm::Error
validateCluster(const bumblebee::cluster::Cluster &cluster,
                llvm::StringRef source,
                const google::protobuf::TextFormat::ParseInfoTree *locations);

} // namespace mlir::bb::cluster

#endif // BB_COMPILER_CLUSTER_VALIDATE_H
