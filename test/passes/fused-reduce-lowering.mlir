// RUN: bb-opt %s --bb-bufferize | FileCheck %s --check-prefix=BUF
// RUN: bb-opt %s --bb-bufferize --bbrt-plan-memory --bbrt-to-emitc | mlir-translate --mlir-to-cpp | FileCheck %s --check-prefix=CPP

// Bufferized, the fused reduction keeps its body, axes and mean.
// BUF: bbrt.fused_reduce ins(%{{.*}}, %{{.*}} : memref<4x8xf32>, memref<8xf32>) outs(%{{.*}} : memref<4x1xf32>) attributes {axes = array<i64: 1>, bbrt.bytes = 176 : i64, bbrt.flops = 64 : i64, mean} {
// BUF-NEXT: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32):
// BUF-NEXT: %[[P:.*]] = arith.mulf %[[A]], %[[B]] : f32
// BUF-NEXT: bb.yield %[[P]] : f32

// The call gets the iteration shape (the inputs' broadcast), the axes and
// the mean flag before the tensors.
// CPP: #include "bbrt/fused.h"
// CPP: BBRT_FUSED float bb_fused0(float [[A:v[0-9]+]], float [[B:v[0-9]+]]) {
// CPP: void bb_forward(
// CPP: bbrt::fusedReduce<bb_fused0>([[Y:v[0-9]+]], {4, 8}, {1}, true, [[X:v[0-9]+]], [[W:v[0-9]+]]);
module {
  func.func @forward(%x: tensor<4x8xf32> {bb.name = "x"}, %w: tensor<8xf32> {bb.name = "w"}) -> (tensor<4x1xf32> {bb.name = "y"}) {
    %0 = bb.fused_reduce %x, %w {axes = array<i64: 1>, keepdims, mean} : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x1xf32> {
    ^bb0(%a: f32, %b: f32):
      %p = arith.mulf %a, %b : f32
      bb.yield %p : f32
    }
    return %0 : tensor<4x1xf32>
  }
}
