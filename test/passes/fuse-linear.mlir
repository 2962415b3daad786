// RUN: bb-opt %s --bb-fuse-linear | FileCheck %s

// A product plus a bias vector along its last dimension becomes one
// bb.linear, whichever side of the add the product is on.
// CHECK-LABEL: func.func @fused
// CHECK: %[[Y:.*]] = bb.linear %arg0, %arg1, %arg2 {transpose_rhs} : (tensor<2x4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
// CHECK: %[[Z:.*]] = bb.linear %[[Y]], %arg3, %arg2 : (tensor<2x4x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
// CHECK-NOT: bb.add
// CHECK-NOT: bb.matmul
// CHECK: return %[[Z]]
func.func @fused(%x: tensor<2x4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>, %v: tensor<16x16xf32>) -> tensor<2x4x16xf32> {
  %0 = bb.matmul %x, %w {transpose_rhs} : tensor<2x4x8xf32>, tensor<16x8xf32> -> tensor<2x4x16xf32>
  %1 = bb.add %0, %b : tensor<2x4x16xf32>, tensor<16xf32> -> tensor<2x4x16xf32>
  %2 = bb.matmul %1, %v : tensor<2x4x16xf32>, tensor<16x16xf32> -> tensor<2x4x16xf32>
  %3 = bb.add %b, %2 : tensor<16xf32>, tensor<2x4x16xf32> -> tensor<2x4x16xf32>
  return %3 : tensor<2x4x16xf32>
}

// Left alone: a product with another user, a bias along another dimension,
// an add of two products (no vector), a sum whose type is not the product's.
// CHECK-LABEL: func.func @kept
// CHECK-NOT: bb.linear
// CHECK: return
func.func @kept(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %c: tensor<4x1xf32>, %b: tensor<8xf32>, %r: tensor<3x4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<3x4x8xf32>) {
  %0 = bb.matmul %x, %w : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %1 = bb.add %0, %b : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  %2 = bb.matmul %x, %w {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %3 = bb.add %2, %c : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  %4 = bb.add %0, %2 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %5 = bb.matmul %x, %x {transpose_rhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x4xf32>
  %6 = bb.matmul %5, %x : tensor<4x4xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %7 = bb.add %6, %r : tensor<4x8xf32>, tensor<3x4x8xf32> -> tensor<3x4x8xf32>
  return %1, %3, %4, %7 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<3x4x8xf32>
}
