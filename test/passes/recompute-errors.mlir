// RUN: not bb-opt %s --split-input-file --bb-recompute 2>&1 | FileCheck %s

// CHECK: error: bb-recompute: needs the @train_step that bb-train-step builds
func.func @forward(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}

// -----

// CHECK: error: bb-recompute: @train_step has no loss result (bb.role = "loss")
func.func @train_step(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = bb.tanh %x : tensor<2xf32> loc("/h.0/Tanh")
  return %y : tensor<2xf32>
}

// -----

// CHECK: error: bb-recompute: the model has no blocks (ONNX node names with a layer number, such as /transformer/h.3/...) to recompute
func.func @train_step(%x: tensor<2xf32>) -> (tensor<2xf32> {bb.role = "loss"}) {
  %y = bb.tanh %x : tensor<2xf32> loc("/head/Tanh")
  return %y : tensor<2xf32>
}
