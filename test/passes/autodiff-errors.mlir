// RUN: not bb-opt %s -split-input-file --bb-autodiff="freeze=.*" 2>&1 | FileCheck %s --check-prefix=NOPARAMS
// RUN: not bb-opt %s -split-input-file --bb-autodiff="loss=hinge" 2>&1 | FileCheck %s --check-prefix=LOSS
// RUN: not bb-opt %s -split-input-file --bb-autodiff="loss=mse" 2>&1 | FileCheck %s --check-prefix=NOVJP

// NOPARAMS: bb-autodiff: no trainable parameters (all frozen?)
// LOSS: bb-autodiff: --loss must be cross_entropy or mse, not 'hinge'
// An op on the path from a parameter to the loss without a VJP is named.
// NOVJP: error: bb-autodiff: 'bb.avg_pool_grad' is on the path from the parameters to the loss but has no gradient
func.func @forward(%x: tensor<1x1x2x2xf32> {bb.name = "x"}) -> (tensor<1x1x4x4xf32> {bb.name = "y"}) {
  %w = bb.constant {bb.name = "w"} dense<2.0> : tensor<1x1x2x2xf32>
  %a = bb.mul %x, %w : tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32> -> tensor<1x1x2x2xf32>
  %p = bb.avg_pool_grad %a {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>} : tensor<1x1x2x2xf32> -> tensor<1x1x4x4xf32>
  return %p : tensor<1x1x4x4xf32>
}
