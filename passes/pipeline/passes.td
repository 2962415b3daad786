//===- passes.td - pipeline stages -------------------------*- tablegen -*-===//
#ifndef BB_PASSES_PIPELINE_PASSES_TD
#define BB_PASSES_PIPELINE_PASSES_TD

include "mlir/Pass/PassBase.td"

def PipelineStages : Pass<"bb-pipeline-stages", "ModuleOp"> {
  let summary = "Cut @train_step into pipeline stages run on micro-batches";
  let description = [{
    Runs after `bb-train-step` on a module whose data inputs have the
    micro-batch shape. Splits `@train_step` into `stages` consecutive groups
    of the model's blocks (from the ONNX node names: the path up to the first
    component with a layer number, `/transformer/h.3/attn/MatMul` is block
    `transformer/h.3`, else the path without the op's name,
    `/lm_head/MatMul` is `lm_head`), chosen by dynamic programming so that
    the most expensive stage (forward and backward FLOPs, or bytes moved where
    that dominates) is as cheap as possible. Every stage `s` gets three
    functions that the training driver schedules (one forward, one backward,
    1F1B, per micro-batch; the update once per step):

    - `@stage<s>_forward`: the stage's forward ops on one micro-batch;
    - `@stage<s>_backward`: the gradient ops of the same blocks;
    - `@stage<s>_update`: the optimizer update of the parameters whose
      gradient the stage computes, given the micro-batch-averaged gradients
      (inputs with role `grad`, named `grad:<parameter>`) and the sum of
      squares of all gradients of all stages (role `grad_sumsq`, for the
      global norm and clipping); it returns the norm (role `grad_norm`) and
      updates the state in place.

    A value one function computes and another uses crosses between them as a
    function output and input: from a stage's forward to its own backward
    with role `stash` (named `stash<K>`, kept by the driver per micro-batch
    in flight), from one stage to another with roles `send` and `recv`
    (both named `xfer<K>`; the driver sends it to the rank of the consuming
    stage, MPI tag K). Forward values only flow to later stages and gradients
    only to earlier ones; a gradient computed on one stage for a parameter
    another stage also reads (tied embeddings) is summed on the earliest
    stage, which owns the parameter and sends its new value to the readers
    after each update.

    A fourth function per stage, `@stage<s>_gradsq`, returns the sum of
    squares of the stage's gradients (role `grad_sumsq`), given the
    accumulated gradients; where those are not yet what the update takes
    (partial sums, see keep-sharding below) it also returns each such
    gradient as the update takes it (role `grad`, same name), and the
    driver passes that to the update.

    Under dynamic loss scaling (`bb-train-step` with `loss-scale`, whose
    `@train_step` returns the scale it used with role `loss_scale`), the
    backward of each micro-batch starts from the scale divided by
    micro-batches x data-parallel, its share of the batch's loss, and
    `pipeline.gradients` is `sum` (else `mean`): the driver sums the
    micro-batches' and replicas' gradients instead of averaging them, so the
    backward's values are those of the unpipelined step. The state of the
    step that has no gradient (the scaler's, AdamW's count) is updated by
    the first stage, which owns it; every update function that reads the
    scale returns it with role `loss_scale`.

    The module gets a `mesh.mesh @pipeline` of shape
    `stages x data-parallel` (world rank = stage * data-parallel + replica);
    with `replicas` (PipeDream's stage replication), one axis of their sum
    instead (stage s on the ranks after the earlier stages', its replica j
    running micro-batches j, j + replicas[s], ...), `pipeline.replicas` lists
    the counts, `microbatches` is the step's micro-batches over all
    replicas, and the cut balances each stage's cost divided by its
    replicas (with keep-sharding each replica is a copy of the planned
    mesh, and `bb-pipeline-mesh` prepends an axis of the copies)
    and `bb.attributes` entries `pipeline.*` that the driver reads: stages,
    micro-batches, data parallelism, how gradients combine (`gradients`),
    and per stage its blocks, the share of
    the cost, the states it owns (`owns`) and the states it reads (`reads`).
    `@eval_step` is kept whole (it runs after the states are gathered on
    stage 0).

    With `keep-sharding`, the module instead carries a `bb-auto-shard` plan
    of the micro-batch step on one stage's mesh: states keep their
    `bb.sharding`, ops their `bb.strategy`, and every crossing and stash
    gets the layout its producer leaves it in (reduced where partial), as
    `bb.sharding` on both sides, which `bb-spmdize` then treats as per-rank
    blocks. A gradient leaves the backward as its producer leaves it,
    partial sums included (a weight's gradient summed over a split batch,
    where the plan did not reduce it per micro-batch): the driver
    accumulates the partial sums over the micro-batches and
    `@stage<s>_gradsq` reduces them to the layout the update wants once per
    step (all-reduce, or reduce-scatter where the update is split), which
    is how bb-auto-shard prices that reduction. No mesh is added;
    `bb-pipeline-mesh` prepends the stage axis after partitioning. A plan
    with a mesh per stage (`bb-auto-shard-stages`: `mesh.mesh @stage<s>`)
    cuts each stage's cost over its mesh's devices, puts each function on
    its stage's mesh (`bb.mesh = @stage<s>`, which `bb-spmdize` reads) and
    sends what crosses between two stages whole (replicated on both sides:
    the sender gathers it, the receiver takes its block).
  }];
  let options = [
    Option<"stages", "stages", "int64_t", "2", "Number of pipeline stages">,
    Option<"microbatches", "microbatches", "int64_t", "1",
           "Micro-batches per training step (recorded for the driver)">,
    Option<"dataParallel", "data-parallel", "int64_t", "1",
           "Replicas of the pipeline (recorded for the driver)">,
    ListOption<"replicas", "replicas", "int64_t",
               "Copies of each stage (one count per stage; needs "
               "data-parallel = 1): stage s runs on replicas[s] copies of "
               "its mesh (one rank, or with keep-sharding the planned "
               "mesh), each running every replicas[s]-th of the step's "
               "micro-batches">,
    Option<"keepSharding", "keep-sharding", "bool", "false",
           "The module carries a bb-auto-shard plan for one stage's mesh: "
           "keep it for bb-spmdize (see the description)">,
  ];
  let dependentDialects = ["::mlir::bb::BbDialect",
                           "::mlir::mesh::MeshDialect"];
}

def AccumulateGradients : Pass<"bb-accumulate-gradients", "::mlir::func::FuncOp"> {
  let summary = "A pipeline stage's backward adds its gradients into their accumulators";
  let description = [{
    On the per-rank program, for a function that returns gradients (results
    with role `grad`) and takes none (a stage's backward, not its gradsq or
    update): each gradient `g` named `grad:P` gets an argument of its type
    with role `accumulator` and the same name, and the function returns
    `accumulator + g` instead. The driver binds the argument and the result
    to the gradient's accumulator (zeroed once per step), so the backward of
    every micro-batch adds into it in place and the driver adds nothing.
    A gradient that a product computes, directly or reshaped (a weight's),
    is summed by the product itself: `bb.linear` with the accumulator as
    its addend (the GEMM's beta = 1), reading the accumulator instead of
    writing the product and adding it again; others get a `bb.add`.
    Runs after `bb-fuse-batch-sum` (a weight gradient summed over the batch
    is one product) and before `bb-fuse-linear`.

    Example:
    ```mlir
    // before
    %g = bb.matmul %x, %dy {transpose_lhs} : ... -> tensor<64x16xf32>
    return %g : tensor<64x16xf32>       // {bb.name = "grad:w", bb.role = "grad"}
    // after: %acc {bb.name = "grad:w", bb.role = "accumulator"}
    %g = bb.linear %x, %dy, %acc {transpose_lhs} : ... -> tensor<64x16xf32>
    return %g : tensor<64x16xf32>
    ```
  }];
  let dependentDialects = ["::mlir::bb::BbDialect"];
}

def PipelineMesh : Pass<"bb-pipeline-mesh", "ModuleOp"> {
  let summary = "Prepend the pipeline-stage axis to a partitioned module's mesh";
  let description = [{
    After `bb-pipeline-stages=keep-sharding` and `bb-spmdize`, the module's
    `mesh.mesh` is one stage's (every stage runs on a copy of it). This
    makes it the whole program's mesh, `stages x` the stage mesh (world
    rank = stage * stage devices + rank in the stage), and shifts every mesh
    axis the module names (collectives' `mesh_axes`, `#mesh.shard` split and
    partial axes) by one, so that the program's collectives stay within a
    stage.
  }];
  let options = [
    Option<"stages", "stages", "int64_t", "2",
           "Size of the prepended axis: the pipeline stages, or with "
           "replicated stages every stage's copies of the mesh in all">,
  ];
  let dependentDialects = ["::mlir::mesh::MeshDialect"];
}

#endif // BB_PASSES_PIPELINE_PASSES_TD
