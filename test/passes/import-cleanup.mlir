// RUN: bb-opt %s --bb-import-cleanup | FileCheck %s

// What the importer leaves behind and the cleanup pipeline (canonicalize,
// bb-fuse-gelu, cse, canonicalize) removes.

// A GELU whose sqrt(2) is itself computed (folded first, then fused), twice
// on the same input (CSE'd to one), beside a dead op (erased).
// CHECK-LABEL: func.func @gelu_after_folding
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>)
// CHECK-NEXT: %[[G:.*]] = bb.gelu %[[X]] : tensor<2x8xf32>
// CHECK-NEXT: %[[S:.*]] = bb.add %[[G]], %[[G]]
// CHECK-NEXT: return %[[S]]
func.func @gelu_after_folding(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %two = bb.constant dense<2.0> : tensor<f32>
  %sqrt2 = bb.sqrt %two : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %dead = bb.exp %x : tensor<2x8xf32>
  %0 = bb.div %x, %sqrt2 : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  %1 = bb.erf %0 : tensor<2x8xf32>
  %2 = bb.add %1, %one : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  %3 = bb.mul %x, %2 : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %4 = bb.mul %3, %half : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  %5 = bb.div %x, %sqrt2 : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  %6 = bb.erf %5 : tensor<2x8xf32>
  %7 = bb.add %6, %one : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  %8 = bb.mul %x, %7 : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %9 = bb.mul %8, %half : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  %10 = bb.add %4, %9 : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  return %10 : tensor<2x8xf32>
}

// The Shape -> Gather -> Concat arithmetic of an ONNX Reshape of a
// [2, 16, 64] activation to [2, 16, 4, 16] folds to the target shape
// constant; the reshape chain collapses to one reshape and the transposes
// compose to one (perm [0, 2, 1, 3] then [0, 1, 3, 2] is [0, 2, 3, 1]).
// CHECK-LABEL: func.func @shape_arithmetic
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x64xf32>)
// CHECK-NEXT: %[[C:.*]] = bb.constant dense<[2, 16, 4, 16]> : tensor<4xi64>
// CHECK-NEXT: %[[R:.*]] = bb.reshape %[[X]] : tensor<2x16x64xf32> -> tensor<2x16x4x16xf32>
// CHECK-NEXT: %[[T:.*]] = bb.transpose %[[R]] {permutation = array<i64: 0, 2, 3, 1>} : tensor<2x16x4x16xf32> -> tensor<2x4x16x16xf32>
// CHECK-NEXT: return %[[T]], %[[C]] : tensor<2x4x16x16xf32>, tensor<4xi64>
func.func @shape_arithmetic(%x: tensor<2x16x64xf32>) -> (tensor<2x4x16x16xf32>, tensor<4xi64>) {
  %shape = bb.constant dense<[2, 16, 64]> : tensor<3xi64>
  %i01 = bb.constant dense<[0, 1]> : tensor<2xi64>
  %heads = bb.constant dense<[4, 16]> : tensor<2xi64>
  %bs = bb.gather %shape, %i01 {axis = 0 : i64} : tensor<3xi64>, tensor<2xi64> -> tensor<2xi64>
  %target = bb.concat %bs, %heads {axis = 0 : i64} : (tensor<2xi64>, tensor<2xi64>) -> tensor<4xi64>
  %0 = bb.reshape %x : tensor<2x16x64xf32> -> tensor<32x64xf32>
  %1 = bb.reshape %0 : tensor<32x64xf32> -> tensor<2x16x4x16xf32>
  %2 = bb.transpose %1 {permutation = array<i64: 0, 2, 1, 3>} : tensor<2x16x4x16xf32> -> tensor<2x4x16x16xf32>
  %3 = bb.transpose %2 {permutation = array<i64: 0, 1, 3, 2>} : tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  return %3, %target : tensor<2x4x16x16xf32>, tensor<4xi64>
}
