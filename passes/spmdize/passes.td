//===- passes.td - one program per process -----------------*- tablegen -*-===//
#ifndef BB_PASSES_SPMDIZE_PASSES_TD
#define BB_PASSES_SPMDIZE_PASSES_TD

include "mlir/Pass/PassBase.td"

def Spmdize : Pass<"bb-spmdize", "ModuleOp"> {
  let summary = "Partition sharded bb functions into one per-process program";
  let description = [{
    Reads the plan written on the module: the `mesh.mesh` the program runs
    on; on each bb op, `bb.strategy` (for each mesh axis, the index of the
    loop of the op's iteration space that the axis splits, or -1; absent:
    the op runs replicated); on function arguments and results, `bb.sharding`
    (a `#mesh.shard`; absent: replicated; a result that `bb.updates` an
    argument defaults to that argument's sharding). A module may hold
    several meshes (pipeline stages on meshes of their own,
    `bb-auto-shard-stages`): then each function names its own with a
    `bb.mesh` symbol reference and is partitioned over it.

    Rewrites every function into the program each process runs: each op on
    its local block of every tensor (result types become per-process
    shapes), with the communication the plan implies made explicit as mesh
    dialect collectives: a partial result (a split reduction loop) meets its
    consumer through `mesh.all_reduce`, or `mesh.reduce_scatter` when the
    consumer wants it split along the same axes; a split that moves to a
    dimension nothing splits yet through `mesh.all_to_all`; a split value
    that a consumer wants replicated or split otherwise through
    `mesh.all_gather`;
    a replicated value that a consumer wants split through `bb.shard_slice`
    (no communication). Cross-entropy over split positions weighs each
    process's mean by its count of counted labels, so the loss and its
    gradient equal the single-device ones whatever `ignore_index` removes.
    Sharded state arguments (parameters, optimizer state) get their local
    types and keep `bb.sharding`, which bufferization passes on to the
    runtime so each process loads only its slice; so do the arguments that
    pipeline stages pass between their functions (roles `recv`, `stash`,
    `grad`), whose producers return them as blocks of the same layout; a
    `grad` argument may be partial (a stage's accumulated gradient, reduced
    where its consumers want it). A value resharded the same way for two
    consumers is resharded once. Other arguments (model
    inputs, labels) arrive whole on every process; their `bb.sharding` only
    says which block the program works on (a `bb.shard_slice` at entry).
  }];
  let dependentDialects = ["::mlir::bb::BbDialect",
                           "::mlir::mesh::MeshDialect"];
}

def MergeAllReduces : Pass<"bb-merge-all-reduces", "::mlir::func::FuncOp"> {
  let summary = "One all-reduce for a sum of all-reduced values";
  let description = [{
    After `bb-spmdize`: a sum of values each summed over the same mesh axes
    (`mesh.all_reduce` with `sum`, used only by the sum) is the all-reduce
    of their local sum, one collective instead of several. The global
    norm's sum of squares is such a sum: one all-reduce per gradient split
    over the mesh became one for them all. Rewrites, to a fixed point,
    `bb.add(all_reduce(a), all_reduce(b))` into `all_reduce(bb.add(a, b))`,
    and `bb.add(bb.add(x, all_reduce(a)), all_reduce(b))` (either operand
    order) into `bb.add(x, all_reduce(bb.add(a, b)))`, where every value
    has the same type (no broadcasting) and the inner sum is used only
    there. The additions run in another order: the result may differ in
    the last bits.

    Example:
    ```mlir
    %ra = mesh.all_reduce %a on @mesh mesh_axes = [0] : tensor<f32> -> tensor<f32>
    %rb = mesh.all_reduce %b on @mesh mesh_axes = [0] : tensor<f32> -> tensor<f32>
    %s = bb.add %ra, %rb : tensor<f32>, tensor<f32> -> tensor<f32>
    // becomes
    %t = bb.add %a, %b : tensor<f32>, tensor<f32> -> tensor<f32>
    %s = mesh.all_reduce %t on @mesh mesh_axes = [0] : tensor<f32> -> tensor<f32>
    ```
  }];
  let dependentDialects = ["::mlir::bb::BbDialect",
                           "::mlir::mesh::MeshDialect"];
}

#endif // BB_PASSES_SPMDIZE_PASSES_TD
