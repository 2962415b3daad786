// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=cpu:2 pin-batch=0 stages=2 microbatches=8" --bb-pipeline-stages="stages=2 microbatches=8 keep-sharding=true" | FileCheck %s
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=cpu:2 pin-batch=0 stages=2 microbatches=8" --bb-pipeline-stages="stages=2 microbatches=8 keep-sharding=true" | bb-opt --bb-spmdize | FileCheck %s --check-prefix=SPMD
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=cpu:2 pin-batch=0 stages=2 microbatches=8" | FileCheck %s --check-prefix=PLAN

// A stage's mesh splits the batch, so each weight's gradient (a product
// summed over the batch with keepdims, then reshaped to the weight's shape)
// is a partial sum on each rank. With 8 micro-batches bb-auto-shard lets
// the partial sums pass through the reshape (a reshape of unit dimensions
// only may, ShardingRules' passesPartial loop) rather than reduce-scatter
// them after every micro-batch: reduced once per step they cost an eighth,
// which outweighs accumulating whole partial sums instead of half blocks.
// (The norm reads the reduced gradients: the plan does not price its reads
// apart. Until it stopped doing so, the same session, 4 micro-batches
// still reduce-scattered W's gradient after each.)
// The backward returns them partial; the driver adds the micro-batches'
// partial sums, and the stage's gradsq function reduces them once per step
// (reduce-scatter where the plan splits the update, W; all-reduce where it
// does not, B) and returns them, reduced,
// for the norm and the update (W's split over either dimension: the two
// cost the same). (The partitioner reads the printed plan back:
// a partial layout of no split prints as [[]], which parses.) Until 2026-12-07 (session 16) every
// micro-batch's backward reduced its gradients, M times a step, while the
// cost model priced the reductions of gradients that reach the update
// without a reshape once.
// PLAN: bb.reshape %{{.*}} {bb.strategy = array<i64: 2>} : tensor<1x32x32xf32> -> tensor<32x32xf32>
// PLAN: bb.reshape %{{.*}} {bb.strategy = array<i64: 1>} : tensor<1x1x32xf32> -> tensor<32xf32>
// CHECK-LABEL: func.func @stage0_backward(
// CHECK-SAME: -> (tensor<32x32xf32> {bb.name = "grad:W", bb.role = "grad", bb.sharding = #mesh.shard<@mesh, {{\[\[\]\]}}, partial = sum[0]>}, tensor<32xf32> {bb.name = "grad:B", bb.role = "grad", bb.sharding = #mesh.shard<@mesh, {{\[\[\]\]}}, partial = sum[0]>})
// CHECK-LABEL: func.func @stage0_update(
// CHECK-SAME: %{{.*}}: tensor<32x32xf32> {bb.name = "grad:W", bb.role = "grad", bb.sharding = #mesh.shard<@mesh, {{\[\[0\]\]|\[\[\], \[0\]\]}}>}
// CHECK-LABEL: func.func @stage0_gradsq(
// CHECK-SAME: %[[W:.*]]: tensor<32x32xf32> {bb.name = "grad:W", bb.role = "grad", bb.sharding = #mesh.shard<@mesh, {{\[\[\]\]}}, partial = sum[0]>}, %[[B:.*]]: tensor<32xf32> {bb.name = "grad:B", bb.role = "grad", bb.sharding = #mesh.shard<@mesh, {{\[\[\]\]}}, partial = sum[0]>})
// CHECK-SAME: -> (tensor<32x32xf32> {bb.name = "grad:W", bb.role = "grad", bb.sharding = #mesh.shard<@mesh, {{\[\[0\]\]|\[\[\], \[0\]\]}}>}, tensor<32xf32> {bb.name = "grad:B", bb.role = "grad"}, tensor<f32> {bb.name = "grad_sumsq", bb.role = "grad_sumsq"})
// CHECK: bb.mul %[[W]], %[[W]]
// CHECK: return %[[W]], %[[B]],

// Partitioned: no collective on a gradient in the backward; one
// reduction per gradient in gradsq, which the norm and the returned
// gradient share.
// SPMD-LABEL: func.func @stage0_backward(
// SPMD-NOT: mesh.{{(all_reduce|reduce_scatter)}}
// SPMD: return
// SPMD-LABEL: func.func @stage1_backward(
// SPMD-NOT: mesh.{{(all_reduce|reduce_scatter)}}
// SPMD: return
// SPMD-LABEL: func.func @stage0_gradsq(
// SPMD: mesh.reduce_scatter %arg0 on @mesh mesh_axes = [0] scatter_axis = {{0 : tensor<32x32xf32> -> tensor<16x32xf32>|1 : tensor<32x32xf32> -> tensor<32x16xf32>}}
// SPMD: mesh.all_reduce %arg1 on @mesh mesh_axes = [0] : tensor<32xf32> -> tensor<32xf32>
// SPMD-NOT: mesh.{{(all_reduce|reduce_scatter)}} %arg
// SPMD: return
// SPMD-SAME: {{tensor<16x32xf32>|tensor<32x16xf32>}}, tensor<32xf32>, tensor<f32>

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
