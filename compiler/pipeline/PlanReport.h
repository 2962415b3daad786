//===- PlanReport.h - what `bbc plan` prints about a sharding plan -*- C++ -*-===//
#ifndef BB_COMPILER_PIPELINE_PLANREPORT_H
#define BB_COMPILER_PIPELINE_PLANREPORT_H

#include "compiler/cluster/Cluster.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <vector>

namespace mlir::bb {

/// The plan bb-auto-shard wrote on `module` (before partitioning), as JSON:
/// the cluster and mesh; per layer (ops grouped by their ONNX node-name
/// prefix, e.g. "/h.0/attn"; backward ops carry their forward op's name) the
/// op count, FLOPs and the sharding of its costliest op; the predicted step
/// time (compute, communication per link kind, pipeline bubble), throughput
/// (tokens or samples per second, model FLOP/s per device, MFU) and memory
/// per device (state, activations, capacity); the solver's statistics.
/// Without `withLayers`, the per-layer table is left out (what the stage
/// search reads of each candidate needs none of it).
llvm::Expected<llvm::json::Object> planReport(ModuleOp module,
                                              bool withLayers = true);

/// bb.plan's float / integer entry `key`; 0 when absent.
double planF64(DictionaryAttr plan, StringRef key);
int64_t planI64(DictionaryAttr plan, StringRef key);
/// bb.plan's integer / float array `key` (per pipeline stage); empty when
/// absent.
std::vector<int64_t> planI64Array(DictionaryAttr plan, StringRef key);
std::vector<double> planF64Array(DictionaryAttr plan, StringRef key);

/// The element type of `module`'s matrix products, whose peak FLOP/s they
/// run at: bf16, f16 or tf32 where bb-mixed-precision made them so
/// (--precision), else f32.
cluster::DType productType(ModuleOp module);

/// The same for people: a table and a summary.
void printPlanReport(const llvm::json::Object &report, llvm::raw_ostream &os);

} // namespace mlir::bb

#endif // BB_COMPILER_PIPELINE_PLANREPORT_H
