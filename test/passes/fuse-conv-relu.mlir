// RUN: bb-opt %s --bb-fuse-conv-relu | FileCheck %s
// RUN: bb-opt %s --bb-optimize-inference | FileCheck %s --check-prefix=PIPE
// RUN: bb-opt %s --bb-fuse-conv-relu --bb-bufferize | FileCheck %s --check-prefix=BUF

// A ReLU of a convolution nothing else reads becomes the convolution's
// relu flag.
// CHECK-LABEL: func.func @fused
// CHECK: %[[C:.*]] = bb.conv %arg0, %arg1, %arg2 {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, relu, strides = array<i64: 1, 1>}
// CHECK-NOT: bb.relu
// CHECK: return %[[C]]
// The kernel call carries it.
// BUF-LABEL: func.func @fused
// BUF: bbrt.kernel "bb.conv" {{{.*}}relu{{.*}}}
// BUF-NOT: "bb.relu"
// BUF-LABEL: func.func @kept
func.func @fused(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3xf32>, %b: tensor<3xf32>) -> tensor<1x3x4x4xf32> {
  %c = bb.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  %y = bb.relu %c : tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}

// Left alone: a convolution read by something else too (its output before
// the ReLU is needed), and a ReLU of something that is not a convolution.
// CHECK-LABEL: func.func @kept
// CHECK: %[[C:.*]] = bb.conv
// CHECK-NOT: relu,
// CHECK: bb.relu %[[C]]
// CHECK: bb.relu %arg0
func.func @kept(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3xf32>) -> (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>, tensor<1x2x4x4xf32>) {
  %c = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x4x4xf32>
  %y = bb.relu %c : tensor<1x3x4x4xf32>
  %z = bb.relu %x : tensor<1x2x4x4xf32>
  return %y, %c, %z : tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>, tensor<1x2x4x4xf32>
}

// In the inference pipeline, batch norm folds into the convolution first,
// then the ReLU joins it: conv, batch norm and ReLU are one kernel.
// PIPE-LABEL: func.func @conv_bn_relu
// PIPE: %[[C:.*]] = bb.conv %arg0, %{{.*}}, %{{.*}} {{{.*}}relu{{.*}}}
// PIPE-NOT: bb.batch_norm
// PIPE-NOT: bb.relu
// PIPE: return %[[C]]
func.func @conv_bn_relu(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = bb.constant dense<[[[[1.0]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  %scale = bb.constant dense<[4.0, 6.0]> : tensor<2xf32>
  %beta = bb.constant dense<[3.0, 1.0]> : tensor<2xf32>
  %mean = bb.constant dense<[0.0, 1.5]> : tensor<2xf32>
  %var = bb.constant dense<[4.0, 9.0]> : tensor<2xf32>
  %c = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32>
  %n = bb.batch_norm %c, %scale, %beta, %mean, %var {epsilon = 0.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %y = bb.relu %n : tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}
