// RUN: bb-opt %s --bb-accumulate-gradients | FileCheck %s
// RUN: bb-opt %s --bb-accumulate-gradients --bb-bufferize --bbrt-plan-memory | FileCheck %s --check-prefix=MEM

// A stage's backward: each gradient gets an accumulator argument of its
// name and returns accumulator + gradient. A weight gradient that a product
// computes (here through reshapes) is summed by the product itself:
// bb.linear with the accumulator (reshaped to the product's shape) as its
// addend, made where the product was. Another gradient gets a bb.add right
// after it; other results are left alone.
// CHECK-LABEL: func.func @stage0_backward
// CHECK-SAME: %[[ACCW:[a-z0-9]+]]: tensor<1x8x16xf32> {bb.name = "grad:w", bb.role = "accumulator"}
// CHECK-SAME: %[[ACCB:[a-z0-9]+]]: tensor<16xf32> {bb.name = "grad:b", bb.role = "accumulator"}
// CHECK: %[[XR:.*]] = bb.reshape %arg0
// CHECK-NEXT: %[[A:.*]] = bb.reshape %[[ACCW]] : tensor<1x8x16xf32> -> tensor<8x16xf32>
// CHECK-NEXT: %[[L:.*]] = bb.linear %[[XR]], %arg1, %[[A]] {transpose_lhs}
// CHECK-NEXT: %[[G:.*]] = bb.reshape %[[L]] : tensor<8x16xf32> -> tensor<1x8x16xf32>
// CHECK-NOT: bb.matmul
// CHECK: %[[R:.*]] = bb.relu %arg3
// CHECK-NEXT: %[[B:.*]] = bb.add %[[ACCB]], %[[R]]
// CHECK: return %[[G]], %[[B]], %arg2
func.func @stage0_backward(%x: tensor<2x4x8xf32>, %dy: tensor<8x16xf32>, %w: tensor<8x16xf32>, %h: tensor<16xf32>) -> (tensor<1x8x16xf32> {bb.name = "grad:w", bb.role = "grad"}, tensor<16xf32> {bb.name = "grad:b", bb.role = "grad"}, tensor<8x16xf32> {bb.name = "send0", bb.role = "send"}) {
  %xr = bb.reshape %x : tensor<2x4x8xf32> -> tensor<8x8xf32>
  %m = bb.matmul %xr, %dy {transpose_lhs} : tensor<8x8xf32>, tensor<8x16xf32> -> tensor<8x16xf32>
  %g = bb.reshape %m : tensor<8x16xf32> -> tensor<2x4x16xf32>
  %g2 = bb.reshape %g : tensor<2x4x16xf32> -> tensor<1x8x16xf32>
  %b = bb.relu %h : tensor<16xf32>
  %u = bb.relu %b : tensor<16xf32>
  return %g2, %b, %w : tensor<1x8x16xf32>, tensor<16xf32>, tensor<8x16xf32>
}

// The driver binds the accumulators and the gradients returned into them:
// no arena place for either.
// MEM-LABEL: func.func @stage0_backward
// MEM-DAG: bbrt.input 4 "grad:w" {offset = -1 : i64, role = "accumulator"}
// MEM-DAG: bbrt.input 5 "grad:b" {offset = -1 : i64, role = "accumulator"}
// MEM-DAG: bbrt.bound_output 0 : memref<8x16xf32>
// MEM-DAG: bbrt.bound_output 1 : memref<16xf32>

// A gradient's product used twice is not fused; gradsq and the update
// (which take gradients) are left alone.
// CHECK-LABEL: func.func @stage1_backward
// CHECK: %[[M:.*]] = bb.matmul
// CHECK: bb.add %{{.*}}, %[[M]]
func.func @stage1_backward(%x: tensor<8x8xf32>, %dy: tensor<8x16xf32>) -> (tensor<8x16xf32> {bb.name = "grad:v", bb.role = "grad"}, tensor<8x16xf32> {bb.name = "send1", bb.role = "send"}) {
  %m = bb.matmul %x, %dy {transpose_lhs} : tensor<8x8xf32>, tensor<8x16xf32> -> tensor<8x16xf32>
  return %m, %m : tensor<8x16xf32>, tensor<8x16xf32>
}
// CHECK-LABEL: func.func @stage0_gradsq
// CHECK-SAME: (%arg0: tensor<16xf32> {bb.name = "grad:b", bb.role = "grad"})
// CHECK-NOT: accumulator
// CHECK: return %arg0
func.func @stage0_gradsq(%g: tensor<16xf32> {bb.name = "grad:b", bb.role = "grad"}) -> (tensor<16xf32> {bb.name = "grad:b", bb.role = "grad"}) {
  return %g : tensor<16xf32>
}
