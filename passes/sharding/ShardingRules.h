//===- ShardingRules.h - how each bb op may be split over a mesh -*- C++ -*-===//
//
// The sharding search and the SPMD partitioner both reason about an op as a
// set of loops (its iteration space): splitting a loop over some mesh axes
// splits every operand and result dimension that loop indexes, and splitting
// a reduction loop leaves the results partial (to be all-reduced). Most ops
// describe their loops through upstream mesh::ShardingInterface (indexing
// maps); here those maps are read strictly (a loop is splittable only where
// every tensor it touches is indexed by it directly, at full extent), and the
// ops whose data movement is not affine (reshape, concat, scatter_add, the
// cross-entropy pair) or depends on global positions (trilu) get rules of
// their own.
//
//===----------------------------------------------------------------------===//
#ifndef BB_PASSES_SHARDING_SHARDINGRULES_H
#define BB_PASSES_SHARDING_SHARDINGRULES_H

#include "compiler/costmodel/Collective.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace mlir::bb::sharding {

/// One loop of an op's iteration space.
struct Loop {
  /// The loop's trip count; a split over mesh axes of total size k needs
  /// k | extent.
  int64_t extent = 1;
  /// Reductions leave results partial; nullopt for parallel loops.
  std::optional<mesh::ReductionKind> reduction;
  /// For each operand, then each result: the tensor dimension this loop
  /// indexes, or -1.
  SmallVector<int64_t> dims;
  /// A loop of no dimension through which partial sums pass: splitting it
  /// over an axis takes operand 0 partial over that axis and leaves the
  /// result partial too (`reduction` says how), without reducing it first.
  /// For linear ops (a reshape), where reducing later is reducing the same.
  /// Its extent is 0: any split divides it.
  bool passesPartial = false;
};

/// The splittable loops of an op (loops that cannot be split are left out).
struct OpRule {
  SmallVector<Loop> loops;
  unsigned numOperands = 0, numResults = 0;
};

/// How `op` may be split. Ops without a rule get no loops: they run
/// replicated.
OpRule ruleFor(Operation *op);

/// How one tensor is laid out over the mesh: for each dimension, the mesh
/// axes it is split over (major to minor); and the axes over which it is a
/// partial value still to be reduced with `partialKind`.
struct TensorSharding {
  SmallVector<SmallVector<int16_t>> dimAxes;
  SmallVector<int16_t> partialAxes;
  mesh::ReductionKind partialKind = mesh::ReductionKind::Sum;

  static TensorSharding replicated(int64_t rank) {
    TensorSharding s;
    s.dimAxes.resize(rank);
    return s;
  }
  bool isReplicated() const;
  bool operator==(const TensorSharding &o) const {
    return dimAxes == o.dimAxes && partialAxes == o.partialAxes &&
           (partialAxes.empty() || partialKind == o.partialKind);
  }
  bool operator!=(const TensorSharding &o) const { return !(*this == o); }
  /// The per-rank shape of a tensor of global shape `shape`.
  SmallVector<int64_t> localShape(ArrayRef<int64_t> shape,
                                  ArrayRef<int64_t> meshShape) const;
  /// MLIR mesh syntax, e.g. "[[0], [], [1]]" (no partial axes).
  std::string splitAxesText() const;
  /// splitAxesText() and the partial axes and kind: equal texts, equal
  /// layouts (a key for memos).
  std::string layoutText() const;
  mesh::MeshShardingAttr toAttr(FlatSymbolRefAttr mesh) const;
  static TensorSharding fromAttr(mesh::MeshShardingAttr attr, int64_t rank);
  /// Parses the splitAxesText() syntax, "[[0], [], [1]]" (trailing
  /// dimensions may be left out); nullopt when malformed.
  static std::optional<TensorSharding> parse(StringRef text, int64_t rank);
};

/// The layer an op belongs to, from its ONNX node name's first two path
/// components: "/h.7/attn/c_attn/MatMul" -> "/h.7/attn" ("/h.#/attn" with
/// `blankNumbers`, which identical layers share, as
/// "/transformer/h.7/attn/MatMul" -> "/transformer/h.#"; backward ops carry
/// their forward op's name). Empty for ops without such a name.
std::string layerOf(Operation *op, bool blankNumbers = false);

/// The model block an op belongs to, for pipeline stages: the path of its
/// ONNX node name up to the first component with a layer number
/// ("/transformer/h.3/attn/MatMul" -> "transformer/h.3", "/h.3/mlp/Add" ->
/// "h.3"), else the path without the op's own name
/// ("/transformer/ln_f/LayerNormalization" -> "transformer/ln_f",
/// "/lm_head/MatMul" -> "lm_head"); "" for names without a path ("/Range").
std::string blockOf(Operation *op);

/// The split axes of `attr` in the runtime's syntax (its dimensions only,
/// e.g. "[[], [0]]"): TensorSharding::splitAxesText of what it says.
std::string splitAxesText(mesh::MeshShardingAttr attr);

/// One collective of a layout change, as the partitioner emits it
/// (passes/spmdize) and the planner prices it (passes/sharding/AutoShard).
struct ReshardStep {
  enum class Kind { AllReduce, ReduceScatter, AllToAll, AllGather };
  Kind kind;
  /// The mesh axes the collective runs over.
  SmallVector<int16_t> axes;
  /// ReduceScatter: the dimension scattered; AllGather: the dimension
  /// gathered; AllToAll: the dimension the axes leave (concatenated).
  int64_t dim = -1;
  /// AllToAll: the dimension the axes move to (split).
  int64_t toDim = -1;
  /// The layouts before and after the step.
  TensorSharding before, after;
};

/// Whether planReshard can turn `from` into `to`: a layout whose partial
/// sums a consumer takes as they are (Loop::passesPartial) is only reached
/// from the same partial sums; reducing is one way.
bool canReshard(const TensorSharding &from, const TensorSharding &to);

/// The collectives that turn layout `from` into `to` for a tensor of global
/// shape `shape`: partial values are all-reduced, or reduce-scattered when
/// `to` splits one dimension that nothing splits yet over exactly their
/// axes; splits `to` does not extend are moved by an all-to-all when `to`
/// wants the same axes on a dimension nothing splits yet, and all-gathered
/// otherwise. What remains (axes `to` adds beyond the last layout) is this
/// process's block: a slice, no communication. Partial sums `to` keeps
/// (canReshard) stay unreduced; the splits move alike.
SmallVector<ReshardStep, 2> planReshard(const TensorSharding &from,
                                     const TensorSharding &to,
                                     ArrayRef<int64_t> shape,
                                     ArrayRef<int64_t> meshShape);

/// "2x4" -> {2, 4}; empty when malformed (a part not a positive number).
SmallVector<int64_t> parseMeshShape(StringRef text);

/// The devices of a mesh of `shape`: the product of its axes (1 for none).
int64_t meshDevices(ArrayRef<int64_t> shape);

/// The layout bb-auto-shard's plan (`bb.strategy` on the defining op)
/// leaves `v` in; replicated without a plan or for a block argument.
/// Reduced where partial unless `keepPartial`.
TensorSharding plannedSharding(Value v, bool keepPartial = false);

/// The seconds of planReshard's collectives from `from` to `to` for a
/// tensor of `type`, each timed by `collective(kind, axes, bytes)` where
/// the message is the block a process holds before the step, except for a
/// gather: the one it holds after.
double reshardSeconds(
    const TensorSharding &from, const TensorSharding &to,
    RankedTensorType type, ArrayRef<int64_t> meshShape,
    llvm::function_ref<double(costmodel::CollectiveKind, ArrayRef<int16_t>,
                              double)>
        collective);

/// A strategy: for each mesh axis, the loop it splits (-1: none).
using Strategy = SmallVector<int64_t>;

/// Every valid strategy of `rule` on a mesh of `meshShape`, replicated first.
SmallVector<Strategy> enumerateStrategies(const OpRule &rule,
                                          ArrayRef<int64_t> meshShape);

/// The operand (index < numOperands) or result sharding a strategy implies.
TensorSharding operandSharding(const OpRule &rule, const Strategy &s,
                               unsigned operand, int64_t rank);
TensorSharding resultSharding(const OpRule &rule, const Strategy &s,
                              unsigned result, int64_t rank);

} // namespace mlir::bb::sharding

#endif // BB_PASSES_SHARDING_SHARDINGRULES_H
