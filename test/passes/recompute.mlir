// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step=optimizer=sgd --canonicalize --cse --bb-recompute --canonicalize --cse | FileCheck %s
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step=optimizer=sgd --canonicalize --cse | FileCheck %s --check-prefix=NONE

// Two blocks (h.0, h.1) with a residual connection around h.1. With
// recomputation each block's backward reads copies of its forward ops,
// computed just before it from the block's inputs behind a barrier; the
// originals' results are then only read by the forward pass and the stored
// block inputs (x, and h.0's output %b). The cleanup after the pass (CSE)
// leaves the copies apart from the originals.
func.func @forward(%x: tensor<2x4xf32> {bb.name = "x"}) -> (tensor<2x4xf32> {bb.name = "y"}) {
  %w0 = bb.constant {bb.name = "W0"} dense<0.5> : tensor<4x4xf32> loc("W0")
  %w1 = bb.constant {bb.name = "W1"} dense<0.25> : tensor<4x4xf32> loc("W1")
  %a = bb.matmul %x, %w0 : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32> loc("/h.0/fc/MatMul")
  %b = bb.tanh %a : tensor<2x4xf32> loc("/h.0/act/Tanh")
  %c = bb.matmul %b, %w1 : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32> loc("/h.1/fc/MatMul")
  %d = bb.tanh %c : tensor<2x4xf32> loc("/h.1/act/Tanh")
  %y = bb.add %d, %b : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32> loc("/h.1/res/Add")
  return %y : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @train_step(
// The forward pass, once.
// CHECK: %[[A:.*]] = bb.matmul %arg0, %[[W0:arg[0-9]+]]
// CHECK: %[[B:.*]] = bb.tanh %[[A]]
// CHECK: %[[C:.*]] = bb.matmul %[[B]], %[[W1:arg[0-9]+]]
// CHECK: %[[D:.*]] = bb.tanh %[[C]]
// CHECK: bb.add %[[D]], %[[B]]
// h.1 again, from its input behind a barrier, before its backward ops.
// CHECK: %[[BB:.*]] = bb.recompute_barrier %[[B]] : tensor<2x4xf32>
// CHECK: %[[C2:.*]] = bb.matmul %[[BB]], %[[W1]] {bb.recomputed}
// CHECK: %[[D2:.*]] = bb.tanh %[[C2]]
// CHECK-NOT: %[[D]]
// CHECK: bb.mul %[[D2]], %[[D2]]
// The weight's gradient reads the stored input itself.
// CHECK: bb.matmul %[[B]], %{{.*}} {transpose_lhs}
// h.0 again, from the data input.
// CHECK: %[[XB:.*]] = bb.recompute_barrier %arg0 : tensor<2x4xf32>
// CHECK: %[[A2:.*]] = bb.matmul %[[XB]], %[[W0]]
// CHECK: %[[B2:.*]] = bb.tanh %[[A2]]
// CHECK: bb.mul %[[B2]], %[[B2]]
// CHECK: bb.matmul %arg0, %{{.*}} {transpose_lhs}
// CHECK: bb.sgd_update
// CHECK-LABEL: func.func @eval_step(
// CHECK-NOT: recompute_barrier

// Without the pass the backward reads the forward values.
// NONE-LABEL: func.func @train_step(
// NONE: %[[B:.*]] = bb.tanh
// NONE: %[[D:.*]] = bb.tanh
// NONE-NOT: bb.recompute_barrier
// NONE: bb.mul %[[D]], %[[D]]
// NONE: bb.mul %[[B]], %[[B]]
