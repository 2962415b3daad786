// RUN: not bb-opt %s --bb-train-step 2>&1 | FileCheck %s --check-prefix=NOGRAD
// RUN: not bb-opt %s --bb-autodiff="loss=mse" --bb-train-step="optimizer=lion" 2>&1 | FileCheck %s --check-prefix=OPT
// RUN: not bb-opt %s --bb-autodiff="loss=mse" --bb-train-step="beta2=1.5" 2>&1 | FileCheck %s --check-prefix=RANGE

// NOGRAD: error: bb-train-step: needs the @forward that bb-autodiff builds
// OPT: error: bb-train-step: --optimizer must be sgd or adamw, not 'lion'
// RANGE: error: bb-train-step: hyperparameters out of range

func.func @forward(%x: tensor<2x3xf32> {bb.name = "x"}) -> (tensor<2x3xf32> {bb.name = "y"}) {
  %w = bb.constant {bb.name = "W"} dense<0.5> : tensor<2x3xf32>
  %y = bb.mul %x, %w : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
