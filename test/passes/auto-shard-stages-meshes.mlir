// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard-stages="cluster=cpu:3 stage-meshes=1x2,1x1 microbatches=4" | FileCheck %s --check-prefix=PLAN
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard-stages="cluster=cpu:3 stage-meshes=1x2,1x1 microbatches=4" --bb-pipeline-stages="stages=2 microbatches=4 keep-sharding=true" | FileCheck %s --check-prefix=STAGES
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard-stages="cluster=cpu:3 stage-meshes=1x2,1x1 microbatches=4" --bb-pipeline-stages="stages=2 microbatches=4 keep-sharding=true" --bb-spmdize | FileCheck %s --check-prefix=SPMD
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard-stages="cluster=cpu:3 stage-meshes=1x1,1x2 microbatches=4" --bb-pipeline-stages="stages=2 microbatches=4 keep-sharding=true" --bb-spmdize | FileCheck %s --check-prefix=REVERSE
// RUN: not bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --bb-auto-shard-stages="cluster=cpu:3 stage-meshes=1x3" 2>&1 | FileCheck %s --check-prefix=ONE
// RUN: not bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --bb-auto-shard-stages="cluster=cpu:3 stage-meshes=1x2,1y1" 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --bb-auto-shard-stages="cluster=cpu:3 stage-meshes=1x2,1x1,1x1" 2>&1 | FileCheck %s --check-prefix=BLOCKS

// Two blocks, each a stage on a mesh of its own (Alpa's sub-meshes): block
// a on two devices, block b on the third. Each stage is planned on its own
// mesh (a copy of the step per stage) and its ops and states take that
// plan: a's on @stage0, b's on @stage1.
// PLAN: pipeline_stage_meshes = ["1x2", "1x1"]
// PLAN: mesh.mesh @stage0(shape = 1x2)
// PLAN: mesh.mesh @stage1(shape = 1x1)
// PLAN-NOT: @eval_step
// PLAN: bb.name = "W#momentum", bb.sharding = #mesh.shard<@stage0, {{\[\[1\]\]}}>
// PLAN: bb.matmul %arg0, %arg2 {bb.strategy = array<i64: -1, 0>} : tensor<64x8x32xf32>, tensor<32x32xf32>

// Each stage's functions are on their stage's mesh. The crossing between
// the two meshes goes whole (xfer0, xfer1: no sharding), while a stash
// stays the stage's block.
// STAGES-LABEL: func.func @stage0_forward(
// STAGES-SAME: -> (tensor<64x8x32xf32> {bb.name = "xfer0", bb.role = "send"}, tensor<64x8x32xf32> {bb.name = "stash2", bb.role = "stash", bb.sharding = #mesh.shard<@stage0, {{\[\[1\]\]}}>})
// STAGES-SAME: attributes {bb.mesh = @stage0}
// STAGES-LABEL: func.func @stage1_forward(
// STAGES-SAME: %arg0: tensor<64x8x32xf32> {bb.name = "xfer0", bb.role = "recv"}
// STAGES-SAME: attributes {bb.mesh = @stage1}
// STAGES-LABEL: func.func @stage0_update(
// STAGES-SAME: attributes {bb.mesh = @stage0}

// Partitioned over each function's own mesh: stage 0 gathers its block of
// the crossing before sending it whole.
// SPMD-LABEL: func.func @stage0_forward(
// SPMD: mesh.all_gather %{{.*}} on @stage0 mesh_axes = [1] gather_axis = 0 : tensor<32x8x32xf32> -> tensor<64x8x32xf32>
// SPMD-LABEL: func.func @stage0_gradsq(
// SPMD: mesh.reduce_scatter %arg0 on @stage0 mesh_axes = [1] scatter_axis = 0 : tensor<32x32xf32> -> tensor<16x32xf32>

// The other way round (1x1, then 1x2): the first stage sends the
// crossing whole and each rank of the second receives the block its first
// consumer wants (the driver cuts it), here half the batch.
// REVERSE-LABEL: func.func @stage1_forward(
// REVERSE-SAME: %arg0: tensor<32x8x32xf32> {bb.name = "xfer0", bb.role = "recv", bb.sharding = #mesh.shard<@stage1, {{\[\[1\]\]}}>}

// ONE: error: bb-auto-shard-stages: stage-meshes needs two or more meshes of the same number of axes
// SHAPE: error: bb-auto-shard-stages: stage-meshes: '1y1' is not a mesh shape such as 1x4
// BLOCKS: error: bb-auto-shard-stages: the model has 2 blocks (layers and their halves, from its ONNX node names), fewer than the 3 pipeline stages

func.func @forward(%x: tensor<64x8x32xf32> {bb.name = "x"}) -> (tensor<64x8x32xf32> {bb.name = "y"}) {
  %w = bb.constant {bb.name = "W"} dense<0.05> : tensor<32x32xf32> loc("W")
  %b = bb.constant {bb.name = "B"} dense<0.1> : tensor<32xf32> loc("B")
  %v = bb.constant {bb.name = "V"} dense<0.025> : tensor<32x32xf32> loc("V")
  %h = bb.matmul %x, %w : tensor<64x8x32xf32>, tensor<32x32xf32> -> tensor<64x8x32xf32> loc("/a/MatMul")
  %hb = bb.add %h, %b : tensor<64x8x32xf32>, tensor<32xf32> -> tensor<64x8x32xf32> loc("/a/Add")
  %t = bb.tanh %hb : tensor<64x8x32xf32> loc("/a/Tanh")
  %y = bb.matmul %t, %v : tensor<64x8x32xf32>, tensor<32x32xf32> -> tensor<64x8x32xf32> loc("/b/MatMul")
  return %y : tensor<64x8x32xf32>
}
