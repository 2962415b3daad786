// RUN: bb-opt %s --bbrt-to-emitc | FileCheck %s
// RUN: bb-opt %s --bbrt-to-emitc | mlir-translate --mlir-to-cpp | FileCheck %s --check-prefix=CPP

// CHECK: emitc.include "bbrt/bbrt.h"
// CHECK-LABEL: emitc.func @bb_forward
// CHECK: emitc.call_opaque "bbrt::matmul"
// CHECK-LABEL: emitc.func @bb_describe
// CHECK: emitc.call_opaque "bbrt::addInput"

// CPP: #include "bbrt/bbrt.h"
// CPP: void bb_forward(bbrt::Context* [[CTX:v[0-9]+]]) {
// Inputs and outputs through inputBuffer/outputBuffer (a driver may bind
// them elsewhere), intermediates straight into the arena.
// CPP: void* [[XP:v[0-9]+]] = bbrt::inputBuffer([[CTX]], 0, 0);
// CPP: const void* [[WP:v[0-9]+]] = bbrt::weight([[CTX]], 0);
// CPP: void* [[YP:v[0-9]+]] = bbrt::outputBuffer([[CTX]], 0, 64);
// CPP: bbrt::Tensor [[XT:v[0-9]+]] = bbrt::Tensor([[XP]], bbrt::DType::F32, {2, 4});
// CPP: bbrt::Tensor [[WT:v[0-9]+]] = bbrt::Tensor([[WP]], bbrt::DType::F32, {3, 4});
// CPP: bbrt::Tensor [[YT:v[0-9]+]] = bbrt::Tensor([[YP]], bbrt::DType::F32, {2, 3});
// CPP: bbrt::matmul([[XT]], [[WT]], [[YT]], false, true, false);
// CPP: void* [[ZP:v[0-9]+]] = bbrt::arena([[CTX]], 0);
// CPP: bbrt::unary(bbrt::UnaryKind::HardSigmoid, [[YT]], [[YT2:v[0-9]+]], 2.000000030e-01f, 5.000000000e-01f);
// The description comes last: weights, then each entry point.
// CPP: void bb_describe(bbrt::ModelInfo* [[INFO:v[0-9]+]]) {
// CPP-NEXT: bbrt::setModelName([[INFO]], "tiny.onnx");
// CPP-NEXT: bbrt::addWeight([[INFO]], "w", bbrt::DType::F32, {3, 4});
// CPP-NEXT: bbrt::addFunction([[INFO]], "forward", bb_forward);
// CPP-NEXT: bbrt::addInput([[INFO]], "x", bbrt::DType::F32, {2, 4}, 0, "");
// CPP-NEXT: bbrt::addOutput([[INFO]], "y", bbrt::DType::F32, {2, 3}, 64, "");
// CPP-NEXT: bbrt::setArenaSize([[INFO]], 128);
module attributes {bb.source = "tiny.onnx"} {
  func.func @forward() attributes {bbrt.arena_size = 128 : i64} {
    %x = bbrt.input 0 "x" {offset = 0 : i64} : memref<2x4xf32>
    %w = bbrt.weight 0 "w" dense<1.0> : tensor<3x4xf32> -> memref<3x4xf32>
    %y = bbrt.arena 64 : memref<2x3xf32>
    bbrt.kernel "bb.matmul" {transpose_rhs} ins(%x, %w : memref<2x4xf32>, memref<3x4xf32>) outs(%y : memref<2x3xf32>)
    %z = bbrt.arena 0 : memref<2x3xf32>
    bbrt.kernel "bb.hard_sigmoid" {alpha = 0.2 : f32, beta = 0.5 : f32} ins(%y : memref<2x3xf32>) outs(%z : memref<2x3xf32>)
    bbrt.output 0 "y" %y : memref<2x3xf32>
    return
  }
}
