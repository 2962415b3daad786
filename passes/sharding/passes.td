//===- passes.td - choosing how to split the program -------*- tablegen -*-===//
#ifndef BB_PASSES_SHARDING_PASSES_TD
#define BB_PASSES_SHARDING_PASSES_TD

include "mlir/Pass/PassBase.td"

def AutoShard : Pass<"bb-auto-shard", "ModuleOp"> {
  let summary = "Choose every op's sharding by cost, as a 0-1 program (Alpa)";
  let description = [{
    Plans intra-op parallelism for each function of the module on a device
    mesh of the cluster: every op gets one of its strategies (for each mesh
    axis, the loop of its iteration space that the axis splits, or none;
    passes/sharding/ShardingRules.h), every parameter and optimizer-state
    argument a sharding, so as to minimize the predicted step time: compute
    (the op's roofline time on the cluster's device, divided by how many
    ways the strategy splits it) plus communication (the collectives that
    reshard each value from its producer's layout to each consumer's, and
    that reduce partial results, timed by the cluster's alpha-beta model per
    mesh axis, hierarchically where an axis spans hosts). The choice is
    solved exactly as a 0-1 program with COIN-OR CBC: one binary per (op,
    strategy), and per edge a joint choice of both ends' strategies whose
    marginals are those binaries, as in Alpa's intra-op pass.

    On meshes with several axes the exact program has a joint choice per
    edge for every pair of multi-axis strategies, which grows with the
    square of the strategies; `search=axiswise` (the default) instead solves
    one program per mesh axis, innermost first, each choosing the loop its
    axis splits while earlier axes keep their choices and later ones stay
    unused. It is not guaranteed optimal; `search=exact` is.

    Memory is a constraint, as in Alpa: the per-device bytes of state,
    weights (counted once per consumer) and live activations under the
    chosen shardings must fit `memory-fraction` of the device's memory.
    The rows are added lazily: when the solution overfills a device at some
    program point, rows at the (up to eight) points where the most bytes
    are live and at that point join the program, which is solved again (at
    most eight rounds).

    With `stages` = S > 1 the function is one micro-batch's step of a
    pipeline that bb-pipeline-stages will cut into S stages over meshes like
    this one, run 1F1B over `microbatches` = M micro-batches. @train_step
    is cut as bb-pipeline-stages cuts it, and each stage s gets its own
    rows: its state (and the states it reads), its weights, its gradient
    buffers (live through the step), its values live at the point, and
    min(S - s, M) - 1 more copies of its stash (the micro-batches in
    flight); each round adds the rows of the most overfilled stage. With
    `plan-stage` = s only stage s's rows must fit (its mesh is this one;
    the other stages are planned on theirs, `bb-auto-shard-stages`), and
    `stage-devices` weighs the cut as that pass does. The
    plan gets each stage's figures (`pipeline_stage_*_bytes`). Other
    functions (@eval_step) count 1/S of the state and weights and
    min(S, M)/S of the live activations. The
    objective weighs the per-step work (what lies downstream of a gradient:
    its reduction, the global norm, the optimizer update and the state's
    way back into its layout) 1/M against one micro-batch's forward and
    backward, as the pipeline runs it once per M micro-batches.

    The result is written for `bb-spmdize`: `mesh.mesh @mesh`, `bb.strategy`
    on each op, `bb.sharding` on sharded arguments; the module gets
    `bb.plan` (predicted compute and communication seconds, per-device
    state bytes, the solver's status).

    `pin-batch` = k pins every model input and label (arguments without
    `bb.state`) to be split along dimension 0 over mesh axis k (data
    parallelism over that axis; the search fills in the rest). `zero` makes
    each optimizer-state argument split over the pinned axis (ZeRO: each
    process keeps and updates a slice of the optimizer state).
  }];
  let options = [
    Option<"cluster", "cluster", "std::string", "\"cpu:2\"",
           "Cluster preset NAME:COUNT or .textproto file">,
    Option<"meshShape", "mesh", "std::string", "\"\"",
           "Mesh shape, e.g. 2x4; auto: try every (devices / k) x k, k "
           "dividing a host's devices, keep the fastest (default: hosts x "
           "devices per host, or one axis over the devices of one host)">,
    Option<"pinBatch", "pin-batch", "int64_t", "-1",
           "Split inputs' dimension 0 over this mesh axis (-1: free)">,
    Option<"shardPins", "shard", "std::string", "\"\"",
           "Pinned layouts: NAME=[[axes], ...] separated by ';' (inputs, "
           "parameters and optimizer state by name, weights by ONNX name)">,
    Option<"zero", "zero", "bool", "false",
           "Split optimizer state over the pinned batch axis">,
    Option<"timeLimit", "time-limit", "double", "60.0",
           "Seconds the solver may take before returning its best plan">,
    Option<"search", "search", "std::string", "\"axiswise\"",
           "exact (one program over all mesh axes) or axiswise (one mesh "
           "axis at a time, innermost first)">,
    Option<"memoryFraction", "memory-fraction", "double", "0.9",
           "Share of each device's memory the plan may use (0: no limit)">,
    Option<"stages", "stages", "int64_t", "1",
           "Pipeline stages the planned step will be cut into (each holds "
           "about 1/stages of the state; the first stage keeps "
           "min(stages, microbatches) micro-batches' activations)">,
    ListOption<"stageReplicas", "stage-replicas", "int64_t",
               "With stages: the devices of each stage, replicas running "
               "every r-th micro-batch whole (bb-pipeline-stages' replicas): "
               "the cut balances each stage's cost over its replicas and a "
               "replica keeps min(stages - stage, microbatches / r) "
               "micro-batches' activations">,
    ListOption<"stageDevices", "stage-devices", "int64_t",
               "With stages and without stage-replicas: the devices of "
               "each stage's own mesh (bb-auto-shard-stages): the cut "
               "balances each stage's cost over them">,
    Option<"firstDevice", "first-device", "int64_t", "0",
           "The cluster device the mesh starts at (a pipeline stage's mesh "
           "of its own, bb-auto-shard-stages: its links are priced where "
           "it lies)">,
    Option<"planStage", "plan-stage", "int64_t", "-1",
           "With stages: plan for stage s alone (bb-auto-shard-stages: "
           "each stage on its own mesh): only its memory rows must fit "
           "(-1: every stage's)">,
    Option<"microbatches", "microbatches", "int64_t", "1",
           "Micro-batches per step: the per-step work (downstream of the "
           "gradients) weighs 1/microbatches against one micro-batch's "
           "forward and backward">,
    Option<"refine", "refine", "bool", "true",
           "axiswise: after the rounds, re-solve each axis with the others "
           "kept while the step gets cheaper">,
    Option<"pruneAbove", "prune-above", "double", "0.0",
           "Give up on @train_step (error `pruned`) once its plan needs "
           "memory rows and its step is shown to be above this many "
           "seconds: microbatches / stages times the objective of the last "
           "solve, a lower bound on the pipelined step (0: never)">,
  ];
  let dependentDialects = ["::mlir::mesh::MeshDialect"];
}

def AutoShardStages : Pass<"bb-auto-shard-stages", "ModuleOp"> {
  let summary = "Plan each pipeline stage on a mesh of its own (Alpa's sub-meshes)";
  let description = [{
    Plans one micro-batch's `@train_step` of a pipeline whose S stages run
    on meshes of different shapes (`stage-meshes`, one per stage, e.g.
    `1x4,1x2`: stage 0 on four devices, stage 1 on the next two; `2x4`: a
    micro-batch split over 2 with `pin-batch`, tensor parallelism over 4),
    as Alpa's inter-op pass places stages on sub-meshes.

    The step is cut as `bb-pipeline-stages` cuts it, each stage's cost
    divided by its mesh's devices (so a stage on more devices takes more
    blocks). Then, for each stage s, `bb-auto-shard` plans a copy of the
    module on stage s's mesh (`plan-stage` = s: only that stage's memory
    must fit), and the module takes from that copy the strategies of stage
    s's ops and the layouts of the states stage s owns (StageCut.h's
    placement). A state or input that several stages read (a tied
    embedding, the loss scale) has one layout in the binary, so every copy
    plans it replicated.

    The result is a plan for `bb-pipeline-stages` with keep-sharding: one
    `mesh.mesh @stage<s>` per stage, the states' `bb.sharding` on their
    owner's mesh, and `bb.plan` whose per-stage figures
    (`pipeline_stage_*`) are each stage's from its own copy, with the
    meshes (`pipeline_stage_meshes`). `@eval_step` is dropped (a pipelined
    binary evaluates with the stages' forward functions).
  }];
  let options = [
    Option<"cluster", "cluster", "std::string", "\"cpu:2\"",
           "Cluster preset NAME:COUNT or .textproto file">,
    ListOption<"stageMeshes", "stage-meshes", "std::string",
               "Each stage's mesh shape, e.g. 1x4,1x2 (at least two)">,
    Option<"microbatches", "microbatches", "int64_t", "1",
           "Micro-batches per step (see bb-auto-shard)">,
    Option<"pinBatch", "pin-batch", "bool", "false",
           "Split each stage's inputs and labels along dimension 0 over its "
           "mesh's axis 0 where that axis has several devices (data "
           "parallelism inside the stage)">,
    Option<"shardPins", "shard", "std::string", "\"\"",
           "Pinned layouts, as bb-auto-shard's shard option">,
    Option<"timeLimit", "time-limit", "double", "60.0",
           "Seconds each stage's solver may take">,
    Option<"refine", "refine", "bool", "true",
           "bb-auto-shard's refine option">,
  ];
  let dependentDialects = ["::mlir::mesh::MeshDialect"];
}

#endif // BB_PASSES_SHARDING_PASSES_TD
