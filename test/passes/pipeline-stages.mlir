// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd grad-clip=1.0" --canonicalize --bb-pipeline-stages="stages=3 microbatches=4" | FileCheck %s
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-pipeline-stages="stages=2 data-parallel=2" | FileCheck %s --check-prefix=TWO
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=cpu:2 pin-batch=0" --bb-pipeline-stages="stages=3 keep-sharding=true" | FileCheck %s --check-prefix=KEEP
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --bb-mixed-precision=dtype=bf16 --canonicalize --bb-pipeline-stages="stages=3 microbatches=4" | FileCheck %s --check-prefix=COPY
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=adamw loss-scale=1024 loss-scale-window=3" --canonicalize --bb-pipeline-stages="stages=3 microbatches=4 data-parallel=2" | FileCheck %s --check-prefix=SCALED
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=adamw loss-scale=1024 loss-scale-window=3" --canonicalize --bb-pipeline-stages="stages=3 microbatches=4 replicas=1,2,1" | FileCheck %s --check-prefix=REPLICAS

// Three blocks (embed, mid, head; the first component of the node names),
// W tied between the first and the last. With three stages each block is a
// stage. Forward activations cross to the next stage, gradients to the
// previous one; what a stage's backward needs from its forward (computed or
// received) comes through the stash. W's gradient is summed on stage 0,
// which owns W (and its momentum) and updates it; stage 2 reads W and sends
// its share of the gradient to stage 0.
// CHECK: module attributes {bb.attributes = {pipeline.data_parallel = "1", pipeline.gradients = "mean", pipeline.microbatches = "4",
// CHECK-SAME: pipeline.stage0.blocks = "embed", pipeline.stage0.owns = "W,W#momentum", pipeline.stage0.reads = "W",
// CHECK-SAME: pipeline.stage1.blocks = "mid", pipeline.stage1.owns = "V,V#momentum", pipeline.stage1.reads = "V",
// CHECK-SAME: pipeline.stage2.blocks = "head", pipeline.stage2.owns = "", pipeline.stage2.reads = "W", pipeline.stage2.share = "{{.*}}", pipeline.stages = "3"}}
// CHECK: mesh.mesh @pipeline(shape = 3x1)

// CHECK-LABEL: func.func @stage0_forward(
// CHECK-SAME: {bb.name = "x"}
// CHECK-SAME: {bb.init = dense<5.000000e-01> : tensor<4x4xf32>, bb.name = "W", bb.state = "param"})
// CHECK-SAME: -> (tensor<2x4xf32> {bb.name = "[[A:xfer[0-9]+]]", bb.role = "send"}, tensor<2x4xf32> {bb.name = "[[S0:stash[0-9]+]]", bb.role = "stash"})
// CHECK: %[[H:.*]] = bb.matmul %arg0, %arg1
// CHECK: %[[R:.*]] = bb.relu %[[H]]
// CHECK: return %[[R]], %[[H]]

// CHECK-LABEL: func.func @stage1_forward(
// CHECK-SAME: {bb.name = "[[A]]", bb.role = "recv"}
// CHECK-SAME: -> (tensor<2x4xf32> {bb.name = "[[B:xfer[0-9]+]]", bb.role = "send"}, tensor<2x4xf32> {bb.name = "[[S1:stash[0-9]+]]", bb.role = "stash"}, tensor<2x4xf32> {bb.name = "[[S1R:stash[0-9]+]]", bb.role = "stash"})
// CHECK: bb.tanh

// The last stage computes the loss.
// CHECK-LABEL: func.func @stage2_forward(
// CHECK-SAME: {bb.name = "[[B]]", bb.role = "recv"}
// CHECK-SAME: bb.name = "W", bb.state = "param"}
// CHECK-SAME: {bb.name = "labels", bb.role = "labels"}
// CHECK-SAME: {bb.name = "loss", bb.role = "loss"}
// CHECK: bb.matmul %arg0, %arg1 {transpose_rhs}
// CHECK: bb.reduce_mean

// CHECK-LABEL: func.func @stage0_backward(
// CHECK-SAME: {bb.name = "[[S0]]", bb.role = "stash"}
// CHECK-SAME: {bb.name = "[[GA:xfer[0-9]+]]", bb.role = "recv"}
// CHECK-SAME: {bb.name = "x"}
// CHECK-SAME: {bb.name = "[[GW:xfer[0-9]+]]", bb.role = "recv"}
// CHECK-SAME: -> (tensor<4x4xf32> {bb.name = "grad:W", bb.role = "grad"})
// CHECK: %[[G:.*]] = bb.matmul %arg2, %{{.*}} {transpose_lhs}
// CHECK: %[[SUM:.*]] = bb.add %arg3, %[[G]]
// CHECK: return %[[SUM]]

// CHECK-LABEL: func.func @stage1_backward(
// CHECK-SAME: -> (tensor<2x4xf32> {bb.name = "[[GA]]", bb.role = "send"}, tensor<4x4xf32> {bb.name = "grad:V", bb.role = "grad"})

// CHECK-LABEL: func.func @stage2_backward(
// CHECK-SAME: -> (tensor<2x4xf32> {bb.name = "{{xfer[0-9]+}}", bb.role = "send"}, tensor<4x4xf32> {bb.name = "[[GW]]", bb.role = "send"})

// The update: the norm from the sum of squares over all stages, clipping,
// and the optimizer step of the parameters the stage owns, in place.
// CHECK-LABEL: func.func @stage0_update(
// CHECK-SAME: %arg0: tensor<4x4xf32> {bb.name = "grad:W", bb.role = "grad"}, %arg1: tensor<f32> {bb.name = "grad_sumsq", bb.role = "grad_sumsq"}
// CHECK-SAME: %arg2: tensor<4x4xf32> {bb.init = dense<5.000000e-01> : tensor<4x4xf32>, bb.name = "W", bb.state = "param"}, %arg3: tensor<4x4xf32> {bb.name = "W#momentum", bb.state = "optimizer"}, %arg4: tensor<f32> {bb.name = "lr", bb.role = "lr"})
// CHECK-SAME: -> (tensor<f32> {bb.name = "grad_norm", bb.role = "grad_norm"}, tensor<4x4xf32> {bb.name = "W", bb.updates = 2 : i64}, tensor<4x4xf32> {bb.name = "W#momentum", bb.updates = 3 : i64})
// CHECK: %[[NORM:.*]] = bb.sqrt %arg1
// CHECK: %[[SCALE:.*]] = bb.select
// CHECK: bb.sgd_update %arg2, %arg0, %arg3, %arg4, %[[SCALE]]
// CHECK-LABEL: func.func @stage2_update(
// CHECK-SAME: {bb.name = "grad_sumsq", bb.role = "grad_sumsq"}) -> (tensor<f32> {bb.name = "grad_norm", bb.role = "grad_norm"})

// @eval_step stays whole; @train_step is gone.
// CHECK-LABEL: func.func @eval_step(
// CHECK-NOT: @train_step

// Two stages on two replicas: the cut that makes the costlier stage as
// cheap as possible (the share of each stage is recorded; mid's forward and
// backward weigh most, so it goes with the head, not with embed).
// TWO: pipeline.data_parallel = "2"
// TWO-SAME: pipeline.stage0.blocks = "embed"
// TWO-SAME: pipeline.stage0.share = "0.287"
// TWO-SAME: pipeline.stage1.blocks = "mid,head"
// TWO-SAME: pipeline.stage1.reads = "V,W", pipeline.stage1.share = "0.713"
// TWO: mesh.mesh @pipeline(shape = 2x2)

// keep-sharding: on a plan for one stage's mesh (2 ranks, batch split), the
// crossings carry their producer's layout on both sides, states keep
// theirs, a gradient the layout its update wants, and the sum of squares
// splits as the gradients; no pipeline mesh is added.
// KEEP: mesh.mesh @mesh(shape = 2)
// KEEP-NOT: mesh.mesh
// KEEP-LABEL: func.func @stage0_forward(
// KEEP-SAME: {bb.name = "[[X:xfer[0-9]+]]", bb.role = "send", bb.sharding = #mesh.shard<@mesh, {{\[\[0\]\]}}>}
// KEEP-LABEL: func.func @stage1_forward(
// KEEP-SAME: {bb.name = "[[X]]", bb.role = "recv", bb.sharding = #mesh.shard<@mesh, {{\[\[0\]\]}}>}
// KEEP-LABEL: func.func @stage0_backward(
// KEEP-SAME: -> (tensor<4x4xf32> {bb.name = "grad:W", bb.role = "grad", bb.sharding = #mesh.shard<@mesh, [[G:.*]]>})
// KEEP-LABEL: func.func @stage0_update(
// KEEP-SAME: {bb.name = "grad:W", bb.role = "grad", bb.sharding = #mesh.shard<@mesh, [[G]]>}
// KEEP-LABEL: func.func @stage0_gradsq(
// KEEP-SAME: {bb.name = "grad:W", bb.role = "grad", bb.sharding = #mesh.shard<@mesh, [[G]]>}) -> (tensor<f32> {bb.name = "grad_sumsq", bb.role = "grad_sumsq"})
// KEEP: bb.mul {{.*}}bb.strategy = array<i64: 0>
// KEEP: bb.reduce_sum {{.*}}bb.strategy = array<i64: 0>

// A weight's bf16 copy is computed from the weight alone: the backward that
// needs it converts the weight again instead of stashing the forward's copy
// per micro-batch (or receiving it, for W on the head's stage).
// COPY-NOT: xbf16> {bb.name = "{{(stash|xfer)}}
// COPY-LABEL: func.func @stage1_backward(
// COPY-SAME: %[[V:arg[0-9]+]]: tensor<4x4xf32> {bb.init = dense<2.500000e-01> : tensor<4x4xf32>, bb.name = "V", bb.state = "param"}
// COPY: %[[VC:.*]] = bb.convert %[[V]] : tensor<4x4xf32> -> tensor<4x4xbf16>
// COPY: bb.matmul %{{.*}}, %[[VC]] {transpose_rhs}
// COPY-LABEL: func.func @stage2_backward(
// COPY-SAME: %[[W:arg[0-9]+]]: tensor<4x4xf32> {bb.init = dense<5.000000e-01> : tensor<4x4xf32>, bb.name = "W", bb.state = "param"}
// COPY: %[[WC:.*]] = bb.convert %[[W]] : tensor<4x4xf32> -> tensor<4x4xbf16>
// COPY: bb.matmul %{{.*}}, %[[WC]] :

// Dynamic loss scaling: each micro-batch's backward starts from its share
// of the batch's loss, scale / (4 micro-batches x 2 replicas), and the
// schedule sums the gradients. The first stage owns the scaler's state and
// AdamW's count and updates them; every stage reads the scale to unscale
// its gradients and returns the scale it used.
// SCALED: pipeline.gradients = "sum"
// SCALED-SAME: pipeline.stage0.owns = "W,W#exp_avg,W#exp_avg_sq,adamw#step,loss_scaler#good_steps,loss_scaler#scale"
// SCALED-SAME: pipeline.stage1.owns = "V,V#exp_avg,V#exp_avg_sq", pipeline.stage1.reads = "V,adamw#step,loss_scaler#scale"
// SCALED-SAME: pipeline.stage2.owns = "", pipeline.stage2.reads = "W,loss_scaler#scale"
// SCALED-LABEL: func.func @stage2_backward(
// SCALED-SAME: %[[S:.*]]: tensor<f32> {bb.init = dense<1.024000e+03> : tensor<f32>, bb.name = "loss_scaler#scale", bb.state = "scalar"}
// SCALED: %[[PARTS:.*]] = bb.constant dense<8.000000e+00>
// SCALED: %[[SEED:.*]] = bb.div %[[S]], %[[PARTS]]
// SCALED: bb.mul %[[SEED]],
// SCALED-LABEL: func.func @stage0_update(
// SCALED-SAME: -> (tensor<f32> {bb.name = "grad_norm", bb.role = "grad_norm"}, {{.*}}, tensor<f32> {bb.name = "loss_scaler#scale", bb.updates = 2 : i64}, tensor<f32> {bb.name = "loss_scaler#good_steps", bb.updates = 8 : i64}, tensor<f32> {bb.name = "adamw#step", bb.updates = 7 : i64}, tensor<f32> {bb.name = "loss_scale", bb.role = "loss_scale"})
// SCALED-LABEL: func.func @stage1_update(
// SCALED-SAME: -> (tensor<f32> {bb.name = "grad_norm", bb.role = "grad_norm"}, tensor<4x4xf32> {bb.name = "V", bb.updates = 3 : i64}, tensor<4x4xf32> {bb.name = "V#exp_avg", bb.updates = 4 : i64}, tensor<4x4xf32> {bb.name = "V#exp_avg_sq", bb.updates = 5 : i64}, tensor<f32> {bb.name = "loss_scale", bb.role = "loss_scale"})
// SCALED: %[[ROOT:.*]] = bb.sqrt
// SCALED: bb.div %[[ROOT]],
// SCALED: %[[T:.*]] = bb.add %{{.*}}, %{{.*}} : tensor<f32>
// SCALED: %[[GS:.*]] = bb.select
// SCALED: bb.adamw_update {{.*}}, %[[T]], %[[GS]]
// SCALED-LABEL: func.func @stage2_update(
// SCALED-SAME: -> (tensor<f32> {bb.name = "grad_norm", bb.role = "grad_norm"}, tensor<f32> {bb.name = "loss_scale", bb.role = "loss_scale"})

func.func @forward(%x: tensor<2x4xf32> {bb.name = "x"}) -> (tensor<2x4xf32> {bb.name = "y"}) {
  %w = bb.constant {bb.name = "W"} dense<0.5> : tensor<4x4xf32> loc("W")
  %v = bb.constant {bb.name = "V"} dense<0.25> : tensor<4x4xf32> loc("V")
  %h = bb.matmul %x, %w : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32> loc("/embed/MatMul")
  %r = bb.relu %h : tensor<2x4xf32> loc("/embed/Relu")
  %h2 = bb.matmul %r, %v : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32> loc("/mid/MatMul")
  %t = bb.tanh %h2 : tensor<2x4xf32> loc("/mid/Tanh")
  %y = bb.matmul %t, %w {transpose_rhs} : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32> loc("/head/MatMul")
  return %y : tensor<2x4xf32>
}

// Stages replicated over unequal device counts: the counts for the driver,
// one mesh axis of their sum, and each micro-batch's backward seeded with
// its share of the step's 4 micro-batches (over all replicas).
// REPLICAS: pipeline.data_parallel = "1", pipeline.gradients = "sum", pipeline.microbatches = "4", pipeline.replicas = "1,2,1"
// REPLICAS: mesh.mesh @pipeline(shape = 4)
// REPLICAS-LABEL: func.func @stage2_backward(
// REPLICAS: bb.constant dense<4.000000e+00>
