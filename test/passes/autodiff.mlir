// RUN: bb-opt %s -split-input-file --bb-autodiff="loss=mse" | FileCheck %s --check-prefix=MSE
// RUN: bb-opt %s -split-input-file --bb-autodiff="loss=cross_entropy labels=targets" | FileCheck %s --check-prefix=CE
// RUN: bb-opt %s -split-input-file --bb-autodiff="loss=mse freeze=^b$" | FileCheck %s --check-prefix=FREEZE

// y = x W + b; with loss=mse the results are the loss, grad W = x^T dy and
// grad b = sum_rows dy,
// where dy = d mean((y - t)^2) / dy. The input x gets no gradient.
// MSE-LABEL: func.func @forward(%arg0: tensor<2x3xf32> {bb.name = "x"}, %arg1: tensor<2x4xf32> {bb.name = "labels"})
// MSE-SAME: -> (tensor<f32> {bb.name = "loss"}, tensor<3x4xf32> {bb.name = "grad:W"}, tensor<4xf32> {bb.name = "grad:b"})
// MSE: %[[Y:.*]] = bb.add
// MSE: %[[D:.*]] = bb.sub %[[Y]], %arg1
// MSE: %[[LOSS:.*]] = bb.reduce_mean
// MSE: %[[GW:.*]] = bb.matmul %arg0, %{{.*}} {transpose_lhs} : tensor<2x3xf32>, tensor<2x4xf32> -> tensor<3x4xf32>
// MSE: return %[[LOSS]], %[[GW]], %{{.*}} : tensor<f32>, tensor<3x4xf32>, tensor<4xf32>

// With cross-entropy the labels are integers of the logits' shape without the last dim.
// CE-LABEL: func.func @forward(%arg0: tensor<2x3xf32> {bb.name = "x"}, %arg1: tensor<2xi64> {bb.name = "targets"})
// CE: %[[L:.*]] = bb.cross_entropy %{{.*}}, %arg1 : tensor<2x4xf32>, tensor<2xi64> -> tensor<f32>
// CE: bb.cross_entropy_grad

// A frozen parameter gets no gradient output.
// FREEZE: -> (tensor<f32> {bb.name = "loss"}, tensor<3x4xf32> {bb.name = "grad:W"})

func.func @forward(%x: tensor<2x3xf32> {bb.name = "x"}) -> (tensor<2x4xf32> {bb.name = "y"}) {
  %w = bb.constant {bb.name = "W"} dense<0.5> : tensor<3x4xf32>
  %b = bb.constant {bb.name = "b"} dense<0.1> : tensor<4xf32>
  %m = bb.matmul %x, %w : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x4xf32>
  %y = bb.add %m, %b : tensor<2x4xf32>, tensor<4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// A shared value's gradients are summed; an op off the parameter path (the
// comparison producing a mask) needs none.
// MSE-LABEL: func.func @forward
// MSE-NOT: bb.compare {{.*}}%arg1
// MSE: bb.select %{{.*}}, %{{.*}}, %{{.*}} : tensor<4xi1>, tensor<4xf32>, tensor<f32>
// MSE: %[[SUM:.*]] = bb.add %{{.*}}, %{{.*}} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
// MSE-NEXT: return %{{.*}}, %[[SUM]]
func.func @forward(%x: tensor<4xf32> {bb.name = "x"}) -> (tensor<4xf32> {bb.name = "y"}) {
  %w = bb.constant {bb.name = "w"} dense<2.0> : tensor<4xf32>
  %zero = bb.constant dense<0.0> : tensor<f32>
  %mask = bb.compare <gt>, %x, %zero : tensor<4xf32>, tensor<f32> -> tensor<4xi1>
  %sq = bb.mul %w, %w : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %y = bb.select %mask, %sq, %x : tensor<4xi1>, tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// bb.attention: one bb.attention_grad from the operands, the forward's
// logsumexp and the output's gradient; the mask gets none.
// MSE-LABEL: func.func @forward
// MSE: %[[O:.*]], %[[L:.*]] = bb.attention %[[Q:.*]], %[[K:.*]], %[[V:.*]] mask %[[M:[^ ]*]] {scale = 5.000000e-01 : f32}
// MSE: %[[DQ:.*]], %{{.*}}, %{{.*}} = bb.attention_grad %[[Q]], %[[K]], %[[V]], %[[L]], %{{.*}} mask %[[M]] {scale = 5.000000e-01 : f32}
// MSE: bb.mul %[[DQ]], %{{.*}}
func.func @forward(%x: tensor<2x4x8xf32> {bb.name = "x"}, %m: tensor<4x4xi1> {bb.name = "m"}) -> (tensor<2x4x8xf32> {bb.name = "y"}) {
  %w = bb.constant {bb.name = "w"} dense<2.0> : tensor<8xf32>
  %q = bb.mul %x, %w : tensor<2x4x8xf32>, tensor<8xf32> -> tensor<2x4x8xf32>
  %o, %l = bb.attention %q, %x, %x mask %m {scale = 0.5 : f32}
      : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32> mask tensor<4x4xi1> -> tensor<2x4x8xf32>, tensor<2x4xf32>
  return %o : tensor<2x4x8xf32>
}

// -----

// A trained bias of bb.attention (here a parameter broadcast over the batch)
// gets the scores' gradient summed over the dimensions it broadcasts along.
// MSE-LABEL: func.func @forward
// MSE: %{{.*}}, %{{.*}}, %{{.*}}, %[[DB:.*]] = bb.attention_grad {{.*}} bias %{{.*}} {with_bias_grad}
// MSE: bb.reduce_sum %[[DB]] {axes = array<i64: 0>, keepdims} : tensor<2x4x4xf32> -> tensor<1x4x4xf32>
func.func @forward(%x: tensor<2x4x8xf32> {bb.name = "x"}) -> (tensor<2x4x8xf32> {bb.name = "y"}) {
  %b = bb.constant {bb.name = "pos_bias"} dense<0.5> : tensor<1x4x4xf32>
  %o, %l = bb.attention %x, %x, %x bias %b
      : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32> bias tensor<1x4x4xf32> -> tensor<2x4x8xf32>, tensor<2x4xf32>
  return %o : tensor<2x4x8xf32>
}

// -----

// bb.layer_norm: one bb.layer_norm_grad gives the input's, the scale's and
// the bias's gradients.
// MSE-LABEL: func.func @forward
// MSE: %{{.*}}, %[[GS:.*]], %[[GB:.*]] = bb.layer_norm_grad %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x3x8xf32>, tensor<8xf32>, tensor<2x3x8xf32>) -> (tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>)
// MSE: return %{{.*}}, %[[GS]], %[[GB]]
func.func @forward(%x: tensor<2x3x8xf32> {bb.name = "x"}) -> (tensor<2x3x8xf32> {bb.name = "y"}) {
  %g = bb.constant {bb.name = "ln.weight"} dense<1.5> : tensor<8xf32>
  %b = bb.constant {bb.name = "ln.bias"} dense<0.5> : tensor<8xf32>
  %y = bb.layer_norm %x, %g, %b {axis = -1 : i64, epsilon = 1.0e-05 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}
