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

    The module gets a `mesh.mesh @pipeline` of shape
    `stages x data-parallel` (world rank = stage * data-parallel + replica)
    and `bb.attributes` entries `pipeline.*` that the driver reads: stages,
    micro-batches, data parallelism, and per stage its blocks, the states it
    owns (`owns`) and the states it reads (`reads`). `@eval_step` is kept
    whole (it runs on rank 0 after the states are gathered there).
  }];
  let options = [
    Option<"stages", "stages", "int64_t", "2", "Number of pipeline stages">,
    Option<"microbatches", "microbatches", "int64_t", "1",
           "Micro-batches per training step (recorded for the driver)">,
    Option<"dataParallel", "data-parallel", "int64_t", "1",
           "Replicas of the pipeline (recorded for the driver)">,
  ];
  let dependentDialects = ["::mlir::bb::BbDialect",
                           "::mlir::mesh::MeshDialect"];
}

#endif // BB_PASSES_PIPELINE_PASSES_TD
