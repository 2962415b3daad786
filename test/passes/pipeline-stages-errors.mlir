// RUN: not bb-opt %s --bb-pipeline-stages 2>&1 | FileCheck %s --check-prefix=NOTRAIN
// RUN: not bb-opt %s --bb-autodiff="loss=mse" --bb-train-step --bb-pipeline-stages="stages=3" 2>&1 | FileCheck %s --check-prefix=BLOCKS
// RUN: not bb-opt %s --bb-autodiff="loss=mse" --bb-train-step --bb-pipeline-stages="stages=1" 2>&1 | FileCheck %s --check-prefix=ONE
// Without the ONNX node names (IR printed without its locations) there are
// no blocks: an error, not a crash (until 2026-12-08 the per-block state
// figures indexed the empty block list).
// RUN: bb-opt %s --bb-autodiff="loss=mse" --bb-train-step | not bb-opt --bb-pipeline-stages="stages=2" 2>&1 | FileCheck %s --check-prefix=UNNAMED
// RUN: not bb-opt %s --bb-autodiff="loss=mse" --bb-train-step --bb-pipeline-stages="stages=2 microbatches=4 replicas=3,1" 2>&1 | FileCheck %s --check-prefix=REPLICAS
// RUN: not bb-opt %s --bb-autodiff="loss=mse" --bb-train-step --bb-pipeline-stages="stages=2 microbatches=4 replicas=2" 2>&1 | FileCheck %s --check-prefix=REPLICAS
// RUN: not bb-opt %s --bb-autodiff="loss=mse" --bb-train-step --bb-pipeline-stages="stages=2 microbatches=4 data-parallel=2 replicas=2,2" 2>&1 | FileCheck %s --check-prefix=REPLICAS

// NOTRAIN: error: bb-pipeline-stages: needs the @train_step that bb-train-step builds
// BLOCKS: error: bb-pipeline-stages: the model has 2 blocks (layers and their halves, from its ONNX node names), fewer than the 3 pipeline stages
// UNNAMED: error: bb-pipeline-stages: the model has 0 blocks (layers and their halves, from its ONNX node names), fewer than the 2 pipeline stages
// ONE: error: bb-pipeline-stages: needs stages >= 2, microbatches >= 1 and data-parallel >= 1
// REPLICAS: error: bb-pipeline-stages: replicas needs one count per stage, each dividing microbatches, with data-parallel = 1

func.func @forward(%x: tensor<2x3xf32> {bb.name = "x"}) -> (tensor<2x3xf32> {bb.name = "y"}) {
  %w = bb.constant {bb.name = "W"} dense<0.5> : tensor<2x3xf32> loc("W")
  %h = bb.mul %x, %w : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32> loc("/a/Mul")
  %y = bb.tanh %h : tensor<2x3xf32> loc("/b/Tanh")
  return %y : tensor<2x3xf32>
}
