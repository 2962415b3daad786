// RUN: bb-opt %s --bb-bufferize | FileCheck %s

// Inputs, weights, kernels with fresh buffers, views for reshapes, outputs.
// CHECK-LABEL: func.func @forward()
// CHECK-NEXT: %[[X:.*]] = bbrt.input 0 "x" : memref<2x4xf32>
// CHECK-NEXT: %[[W:.*]] = bbrt.weight 0 "w" dense<1.000000e+00> : tensor<3x4xf32> -> memref<3x4xf32>
// CHECK-NEXT: %[[MM:.*]] = memref.alloc() : memref<2x3xf32>
// CHECK-NEXT: bbrt.kernel "bb.matmul" {transpose_rhs} ins(%[[X]], %[[W]] : memref<2x4xf32>, memref<3x4xf32>) outs(%[[MM]] : memref<2x3xf32>)
// CHECK-NEXT: %[[V:.*]] = bbrt.view %[[MM]] : memref<2x3xf32> to memref<6xf32>
// CHECK-NEXT: %[[R:.*]] = memref.alloc() : memref<6xf32>
// CHECK-NEXT: bbrt.kernel "bb.relu" {} ins(%[[V]] : memref<6xf32>) outs(%[[R]] : memref<6xf32>)
// CHECK-NEXT: bbrt.output 0 "y" %[[R]] : memref<6xf32>
// A returned input (or a view of one, or a value returned twice) gets a copy
// of its own.
// CHECK-NEXT: %[[CP:.*]] = memref.alloc() : memref<2x4xf32>
// CHECK-NEXT: bbrt.kernel "bbrt.copy" {} ins(%[[X]] : memref<2x4xf32>) outs(%[[CP]] : memref<2x4xf32>)
// CHECK-NEXT: bbrt.output 1 "x_again" %[[CP]] : memref<2x4xf32>
// CHECK-NEXT: return
func.func @forward(%x: tensor<2x4xf32> {bb.name = "x"}) -> (tensor<6xf32> {bb.name = "y"}, tensor<2x4xf32> {bb.name = "x_again"}) {
  %w = bb.constant {bb.name = "w"} dense<1.0> : tensor<3x4xf32>
  %m = bb.matmul %x, %w {transpose_rhs} : tensor<2x4xf32>, tensor<3x4xf32> -> tensor<2x3xf32>
  %v = bb.reshape %m : tensor<2x3xf32> -> tensor<6xf32>
  %r = bb.relu %v : tensor<6xf32>
  return %r, %x : tensor<6xf32>, tensor<2x4xf32>
}

// An output that reshapes a buffer computed here is that buffer, viewed (a
// weight gradient of a batched product): no copy. A second output viewing
// the same buffer gets a copy.
// CHECK-LABEL: func.func @grads()
// CHECK: %[[MM:.*]] = memref.alloc() : memref<2x3xf32>
// CHECK-NEXT: bbrt.kernel "bb.matmul"
// CHECK-NEXT: %[[V:.*]] = bbrt.view %[[MM]] : memref<2x3xf32> to memref<6xf32>
// CHECK-NEXT: %[[V2:.*]] = bbrt.view %[[MM]] : memref<2x3xf32> to memref<3x2xf32>
// CHECK-NEXT: bbrt.output 0 "g" %[[V]] : memref<6xf32>
// CHECK-NEXT: %[[CP:.*]] = memref.alloc() : memref<3x2xf32>
// CHECK-NEXT: bbrt.kernel "bbrt.copy" {} ins(%[[V2]] : memref<3x2xf32>) outs(%[[CP]] : memref<3x2xf32>)
// CHECK-NEXT: bbrt.output 1 "g_again" %[[CP]] : memref<3x2xf32>
func.func @grads(%x: tensor<2x4xf32> {bb.name = "x"}) -> (tensor<6xf32> {bb.name = "g"}, tensor<3x2xf32> {bb.name = "g_again"}) {
  %w = bb.constant {bb.name = "w"} dense<1.0> : tensor<3x4xf32>
  %m = bb.matmul %x, %w {transpose_rhs} : tensor<2x4xf32>, tensor<3x4xf32> -> tensor<2x3xf32>
  %v = bb.reshape %m : tensor<2x3xf32> -> tensor<6xf32>
  %v2 = bb.reshape %m : tensor<2x3xf32> -> tensor<3x2xf32>
  return %v, %v2 : tensor<6xf32>, tensor<3x2xf32>
}
