// RUN: bb-opt %s --bbrt-to-emitc | mlir-translate --mlir-to-cpp | FileCheck %s

// A training program: two entry points sharing state, roles on inputs and
// outputs, an in-place optimizer update, and the module's attributes.
// CHECK: void bb_train_step(bbrt::Context* [[CTX:v[0-9]+]]) {
// CHECK: void* [[P:v[0-9]+]] = bbrt::state([[CTX]], 0);
// CHECK: void* [[M:v[0-9]+]] = bbrt::state([[CTX]], 1);
// CHECK: bbrt::Tensor [[PT:v[0-9]+]] = bbrt::Tensor([[P]], bbrt::DType::F32, {4});
// CHECK: bbrt::Tensor [[MT:v[0-9]+]] = bbrt::Tensor([[M]], bbrt::DType::F32, {4});
// CHECK: bbrt::sgdUpdate([[PT]], {{v[0-9]+}}, [[MT]], {{v[0-9]+}}, {{v[0-9]+}}, [[PT]], [[MT]], 8.999999760e-01f, 0.0e+00f, false);
// CHECK: void bb_eval_step(bbrt::Context* {{v[0-9]+}}) {
// CHECK: bbrt::state({{v[0-9]+}}, 0);
// CHECK: void bb_describe(bbrt::ModelInfo* [[INFO:v[0-9]+]]) {
// CHECK-NEXT: bbrt::setModelName([[INFO]], "t.onnx");
// CHECK-NEXT: bbrt::addWeight([[INFO]], "const0", bbrt::DType::F32, {});
// CHECK-NEXT: bbrt::addState([[INFO]], "w", bbrt::DType::F32, {4}, true);
// CHECK-NEXT: bbrt::addState([[INFO]], "w#momentum", bbrt::DType::F32, {4}, false);
// CHECK-NEXT: bbrt::addFunction([[INFO]], "train_step", bb_train_step);
// CHECK-NEXT: bbrt::addInput([[INFO]], "g", bbrt::DType::F32, {4}, 0, "");
// CHECK-NEXT: bbrt::addInput([[INFO]], "lr", bbrt::DType::F32, {}, 64, "lr");
// CHECK-NEXT: bbrt::addOutput([[INFO]], "loss", bbrt::DType::F32, {}, 128, "loss");
// CHECK-NEXT: bbrt::setArenaSize([[INFO]], 256);
// CHECK-NEXT: bbrt::addFunction([[INFO]], "eval_step", bb_eval_step);
// CHECK-NEXT: bbrt::addOutput([[INFO]], "loss", bbrt::DType::F32, {}, 0, "loss");
// CHECK-NEXT: bbrt::setArenaSize([[INFO]], 64);
// CHECK-NEXT: bbrt::setAttribute([[INFO]], "train.optimizer", "sgd");
module attributes {bb.source = "t.onnx", bb.attributes = {"train.optimizer" = "sgd"}} {
  func.func @train_step() attributes {bbrt.arena_size = 256 : i64} {
    %p = bbrt.state 0 "w" {init = dense<1.0> : tensor<4xf32>} : memref<4xf32>
    %m = bbrt.state 1 "w#momentum" : memref<4xf32>
    %g = bbrt.input 0 "g" {offset = 0 : i64} : memref<4xf32>
    %lr = bbrt.input 1 "lr" {offset = 64 : i64, role = "lr"} : memref<f32>
    %one = bbrt.weight 0 "const0" dense<1.0> : tensor<f32> -> memref<f32>
    bbrt.kernel "bb.sgd_update" {momentum = 0.9 : f32} ins(%p, %g, %m, %lr, %one : memref<4xf32>, memref<4xf32>, memref<4xf32>, memref<f32>, memref<f32>) outs(%p, %m : memref<4xf32>, memref<4xf32>)
    %loss = bbrt.arena 128 : memref<f32>
    bbrt.kernel "bb.reduce_sum" {axes = array<i64: 0>} ins(%p : memref<4xf32>) outs(%loss : memref<f32>)
    bbrt.output 0 "loss" %loss {role = "loss"} : memref<f32>
    return
  }
  func.func @eval_step() attributes {bbrt.arena_size = 64 : i64} {
    %p = bbrt.state 0 "w" {init = dense<1.0> : tensor<4xf32>} : memref<4xf32>
    %loss = bbrt.arena 0 : memref<f32>
    bbrt.kernel "bb.reduce_sum" {axes = array<i64: 0>} ins(%p : memref<4xf32>) outs(%loss : memref<f32>)
    bbrt.output 0 "loss" %loss {role = "loss"} : memref<f32>
    return
  }
}
