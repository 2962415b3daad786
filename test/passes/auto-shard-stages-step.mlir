// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-link.textproto" | FileCheck %s --check-prefix=TP
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-link.textproto stages=2 microbatches=3" | FileCheck %s --check-prefix=TP
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-link.textproto stages=2 microbatches=4" | FileCheck %s --check-prefix=DP
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-link.textproto stages=2 microbatches=16" | FileCheck %s --check-prefix=DP

// Two 256 x 256 layers on two devices over a 100 MB/s link. Megatron's
// split of the pair (W1 by columns, W2 by rows) all-reduces each
// micro-batch's 128 KiB output; splitting the batch all-reduces the two
// gradients (512 KiB) once per step, after the last micro-batch. As one
// micro-batch's step of a pipeline the gradients' reduction and the update
// weigh 1/microbatches: with 4 or 16 micro-batches the batch split is
// cheaper, with 3 (or unpipelined) the tensor split. (bb-auto-shard once
// weighed the per-step work like a micro-batch's and chose the tensor split
// at 16; until session 16 it also priced the global norm's reads of the
// gradients as reductions of their own, though the pipeline's gradsq
// computes the norm on the gradients reduced for the update, and chose the
// tensor split at 4.)
// The plan's figures are unweighted; the per-step part (the gradients'
// reduction, 2 x 256 KiB over 100 MB/s, and the layout changes around the
// update: some milliseconds) is booked apart for the pipeline's composition.
// DP: bb.plan = {{{.*}}step_communication_intra_host_seconds = {{([1-9]\.[0-9]*e-03|0\.0[1-9][0-9]*)}} : f64
// TP-LABEL: func.func @train_step
// TP: bb.matmul %arg0, %arg2 {bb.strategy = array<i64: 1>}
// DP-LABEL: func.func @train_step
// DP: bb.matmul %arg0, %arg2 {bb.strategy = array<i64: 0>}
func.func @forward(%x: tensor<128x256xf32> {bb.name = "x"}) -> (tensor<128x256xf32> {bb.name = "y"}) {
  %w1 = bb.constant {bb.name = "W1"} dense<0.01> : tensor<256x256xf32>
  %w2 = bb.constant {bb.name = "W2"} dense<0.01> : tensor<256x256xf32>
  %h = bb.matmul %x, %w1 : tensor<128x256xf32>, tensor<256x256xf32> -> tensor<128x256xf32> loc("/layer.1/MatMul")
  %r = bb.relu %h : tensor<128x256xf32> loc("/layer.1/Relu")
  %y = bb.matmul %r, %w2 : tensor<128x256xf32>, tensor<256x256xf32> -> tensor<128x256xf32> loc("/layer.2/MatMul")
  return %y : tensor<128x256xf32>
}
