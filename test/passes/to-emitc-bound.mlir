// RUN: bb-opt %s --bbrt-to-emitc | mlir-translate --mlir-to-cpp | FileCheck %s

// A pipeline stage's stashes have no arena place (offset -1): the function
// reaches them through inputBuffer/outputBuffer, which return what the
// driver bound (its micro-batch's slot) and fail when nothing is bound.
// CHECK: void bb_stage0_forward(bbrt::Context* [[CTX:v[0-9]+]]) {
// CHECK: void* [[XP:v[0-9]+]] = bbrt::inputBuffer([[CTX]], 0, 0);
// CHECK: void* [[SP:v[0-9]+]] = bbrt::outputBuffer([[CTX]], 1, -1);
// CHECK: void* [[YP:v[0-9]+]] = bbrt::outputBuffer([[CTX]], 0, 64);
// CHECK: void bb_stage0_backward(bbrt::Context* [[CTX2:v[0-9]+]]) {
// CHECK: void* [[TP:v[0-9]+]] = bbrt::inputBuffer([[CTX2]], 0, -1);
// An output that views an arena buffer: that buffer is the output's.
// CHECK: void* [[GP:v[0-9]+]] = bbrt::outputBuffer([[CTX2]], 0, 0);
// CHECK: bbrt::addFunction([[INFO:v[0-9]+]], "stage0_forward", bb_stage0_forward);
// CHECK-NEXT: bbrt::addInput([[INFO]], "x", bbrt::DType::F32, {16}, 0, "");
// CHECK-NEXT: bbrt::addOutput([[INFO]], "y", bbrt::DType::F32, {16}, 64, "");
// CHECK-NEXT: bbrt::addOutput([[INFO]], "stash0", bbrt::DType::F32, {16}, -1, "stash");
// CHECK: bbrt::addFunction([[INFO]], "stage0_backward", bb_stage0_backward);
// CHECK-NEXT: bbrt::addInput([[INFO]], "stash0", bbrt::DType::F32, {16}, -1, "stash");
// CHECK-NEXT: bbrt::addOutput([[INFO]], "g", bbrt::DType::F32, {4, 4}, 0, "");
module {
  func.func @stage0_forward() attributes {bbrt.arena_size = 128 : i64} {
    %x = bbrt.input 0 "x" {offset = 0 : i64} : memref<16xf32>
    %s = bbrt.bound_output 1 : memref<16xf32>
    bbrt.kernel "bb.relu" {} ins(%x : memref<16xf32>) outs(%s : memref<16xf32>)
    %y = bbrt.arena 64 : memref<16xf32>
    bbrt.kernel "bb.relu" {} ins(%s : memref<16xf32>) outs(%y : memref<16xf32>)
    bbrt.output 0 "y" %y : memref<16xf32>
    bbrt.output 1 "stash0" %s {role = "stash"} : memref<16xf32>
    return
  }
  func.func @stage0_backward() attributes {bbrt.arena_size = 64 : i64} {
    %s = bbrt.input 0 "stash0" {offset = -1 : i64, role = "stash"} : memref<16xf32>
    %g = bbrt.arena 0 : memref<16xf32>
    bbrt.kernel "bb.relu" {} ins(%s : memref<16xf32>) outs(%g : memref<16xf32>)
    %gv = bbrt.view %g : memref<16xf32> to memref<4x4xf32>
    bbrt.output 0 "g" %gv : memref<4x4xf32>
    return
  }
}
