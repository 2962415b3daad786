// RUN: bb-opt %s --bb-cost-report -o /dev/null 2>&1 | FileCheck %s

// CHECK-LABEL: cost report for @mlp
// CHECK: bb.matmul 1 1024 640 256
// CHECK: bb.relu 1 64 256 256
// CHECK: total 4 1152 1156 772
func.func @mlp(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  %c = bb.constant dense<0.5> : tensor<f32>
  %y = bb.matmul %x, %w {transpose_rhs} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %z = bb.mul %y, %c : tensor<4x16xf32>, tensor<f32> -> tensor<4x16xf32>
  %r = bb.relu %z : tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}
