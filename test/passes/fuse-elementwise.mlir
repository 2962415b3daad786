// RUN: bb-opt %s --bb-fuse-elementwise | FileCheck %s

// A layer-norm backward tail: the chain becomes one op; the row statistics
// ([4x1]) and the scale ([8]) broadcast into it as inputs; the splat
// constant is inlined; the intermediate tensors are gone.
// CHECK-LABEL: func.func @chain
// CHECK: %[[F:.*]] = bb.fused_elementwise %arg0, %arg1, %arg2, %arg3 : tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<8xf32> -> tensor<4x8xf32> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[C:.*]]: f32, %[[D:.*]]: f32):
// CHECK-NEXT: %[[S:.*]] = arith.subf %[[A]], %[[B]] : f32
// CHECK-NEXT: %[[T:.*]] = arith.mulf %[[S]], %[[C]] : f32
// CHECK-NEXT: %[[H:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT: %[[U:.*]] = arith.mulf %[[T]], %[[H]] : f32
// CHECK-NEXT: %[[V:.*]] = arith.mulf %[[U]], %[[D]] : f32
// CHECK-NEXT: bb.yield %[[V]] : f32
// CHECK-NEXT: }
// CHECK-NOT: bb.constant
// CHECK-NOT: bb.mul
// CHECK: return %[[F]]
func.func @chain(%x: tensor<4x8xf32>, %m: tensor<4x1xf32>, %r: tensor<4x1xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  %h = bb.constant dense<5.000000e-01> : tensor<f32>
  %0 = bb.sub %x, %m : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  %1 = bb.mul %0, %r : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  %2 = bb.mul %1, %h : tensor<4x8xf32>, tensor<f32> -> tensor<4x8xf32>
  %3 = bb.mul %2, %g : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  return %3 : tensor<4x8xf32>
}

// Unary ops as the runtime computes them: sigmoid as 1 / (1 + e^-x), relu
// as x > 0 ? x : 0.
// CHECK-LABEL: func.func @unary
// CHECK: bb.fused_elementwise %arg0 : tensor<16xf32> -> tensor<16xf32>
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK: arith.cmpf ogt
// CHECK: arith.select
// CHECK: math.tanh
// CHECK: math.erf
// CHECK: math.sqrt
// CHECK: bb.yield
func.func @unary(%x: tensor<16xf32>) -> tensor<16xf32> {
  %0 = bb.sigmoid %x : tensor<16xf32>
  %1 = bb.relu %0 : tensor<16xf32>
  %2 = bb.tanh %1 : tensor<16xf32>
  %3 = bb.erf %2 : tensor<16xf32>
  %4 = bb.sqrt %3 : tensor<16xf32>
  return %4 : tensor<16xf32>
}

// Left alone: an intermediate used outside the chain ends the group there
// (it is the fused op's input instead); a producer of another shape (it
// would be computed once per element it broadcasts to) is an input too; a
// single op stays; f64 and integer ops stay.
// CHECK-LABEL: func.func @boundaries
// CHECK: %[[E:.*]] = bb.exp %arg0
// CHECK: %[[R:.*]] = bb.exp %arg2 : tensor<4x1xf32>
// CHECK: bb.fused_elementwise %[[E]], %[[R]], %arg1
// CHECK: bb.neg %arg0
// CHECK: bb.add %arg3, %arg3 : tensor<4x8xf64>
// CHECK: bb.mul %arg4, %arg4 : tensor<4x8xi64>
func.func @boundaries(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>, %z: tensor<4x1xf32>, %d: tensor<4x8xf64>, %i: tensor<4x8xi64>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf64>, tensor<4x8xi64>) {
  %0 = bb.exp %x : tensor<4x8xf32>
  %r = bb.exp %z : tensor<4x1xf32>
  %1 = bb.mul %0, %r : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  %2 = bb.add %1, %y : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %3 = bb.neg %x : tensor<4x8xf32>
  %4 = bb.add %d, %d : tensor<4x8xf64>, tensor<4x8xf64> -> tensor<4x8xf64>
  %5 = bb.add %4, %d : tensor<4x8xf64>, tensor<4x8xf64> -> tensor<4x8xf64>
  %6 = bb.mul %i, %i : tensor<4x8xi64>, tensor<4x8xi64> -> tensor<4x8xi64>
  %7 = bb.add %6, %i : tensor<4x8xi64>, tensor<4x8xi64> -> tensor<4x8xi64>
  return %0, %2, %3, %5, %7 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf64>, tensor<4x8xi64>
}

// A sum of a chain becomes one bb.fused_reduce: a gradient's sum of
// squares over all axes, a row mean of a product (layer norm's backward),
// a sum over the leading axes (a bias gradient of a scaled value), and a
// lone product summed.
// CHECK-LABEL: func.func @reductions
// CHECK: %[[Q:.*]] = bb.fused_reduce %arg0 {axes = array<i64: 0, 1>} : tensor<4x8xf32> -> tensor<f32> {
// CHECK-NEXT: ^bb0(%[[G:.*]]: f32):
// CHECK-NEXT: %[[S:.*]] = arith.mulf %[[G]], %[[G]] : f32
// CHECK-NEXT: bb.yield %[[S]] : f32
// CHECK: %[[M:.*]] = bb.fused_reduce %arg0, %arg1 {axes = array<i64: 1>, keepdims, mean} : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x1xf32>
// CHECK: %[[C:.*]] = bb.fused_reduce %arg0 {axes = array<i64: 0>} : tensor<4x8xf32> -> tensor<8xf32>
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK: %[[P:.*]] = bb.fused_reduce %arg0, %arg2 {axes = array<i64: 1>} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4xf32>
// CHECK-NOT: bb.reduce
// CHECK-NOT: bb.mul
// CHECK: return %[[Q]], %[[M]], %[[C]], %[[P]]
func.func @reductions(%g: tensor<4x8xf32>, %w: tensor<8xf32>, %y: tensor<4x8xf32>) -> (tensor<f32>, tensor<4x1xf32>, tensor<8xf32>, tensor<4xf32>) {
  %two = bb.constant dense<2.000000e+00> : tensor<f32>
  %0 = bb.mul %g, %g : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %1 = bb.reduce_sum %0 {axes = array<i64: 0, 1>} : tensor<4x8xf32> -> tensor<f32>
  %2 = bb.mul %g, %w : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  %3 = bb.reduce_mean %2 {axes = array<i64: 1>, keepdims} : tensor<4x8xf32> -> tensor<4x1xf32>
  %4 = bb.mul %g, %two : tensor<4x8xf32>, tensor<f32> -> tensor<4x8xf32>
  %5 = bb.reduce_sum %4 {axes = array<i64: 0>} : tensor<4x8xf32> -> tensor<8xf32>
  %6 = bb.mul %g, %y : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %7 = bb.reduce_sum %6 {axes = array<i64: 1>} : tensor<4x8xf32> -> tensor<4xf32>
  return %1, %3, %5, %7 : tensor<f32>, tensor<4x1xf32>, tensor<8xf32>, tensor<4xf32>
}

// Left as they are: a sum over a middle axis (the runtimes sum leading or
// trailing axes), a sum of a value used elsewhere too, a sum of a value
// that is not computed elementwise, and a max.
// CHECK-LABEL: func.func @reductions_kept
// CHECK: bb.reduce_sum %{{.*}} {axes = array<i64: 1>} : tensor<2x4x8xf32>
// CHECK: bb.reduce_sum %{{.*}} {axes = array<i64: 0>} : tensor<4x8xf32>
// CHECK: bb.reduce_sum %arg1 {axes = array<i64: 0>}
// CHECK: bb.reduce_max
func.func @reductions_kept(%x: tensor<2x4x8xf32>, %g: tensor<4x8xf32>) -> (tensor<2x8xf32>, tensor<8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %0 = bb.exp %x : tensor<2x4x8xf32>
  %1 = bb.reduce_sum %0 {axes = array<i64: 1>} : tensor<2x4x8xf32> -> tensor<2x8xf32>
  %2 = bb.exp %g : tensor<4x8xf32>
  %3 = bb.reduce_sum %2 {axes = array<i64: 0>} : tensor<4x8xf32> -> tensor<8xf32>
  %4 = bb.reduce_sum %g {axes = array<i64: 0>} : tensor<4x8xf32> -> tensor<8xf32>
  %5 = bb.exp %g : tensor<4x8xf32>
  %6 = bb.reduce_max %5 {axes = array<i64: 0>} : tensor<4x8xf32> -> tensor<8xf32>
  return %1, %3, %2, %4, %6 : tensor<2x8xf32>, tensor<8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
}
