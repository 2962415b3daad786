// RUN: bb-opt %s --bb-fuse-batch-sum | FileCheck %s

// A weight gradient: the batched x^T dy summed over its batch becomes one
// product over the stacked batch (keepdims gets its shape back).
// CHECK-LABEL: func.func @weight_gradient
// CHECK-DAG: %[[X:.*]] = bb.reshape %arg0 : tensor<4x16x8xf32> -> tensor<64x8xf32>
// CHECK-DAG: %[[DY:.*]] = bb.reshape %arg1 : tensor<4x16x32xf32> -> tensor<64x32xf32>
// CHECK: %[[W:.*]] = bb.matmul %[[X]], %[[DY]] {transpose_lhs} : tensor<64x8xf32>, tensor<64x32xf32> -> tensor<8x32xf32>
// CHECK-NOT: bb.reduce_sum
// CHECK: %[[W2:.*]] = bb.matmul {{.*}} {transpose_lhs} : tensor<64x8xf32>, tensor<64x32xf32> -> tensor<8x32xf32>
// CHECK-NOT: bb.reduce_sum
// CHECK: %[[K:.*]] = bb.reshape %[[W2]] : tensor<8x32xf32> -> tensor<1x8x32xf32>
// CHECK: return %[[W]], %[[K]]
func.func @weight_gradient(%x: tensor<4x16x8xf32>, %dy: tensor<4x16x32xf32>) -> (tensor<8x32xf32>, tensor<1x8x32xf32>) {
  %0 = bb.matmul %x, %dy {transpose_lhs} : tensor<4x16x8xf32>, tensor<4x16x32xf32> -> tensor<4x8x32xf32>
  %1 = bb.reduce_sum %0 {axes = array<i64: 0>} : tensor<4x8x32xf32> -> tensor<8x32xf32>
  %2 = bb.matmul %x, %dy {transpose_lhs} : tensor<4x16x8xf32>, tensor<4x16x32xf32> -> tensor<4x8x32xf32>
  %3 = bb.reduce_sum %2 {axes = array<i64: 0>, keepdims} : tensor<4x8x32xf32> -> tensor<1x8x32xf32>
  return %1, %3 : tensor<8x32xf32>, tensor<1x8x32xf32>
}

// Two batch axes, bf16 operands with an f32 result, tf32 kept.
// CHECK-LABEL: func.func @two_batch_axes
// CHECK: bb.reshape %arg0 : tensor<2x3x16x8xbf16> -> tensor<96x8xbf16>
// CHECK: bb.reshape %arg1 : tensor<2x3x16x4xbf16> -> tensor<96x4xbf16>
// CHECK: bb.matmul {{.*}} {transpose_lhs} : tensor<96x8xbf16>, tensor<96x4xbf16> -> tensor<8x4xf32>
// CHECK: bb.matmul {{.*}} {tf32, transpose_lhs} : tensor<96x8xf32>, tensor<96x4xf32> -> tensor<8x4xf32>
// CHECK-NOT: bb.reduce_sum
func.func @two_batch_axes(%a: tensor<2x3x16x8xbf16>, %b: tensor<2x3x16x4xbf16>, %c: tensor<2x3x16x8xf32>, %d: tensor<2x3x16x4xf32>) -> (tensor<8x4xf32>, tensor<8x4xf32>) {
  %0 = bb.matmul %a, %b {transpose_lhs} : tensor<2x3x16x8xbf16>, tensor<2x3x16x4xbf16> -> tensor<2x3x8x4xf32>
  %1 = bb.reduce_sum %0 {axes = array<i64: 0, 1>} : tensor<2x3x8x4xf32> -> tensor<8x4xf32>
  %2 = bb.matmul %c, %d {transpose_lhs, tf32} : tensor<2x3x16x8xf32>, tensor<2x3x16x4xf32> -> tensor<2x3x8x4xf32>
  %3 = bb.reduce_sum %2 {axes = array<i64: 0, 1>} : tensor<2x3x8x4xf32> -> tensor<8x4xf32>
  return %1, %3 : tensor<8x4xf32>, tensor<8x4xf32>
}

// Left alone: the lhs not transposed (its blocks stack side by side, not
// as a view), the rhs transposed, a sum over only some batch axes or over
// a matrix axis, a broadcast operand, and a product with another user.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-6: bb.reduce_sum
// CHECK-NOT: bb.reshape
func.func @kept(%x: tensor<4x16x8xf32>, %y: tensor<4x8x16xf32>, %dy: tensor<4x16x32xf32>, %dt: tensor<4x32x16xf32>, %w: tensor<16x32xf32>, %z: tensor<2x3x16x8xf32>, %dz: tensor<2x3x16x4xf32>) -> (tensor<8x32xf32>, tensor<8x32xf32>, tensor<3x8x4xf32>, tensor<4x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<4x8x32xf32>) {
  %0 = bb.matmul %y, %dy : tensor<4x8x16xf32>, tensor<4x16x32xf32> -> tensor<4x8x32xf32>
  %1 = bb.reduce_sum %0 {axes = array<i64: 0>} : tensor<4x8x32xf32> -> tensor<8x32xf32>
  %2 = bb.matmul %x, %dt {transpose_lhs, transpose_rhs} : tensor<4x16x8xf32>, tensor<4x32x16xf32> -> tensor<4x8x32xf32>
  %3 = bb.reduce_sum %2 {axes = array<i64: 0>} : tensor<4x8x32xf32> -> tensor<8x32xf32>
  %4 = bb.matmul %z, %dz {transpose_lhs} : tensor<2x3x16x8xf32>, tensor<2x3x16x4xf32> -> tensor<2x3x8x4xf32>
  %5 = bb.reduce_sum %4 {axes = array<i64: 0>} : tensor<2x3x8x4xf32> -> tensor<3x8x4xf32>
  %6 = bb.matmul %x, %dy {transpose_lhs} : tensor<4x16x8xf32>, tensor<4x16x32xf32> -> tensor<4x8x32xf32>
  %7 = bb.reduce_sum %6 {axes = array<i64: 1>} : tensor<4x8x32xf32> -> tensor<4x32xf32>
  %8 = bb.matmul %x, %w {transpose_lhs} : tensor<4x16x8xf32>, tensor<16x32xf32> -> tensor<4x8x32xf32>
  %9 = bb.reduce_sum %8 {axes = array<i64: 0>} : tensor<4x8x32xf32> -> tensor<8x32xf32>
  %10 = bb.matmul %x, %dy {transpose_lhs} : tensor<4x16x8xf32>, tensor<4x16x32xf32> -> tensor<4x8x32xf32>
  %11 = bb.reduce_sum %10 {axes = array<i64: 0>} : tensor<4x8x32xf32> -> tensor<8x32xf32>
  return %1, %3, %5, %7, %9, %11, %10 : tensor<8x32xf32>, tensor<8x32xf32>, tensor<3x8x4xf32>, tensor<4x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<4x8x32xf32>
}
