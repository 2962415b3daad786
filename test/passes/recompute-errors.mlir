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

// -----

// A block's backward op (%g, of h.1) before one of the block's inputs (%z,
// computed by h.0 after it): the copy could not be placed before %g.
// CHECK: error: {{.*}}bb-recompute: block 'h.1' is differentiated before one of its inputs is computed
func.func @train_step(%x: tensor<2xf32>) -> (tensor<2xf32> {bb.role = "loss"}, tensor<2xf32>) {
  %a = bb.tanh %x : tensor<2xf32> loc("/h.0/Tanh")
  %b = bb.tanh %a : tensor<2xf32> loc("/h.1/Tanh")
  %g = bb.mul %b, %b : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32> loc("/h.1/Tanh")
  %z = bb.exp %x : tensor<2xf32> loc("/h.0/Exp")
  %c = bb.add %b, %z : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32> loc("/h.1/Add")
  return %c, %g : tensor<2xf32>, tensor<2xf32>
}
