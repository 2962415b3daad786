// RUN: bb-opt %s -split-input-file --bb-fold-batch-norm | FileCheck %s

// eps 0: s = scale / sqrt(var) = [4/2, 6/3] = [2, 2];
// W' = W * s = [2, 6]; b' = (b - mean) * s + beta = [(1-0)*2+3, (2-1.5)*2+1].
// CHECK-LABEL: func.func @fold
// CHECK-DAG: %[[W:.*]] = bb.constant dense<{{\[\[\[\[}}2.000000e+00]]], {{\[\[\[}}6.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK-DAG: %[[B:.*]] = bb.constant dense<[5.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK: %[[C:.*]] = bb.conv %arg0, %[[W]], %[[B]]
// CHECK-NOT: bb.batch_norm
// CHECK: return %[[C]]
func.func @fold(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = bb.constant dense<[[[[1.0]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  %b = bb.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %scale = bb.constant dense<[4.0, 6.0]> : tensor<2xf32>
  %beta = bb.constant dense<[3.0, 1.0]> : tensor<2xf32>
  %mean = bb.constant dense<[0.0, 1.5]> : tensor<2xf32>
  %var = bb.constant dense<[4.0, 9.0]> : tensor<2xf32>
  %c = bb.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %y = bb.batch_norm %c, %scale, %beta, %mean, %var {epsilon = 0.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// A conv with a second user keeps its batch norm.
// CHECK-LABEL: func.func @shared_conv
// CHECK: bb.batch_norm
func.func @shared_conv(%x: tensor<1x1x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %w = bb.constant dense<1.0> : tensor<2x1x1x1xf32>
  %p = bb.constant dense<1.0> : tensor<2xf32>
  %c = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y = bb.batch_norm %c, %p, %p, %p, %p : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y, %c : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// Runtime statistics (a function argument) are not folded.
// CHECK-LABEL: func.func @runtime_stats
// CHECK: bb.batch_norm
func.func @runtime_stats(%x: tensor<1x1x4x4xf32>, %var: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %w = bb.constant dense<1.0> : tensor<2x1x1x1xf32>
  %p = bb.constant dense<1.0> : tensor<2xf32>
  %c = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y = bb.batch_norm %c, %p, %p, %p, %var : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}
