// RUN: bb-opt %s --load-pass-plugin=%plugins/libbb_example_plugin.so --pass-pipeline='builtin.module(func.func(bb-example-annotate-flops))' | FileCheck %s

// The example plugin (ExamplePlugin.cpp) loads into bb-opt, registers its
// pass, and reads bb::CostOpInterface across the shared-object boundary.
// Ops with zero FLOPs (constants, data movement) get no attribute.

// CHECK-LABEL: func.func @mlp
// CHECK-NOT: example.flops
// CHECK: bb.constant
// CHECK-NOT: example.flops
// 2 * M * N * K = 2 * 8 * 32 * 64
// CHECK: bb.matmul %{{.*}}, %{{.*}} {example.flops = 32768 : i64, transpose_rhs}
// One per result element.
// CHECK: bb.add %{{.*}}, %{{.*}} {example.flops = 256 : i64}
// CHECK: bb.relu %{{.*}} {example.flops = 256 : i64}
// 5 per element (max, subtract, exp, sum, divide).
// CHECK: bb.softmax %{{.*}} {example.flops = 1280 : i64}
// 8 per element.
// CHECK: bb.layer_norm %{{.*}}, %{{.*}} {example.flops = 2048 : i64}
// CHECK-NOT: example.flops
// CHECK: bb.reshape
// CHECK-NOT: example.flops
// CHECK: bb.transpose
// CHECK-NOT: example.flops
// CHECK: return
func.func @mlp(%x: tensor<8x64xf32>, %w: tensor<32x64xf32>, %g: tensor<32xf32>) -> tensor<32x8xf32> {
  %b = bb.constant dense<1.0> : tensor<32xf32>
  %0 = bb.matmul %x, %w {transpose_rhs} : tensor<8x64xf32>, tensor<32x64xf32> -> tensor<8x32xf32>
  %1 = bb.add %0, %b : tensor<8x32xf32>, tensor<32xf32> -> tensor<8x32xf32>
  %2 = bb.relu %1 : tensor<8x32xf32>
  %3 = bb.softmax %2 : tensor<8x32xf32>
  %4 = bb.layer_norm %3, %g : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %5 = bb.reshape %4 : tensor<8x32xf32> -> tensor<256xf32>
  %6 = bb.reshape %5 : tensor<256xf32> -> tensor<8x32xf32>
  %7 = bb.transpose %6 {permutation = array<i64: 1, 0>} : tensor<8x32xf32> -> tensor<32x8xf32>
  return %7 : tensor<32x8xf32>
}

// CHECK-LABEL: func.func @cnn
// 1x4x8x8 outputs, each 2 * (3 * 3 * 3) FLOPs.
// CHECK: bb.conv {{.*}}example.flops = 13824 : i64
// 1x4x4x4 outputs, a 2x2 window each.
// CHECK: bb.max_pool {{.*}}example.flops = 256 : i64
func.func @cnn(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %0 = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
       : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  %1 = bb.max_pool %0 {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>}
       : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  return %1 : tensor<1x4x4x4xf32>
}
