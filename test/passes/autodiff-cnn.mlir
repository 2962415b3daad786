// RUN: bb-opt %s -split-input-file --bb-autodiff="loss=mse" | FileCheck %s
// RUN: bb-opt %s -split-input-file --bb-autodiff="loss=mse" --bb-train-step="optimizer=sgd" | FileCheck %s --check-prefix=TRAIN

// Convolution: the input gradient (here of the first conv's output, on the
// way to its weight) and the weight gradients are ops of their own, the bias
// gradient sums over images and positions; the window attributes carry over.
// CHECK-LABEL: func.func @forward
// CHECK: %[[Y1:.*]] = bb.conv %arg0, %[[W1:[0-9]+]]
// CHECK: %[[Y2:.*]] = bb.conv %[[Y1]], %[[W2:[0-9]+]], %[[B2:[0-9]+]]
// CHECK-DAG: %[[GW2:.*]] = bb.conv_weight_grad %[[Y1]], %[[G:[0-9]+]] {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x4x8x8xf32>, tensor<2x6x4x4xf32>) -> tensor<6x2x3x3xf32>
// CHECK-DAG: %[[GB2:.*]] = bb.reduce_sum %[[G]] {axes = array<i64: 0, 2, 3>} : tensor<2x6x4x4xf32> -> tensor<6xf32>
// CHECK-DAG: %[[GY1:.*]] = bb.conv_input_grad %[[G]], %[[W2]] {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x6x4x4xf32>, tensor<6x2x3x3xf32>) -> tensor<2x4x8x8xf32>
// CHECK: %[[GW1:.*]] = bb.conv_weight_grad %arg0, %[[GY1]] {dilations = array<i64: 2, 2>, pads = array<i64: 2, 2, 2, 2>, strides = array<i64: 1, 1>} : (tensor<2x3x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<4x3x3x3xf32>
// CHECK-NOT: bb.conv_input_grad
// CHECK: return %{{.*}}, %[[GW1]], %[[GW2]], %[[GB2]]
func.func @forward(%x: tensor<2x3x8x8xf32> {bb.name = "x"}) -> (tensor<2x6x4x4xf32> {bb.name = "y"}) {
  %w1 = bb.constant {bb.name = "w1"} dense<0.5> : tensor<4x3x3x3xf32>
  %w2 = bb.constant {bb.name = "w2"} dense<0.25> : tensor<6x2x3x3xf32>
  %b2 = bb.constant {bb.name = "b2"} dense<0.1> : tensor<6xf32>
  %y1 = bb.conv %x, %w1 {strides = array<i64: 1, 1>, pads = array<i64: 2, 2, 2, 2>, dilations = array<i64: 2, 2>}
      : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32>
  %y2 = bb.conv %y1, %w2, %b2 {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64}
      : (tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<2x6x4x4xf32>
  return %y2 : tensor<2x6x4x4xf32>
}

// -----

// Inference batch norm: gradients for the input and for scale and bias; the
// running statistics are buffers, whose gradient outputs are zeros, and
// bb-train-step trains neither (no state, no update), only scale and bias.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: -> (tensor<f32> {bb.name = "loss"}, tensor<3xf32> {bb.name = "grad:scale"}, tensor<3xf32> {bb.name = "grad:bias"}, tensor<3xf32> {bb.name = "grad:mean"}, tensor<3xf32> {bb.name = "grad:var"})
// CHECK: %[[EPS:.*]] = bb.constant dense<1.000000e-03> : tensor<f32>
// CHECK: %[[VE:.*]] = bb.add %[[VAR:[0-9]+]], %[[EPS]]
// CHECK: %[[SQ:.*]] = bb.sqrt %[[VE]]
// CHECK: %[[RSTD:.*]] = bb.div %{{.*}}, %[[SQ]]
// CHECK: %[[M:.*]] = bb.reshape %[[MEAN:[0-9]+]] : tensor<3xf32> -> tensor<3x1x1xf32>
// CHECK: %[[XC:.*]] = bb.sub %arg0, %[[M]] : tensor<2x3x4x4xf32>, tensor<3x1x1xf32> -> tensor<2x3x4x4xf32>
// CHECK: %[[S:.*]] = bb.reduce_sum %{{.*}} {axes = array<i64: 0, 2, 3>} : tensor<2x3x4x4xf32> -> tensor<3xf32>
// CHECK: %[[GS:.*]] = bb.mul %[[S]], %[[RSTD]] : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
// CHECK: %[[GB:.*]] = bb.reduce_sum %{{.*}} {axes = array<i64: 0, 2, 3>} : tensor<2x3x4x4xf32> -> tensor<3xf32>
// CHECK: %[[Z1:.*]] = bb.constant dense<0.000000e+00> : tensor<3xf32>
// CHECK: %[[Z2:.*]] = bb.constant dense<0.000000e+00> : tensor<3xf32>
// CHECK: return %{{.*}}, %[[GS]], %[[GB]], %[[Z1]], %[[Z2]]
// TRAIN-LABEL: func.func @train_step(%arg0: tensor<2x3x4x4xf32>
// TRAIN-NOT: "mean"
// TRAIN-SAME: bb.name = "scale", bb.state = "param"}
// TRAIN-SAME: bb.name = "bias", bb.state = "param"}
// TRAIN-SAME: {bb.name = "lr", bb.role = "lr"}, %arg5: tensor<3xf32> {bb.name = "scale#momentum", bb.state = "optimizer"}, %arg6: tensor<3xf32> {bb.name = "bias#momentum", bb.state = "optimizer"}) -> (
// TRAIN-NEXT: bb.constant {bb.name = "mean"}
// TRAIN-NEXT: bb.constant {bb.name = "var"}
// TRAIN-COUNT-2: bb.sgd_update
// TRAIN-NEXT: return
func.func @forward(%x: tensor<2x3x4x4xf32> {bb.name = "x"}) -> (tensor<2x3x4x4xf32> {bb.name = "y"}) {
  %s = bb.constant {bb.name = "scale"} dense<[1.0, 2.0, 0.5]> : tensor<3xf32>
  %b = bb.constant {bb.name = "bias"} dense<0.1> : tensor<3xf32>
  %m = bb.constant {bb.name = "mean"} dense<[0.1, -0.2, 0.3]> : tensor<3xf32>
  %v = bb.constant {bb.name = "var"} dense<[1.0, 0.5, 2.0]> : tensor<3xf32>
  %y = bb.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-03 : f32}
      : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}

// -----

// Pools and slices have gradient ops with the forward op's attributes
// (bb.slice_grad for unit and other strides alike); trilu's gradient is the
// same trilu; scatter_add's is a gather with its indices.
// CHECK-LABEL: func.func @forward
// CHECK: %[[A:.*]] = bb.mul %arg0, %[[W:[0-9]+]]
// CHECK: %[[P:.*]] = bb.max_pool %[[A]]
// CHECK: %[[Q:.*]] = bb.avg_pool %[[P]]
// CHECK: %[[S:.*]] = bb.slice %[[Q]]
// CHECK: %[[T:.*]] = bb.trilu %[[S]]
// CHECK: %[[U:.*]] = bb.scatter_add %arg1, %[[T]]
// CHECK: %[[GT:.*]] = bb.gather %{{.*}}, %arg1 {axis = 1 : i64} : tensor<1x5x2x3xf32>, tensor<2xi64> -> tensor<1x2x2x3xf32>
// CHECK: %[[GS:.*]] = bb.trilu %[[GT]] {k = 1 : i64, upper = true} : tensor<1x2x2x3xf32>
// CHECK: %[[GQ:.*]] = bb.slice_grad %[[GS]] {limits = array<i64: 1, 2, -1, 3>, starts = array<i64: 0, 0, 3, 0>, strides = array<i64: 1, 1, -2, 1>} : tensor<1x2x2x3xf32> -> tensor<1x2x4x3xf32>
// CHECK: %[[GP:.*]] = bb.avg_pool_grad %[[GQ]] {ceil_mode, count_include_pad, kernel_shape = array<i64: 2, 2>, pads = array<i64: 1, 0, 1, 0>, strides = array<i64: 2, 2>} : tensor<1x2x4x3xf32> -> tensor<1x2x6x6xf32>
// CHECK: %[[GA:.*]] = bb.max_pool_grad %[[A]], %[[GP]] {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<1x2x11x11xf32>, tensor<1x2x6x6xf32> -> tensor<1x2x11x11xf32>
// CHECK: bb.mul %[[GA]], %arg0
func.func @forward(%x: tensor<1x2x11x11xf32> {bb.name = "x"}, %i: tensor<2xi64> {bb.name = "i"}) -> (tensor<1x5x2x3xf32> {bb.name = "y"}) {
  %w = bb.constant {bb.name = "w"} dense<0.5> : tensor<1x2x11x11xf32>
  %a = bb.mul %x, %w : tensor<1x2x11x11xf32>, tensor<1x2x11x11xf32> -> tensor<1x2x11x11xf32>
  %p = bb.max_pool %a {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>}
      : tensor<1x2x11x11xf32> -> tensor<1x2x6x6xf32>
  %q = bb.avg_pool %p {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 1, 0, 1, 0>, ceil_mode, count_include_pad}
      : tensor<1x2x6x6xf32> -> tensor<1x2x4x3xf32>
  %s = bb.slice %q {starts = array<i64: 0, 0, 3, 0>, limits = array<i64: 1, 2, -1, 3>, strides = array<i64: 1, 1, -2, 1>}
      : tensor<1x2x4x3xf32> -> tensor<1x2x2x3xf32>
  %t = bb.trilu %s {upper = true, k = 1 : i64} : tensor<1x2x2x3xf32>
  %u = bb.scatter_add %i, %t {axis = 1 : i64} : tensor<2xi64>, tensor<1x2x2x3xf32> -> tensor<1x5x2x3xf32>
  return %u : tensor<1x5x2x3xf32>
}
