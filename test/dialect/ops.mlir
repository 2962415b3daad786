// RUN: bb-opt %s | bb-opt | FileCheck %s
// RUN: bb-opt %s --mlir-print-op-generic | bb-opt | FileCheck %s

// Round trip of every bb op: the custom form parses, prints, and the printed
// form parses again to the same thing (the second RUN line goes through the
// generic form too).

// CHECK-LABEL: func.func @constant
func.func @constant() -> (tensor<2xf32>, tensor<2x2xi64>, tensor<3xi1>, tensor<2xf32>) {
  // CHECK: bb.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
  %0 = bb.constant dense<[1.0, 2.0]> : tensor<2xf32>
  // CHECK: bb.constant dense<7> : tensor<2x2xi64>
  %1 = bb.constant dense<7> : tensor<2x2xi64>
  // CHECK: bb.constant dense<[true, false, true]> : tensor<3xi1>
  %2 = bb.constant dense<[true, false, true]> : tensor<3xi1>
  // CHECK: bb.constant dense_resource<fc1.weight> : tensor<2xf32>
  %3 = bb.constant dense_resource<fc1.weight> : tensor<2xf32>
  return %0, %1, %2, %3 : tensor<2xf32>, tensor<2x2xi64>, tensor<3xi1>, tensor<2xf32>
}

// CHECK-LABEL: func.func @unary
// CHECK-SAME: (%[[X:.*]]: tensor<2x4xf32>)
func.func @unary(%x: tensor<2x4xf32>) {
  // CHECK: bb.neg %[[X]] : tensor<2x4xf32>
  %0 = bb.neg %x : tensor<2x4xf32>
  // CHECK: bb.abs %[[X]] : tensor<2x4xf32>
  %1 = bb.abs %x : tensor<2x4xf32>
  // CHECK: bb.sqrt %[[X]] : tensor<2x4xf32>
  %2 = bb.sqrt %x : tensor<2x4xf32>
  // CHECK: bb.exp %[[X]] : tensor<2x4xf32>
  %3 = bb.exp %x : tensor<2x4xf32>
  // CHECK: bb.log %[[X]] : tensor<2x4xf32>
  %4 = bb.log %x : tensor<2x4xf32>
  // CHECK: bb.erf %[[X]] : tensor<2x4xf32>
  %5 = bb.erf %x : tensor<2x4xf32>
  // CHECK: bb.tanh %[[X]] : tensor<2x4xf32>
  %6 = bb.tanh %x : tensor<2x4xf32>
  // CHECK: bb.sigmoid %[[X]] : tensor<2x4xf32>
  %7 = bb.sigmoid %x : tensor<2x4xf32>
  // CHECK: bb.relu %[[X]] : tensor<2x4xf32>
  %8 = bb.relu %x : tensor<2x4xf32>
  // CHECK: bb.hard_swish %[[X]] : tensor<2x4xf32>
  %9 = bb.hard_swish %x : tensor<2x4xf32>
  // Default-valued attributes are elided; others are printed.
  // CHECK: bb.hard_sigmoid %[[X]] : tensor<2x4xf32>
  %10 = bb.hard_sigmoid %x : tensor<2x4xf32>
  // CHECK: bb.hard_sigmoid %[[X]] {alpha = 1.000000e-01 : f32, beta = 2.500000e-01 : f32} : tensor<2x4xf32>
  %11 = bb.hard_sigmoid %x {alpha = 0.1 : f32, beta = 0.25 : f32} : tensor<2x4xf32>
  // CHECK: bb.gelu %[[X]] : tensor<2x4xf32>
  %12 = bb.gelu %x : tensor<2x4xf32>
  // CHECK: bb.gelu %[[X]] {approximation = #bb.approximation<tanh>} : tensor<2x4xf32>
  %13 = bb.gelu %x {approximation = #bb.approximation<tanh>} : tensor<2x4xf32>
  // CHECK: bb.neg %{{.*}} : tensor<f16>
  %c = bb.constant dense<1.0> : tensor<f16>
  %14 = bb.neg %c : tensor<f16>
  return
}

// CHECK-LABEL: func.func @binary
// CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<8xf32>, %[[I:.*]]: tensor<3x1xi32>, %[[J:.*]]: tensor<5xi32>)
func.func @binary(%a: tensor<4x8xf32>, %b: tensor<8xf32>, %i: tensor<3x1xi32>, %j: tensor<5xi32>) {
  // CHECK: bb.add %[[A]], %[[B]] : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  %0 = bb.add %a, %b : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  // CHECK: bb.sub %[[B]], %[[A]] : tensor<8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %1 = bb.sub %b, %a : tensor<8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  // CHECK: bb.mul %[[I]], %[[J]] : tensor<3x1xi32>, tensor<5xi32> -> tensor<3x5xi32>
  %2 = bb.mul %i, %j : tensor<3x1xi32>, tensor<5xi32> -> tensor<3x5xi32>
  // CHECK: bb.div %[[A]], %[[A]] : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %3 = bb.div %a, %a : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  // CHECK: bb.pow %[[A]], %[[B]] : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  %4 = bb.pow %a, %b : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  return
}

// CHECK-LABEL: func.func @compare_select_convert
// CHECK-SAME: (%[[A:.*]]: tensor<4x4xi64>, %[[B:.*]]: tensor<4xi64>, %[[M:.*]]: tensor<1x4xi1>, %[[X:.*]]: tensor<2x4xf32>, %[[N:.*]]: tensor<f32>)
func.func @compare_select_convert(%a: tensor<4x4xi64>, %b: tensor<4xi64>, %m: tensor<1x4xi1>, %x: tensor<2x4xf32>, %ninf: tensor<f32>) {
  // CHECK: bb.compare <eq>, %[[A]], %[[B]] : tensor<4x4xi64>, tensor<4xi64> -> tensor<4x4xi1>
  %0 = bb.compare <eq>, %a, %b : tensor<4x4xi64>, tensor<4xi64> -> tensor<4x4xi1>
  // CHECK: bb.compare <ne>, %[[A]], %[[A]]
  %1 = bb.compare <ne>, %a, %a : tensor<4x4xi64>, tensor<4x4xi64> -> tensor<4x4xi1>
  // CHECK: bb.compare <lt>, %[[A]], %[[A]]
  %2 = bb.compare <lt>, %a, %a : tensor<4x4xi64>, tensor<4x4xi64> -> tensor<4x4xi1>
  // CHECK: bb.compare <le>, %[[A]], %[[A]]
  %3 = bb.compare <le>, %a, %a : tensor<4x4xi64>, tensor<4x4xi64> -> tensor<4x4xi1>
  // CHECK: bb.compare <gt>, %[[A]], %[[A]]
  %4 = bb.compare <gt>, %a, %a : tensor<4x4xi64>, tensor<4x4xi64> -> tensor<4x4xi1>
  // CHECK: bb.compare <ge>, %[[X]], %[[N]] : tensor<2x4xf32>, tensor<f32> -> tensor<2x4xi1>
  %5 = bb.compare <ge>, %x, %ninf : tensor<2x4xf32>, tensor<f32> -> tensor<2x4xi1>
  // CHECK: bb.select %[[M]], %[[X]], %[[N]] : tensor<1x4xi1>, tensor<2x4xf32>, tensor<f32> -> tensor<2x4xf32>
  %6 = bb.select %m, %x, %ninf : tensor<1x4xi1>, tensor<2x4xf32>, tensor<f32> -> tensor<2x4xf32>
  // CHECK: bb.convert %[[A]] : tensor<4x4xi64> -> tensor<4x4xf32>
  %7 = bb.convert %a : tensor<4x4xi64> -> tensor<4x4xf32>
  // CHECK: bb.convert %[[X]] : tensor<2x4xf32> -> tensor<2x4xbf16>
  %8 = bb.convert %x : tensor<2x4xf32> -> tensor<2x4xbf16>
  // CHECK: bb.convert %[[M]] : tensor<1x4xi1> -> tensor<1x4xui8>
  %9 = bb.convert %m : tensor<1x4xi1> -> tensor<1x4xui8>
  return
}

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[W:.*]]: tensor<32x64xf32>, %[[Q:.*]]: tensor<2x4x16x8xf32>, %[[K:.*]]: tensor<4x16x8xf32>, %[[V:.*]]: tensor<1x32x16xi32>, %[[K32:.*]]: tensor<4x16x8xi32>)
func.func @matmul(%x: tensor<8x64xf32>, %w: tensor<32x64xf32>, %q: tensor<2x4x16x8xf32>, %k: tensor<4x16x8xf32>, %v: tensor<1x32x16xi32>, %k32: tensor<4x16x8xi32>) {
  // CHECK: bb.matmul %[[X]], %[[W]] {transpose_rhs} : tensor<8x64xf32>, tensor<32x64xf32> -> tensor<8x32xf32>
  %0 = bb.matmul %x, %w {transpose_rhs} : tensor<8x64xf32>, tensor<32x64xf32> -> tensor<8x32xf32>
  // CHECK: bb.matmul %[[X]], %[[X]] {transpose_lhs} : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<64x64xf32>
  %1 = bb.matmul %x, %x {transpose_lhs} : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<64x64xf32>
  // CHECK: bb.matmul %[[Q]], %[[K]] {transpose_rhs} : tensor<2x4x16x8xf32>, tensor<4x16x8xf32> -> tensor<2x4x16x16xf32>
  %2 = bb.matmul %q, %k {transpose_rhs} : tensor<2x4x16x8xf32>, tensor<4x16x8xf32> -> tensor<2x4x16x16xf32>
  // CHECK: bb.matmul %[[K32]], %[[V]] {transpose_lhs, transpose_rhs} : tensor<4x16x8xi32>, tensor<1x32x16xi32> -> tensor<4x8x32xi32>
  %3 = bb.matmul %k32, %v {transpose_lhs, transpose_rhs} : tensor<4x16x8xi32>, tensor<1x32x16xi32> -> tensor<4x8x32xi32>
  return
}

// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<2x8x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>, %xb: tensor<8x64xbf16>, %wb: tensor<32x64xbf16>) {
  // CHECK: bb.linear %{{.*}}, %{{.*}}, %{{.*}} {transpose_rhs} : (tensor<2x8x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  %0 = bb.linear %x, %w, %b {transpose_rhs} : (tensor<2x8x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  // CHECK: bb.linear %{{.*}}, %{{.*}}, %{{.*}} {transpose_rhs} : (tensor<8x64xbf16>, tensor<32x64xbf16>, tensor<32xf32>) -> tensor<8x32xf32>
  %1 = bb.linear %xb, %wb, %b {transpose_rhs} : (tensor<8x64xbf16>, tensor<32x64xbf16>, tensor<32xf32>) -> tensor<8x32xf32>
  return
}

// (C4) bf16 operands, an f32 result or a bf16 one.
// CHECK-LABEL: func.func @matmul_bf16
func.func @matmul_bf16(%a: tensor<8x64xbf16>, %b: tensor<64x32xbf16>) {
  // CHECK: bb.matmul %{{.*}}, %{{.*}} : tensor<8x64xbf16>, tensor<64x32xbf16> -> tensor<8x32xf32>
  %0 = bb.matmul %a, %b : tensor<8x64xbf16>, tensor<64x32xbf16> -> tensor<8x32xf32>
  // CHECK: bb.matmul %{{.*}}, %{{.*}} : tensor<8x64xbf16>, tensor<64x32xbf16> -> tensor<8x32xbf16>
  %1 = bb.matmul %a, %b : tensor<8x64xbf16>, tensor<64x32xbf16> -> tensor<8x32xbf16>
  return
}

// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x32x32xf32>, %[[W:.*]]: tensor<16x3x3x3xf32>, %[[B:.*]]: tensor<16xf32>, %[[D:.*]]: tensor<1x8x9x9xf32>, %[[DW:.*]]: tensor<8x1x3x3xf32>)
func.func @conv(%x: tensor<1x3x32x32xf32>, %w: tensor<16x3x3x3xf32>, %b: tensor<16xf32>, %d: tensor<1x8x9x9xf32>, %dw: tensor<8x1x3x3xf32>) {
  // CHECK: bb.conv %[[X]], %[[W]], %[[B]] {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<1x16x32x32xf32>
  %0 = bb.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}
       : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<1x16x32x32xf32>
  // Depthwise (group = C), no bias, stride 2 and dilation 2.
  // CHECK: bb.conv %[[D]], %[[DW]] {dilations = array<i64: 2, 2>, group = 8 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x9x9xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x3x3xf32>
  %1 = bb.conv %d, %dw {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>, group = 8 : i64}
       : (tensor<1x8x9x9xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x3x3xf32>
  return
}

// CHECK-LABEL: func.func @pool
// CHECK-SAME: (%[[X:.*]]: tensor<1x16x32x32xf32>)
func.func @pool(%x: tensor<1x16x32x32xf32>) {
  // CHECK: bb.max_pool %[[X]] {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<1x16x32x32xf32> -> tensor<1x16x16x16xf32>
  %0 = bb.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : tensor<1x16x32x32xf32> -> tensor<1x16x16x16xf32>
  // CHECK: bb.max_pool %[[X]] {ceil_mode, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x16x32x32xf32> -> tensor<1x16x16x16xf32>
  %1 = bb.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode} : tensor<1x16x32x32xf32> -> tensor<1x16x16x16xf32>
  // CHECK: bb.avg_pool %[[X]] {count_include_pad, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x16x32x32xf32> -> tensor<1x16x16x16xf32>
  %2 = bb.avg_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, count_include_pad} : tensor<1x16x32x32xf32> -> tensor<1x16x16x16xf32>
  // CHECK: bb.avg_pool %[[X]] {kernel_shape = array<i64: 32, 32>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : tensor<1x16x32x32xf32> -> tensor<1x16x1x1xf32>
  %3 = bb.avg_pool %x {kernel_shape = array<i64: 32, 32>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>} : tensor<1x16x32x32xf32> -> tensor<1x16x1x1xf32>
  return
}

// CHECK-LABEL: func.func @norm
// CHECK-SAME: (%[[X:.*]]: tensor<1x16x8x8xf32>, %[[C:.*]]: tensor<16xf32>, %[[T:.*]]: tensor<2x16x64xf32>, %[[G:.*]]: tensor<64xf32>, %[[G2:.*]]: tensor<16x64xf32>)
func.func @norm(%x: tensor<1x16x8x8xf32>, %c: tensor<16xf32>, %t: tensor<2x16x64xf32>, %g: tensor<64xf32>, %g2: tensor<16x64xf32>) {
  // CHECK: bb.batch_norm %[[X]], %[[C]], %[[C]], %[[C]], %[[C]] {epsilon = 1.000000e-03 : f32} : (tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  %0 = bb.batch_norm %x, %c, %c, %c, %c {epsilon = 1.0e-03 : f32}
       : (tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  // CHECK: bb.batch_norm %[[X]], %[[C]], %[[C]], %[[C]], %[[C]] : (
  %1 = bb.batch_norm %x, %c, %c, %c, %c
       : (tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  // CHECK: bb.layer_norm %[[T]], %[[G]], %[[G]] : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  %2 = bb.layer_norm %t, %g, %g {axis = -1 : i64, epsilon = 1.0e-05 : f32}
       : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  // No bias, normalized over the last two dimensions.
  // CHECK: bb.layer_norm %[[T]], %[[G2]] {axis = 1 : i64, epsilon = 9.99999997E-7 : f32} : (tensor<2x16x64xf32>, tensor<16x64xf32>) -> tensor<2x16x64xf32>
  %3 = bb.layer_norm %t, %g2 {axis = 1 : i64, epsilon = 1.0e-06 : f32}
       : (tensor<2x16x64xf32>, tensor<16x64xf32>) -> tensor<2x16x64xf32>
  return
}

// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x8x8xf32>)
func.func @softmax(%x: tensor<2x4x8x8xf32>) {
  // CHECK: bb.softmax %[[X]] : tensor<2x4x8x8xf32>
  %0 = bb.softmax %x {axis = -1 : i64} : tensor<2x4x8x8xf32>
  // CHECK: bb.softmax %[[X]] {axis = 1 : i64} : tensor<2x4x8x8xf32>
  %1 = bb.softmax %x {axis = 1 : i64} : tensor<2x4x8x8xf32>
  // CHECK: bb.log_softmax %[[X]] : tensor<2x4x8x8xf32>
  %2 = bb.log_softmax %x : tensor<2x4x8x8xf32>
  // CHECK: bb.log_softmax %[[X]] {axis = -4 : i64} : tensor<2x4x8x8xf32>
  %3 = bb.log_softmax %x {axis = -4 : i64} : tensor<2x4x8x8xf32>
  return
}

// CHECK-LABEL: func.func @reduce
// CHECK-SAME: (%[[X:.*]]: tensor<1x16x8x8xf32>, %[[I:.*]]: tensor<3x5xi64>)
func.func @reduce(%x: tensor<1x16x8x8xf32>, %i: tensor<3x5xi64>) {
  // CHECK: bb.reduce_sum %[[X]] {axes = array<i64: 2, 3>, keepdims} : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %0 = bb.reduce_sum %x {axes = array<i64: 2, 3>, keepdims} : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  // CHECK: bb.reduce_mean %[[X]] {axes = array<i64: 1, 3>} : tensor<1x16x8x8xf32> -> tensor<1x8xf32>
  %1 = bb.reduce_mean %x {axes = array<i64: 1, 3>} : tensor<1x16x8x8xf32> -> tensor<1x8xf32>
  // CHECK: bb.reduce_max %[[I]] {axes = array<i64: 0, 1>} : tensor<3x5xi64> -> tensor<i64>
  %2 = bb.reduce_max %i {axes = array<i64: 0, 1>} : tensor<3x5xi64> -> tensor<i64>
  // CHECK: bb.reduce_sum %[[I]] {axes = array<i64>} : tensor<3x5xi64> -> tensor<3x5xi64>
  %3 = bb.reduce_sum %i {axes = array<i64>} : tensor<3x5xi64> -> tensor<3x5xi64>
  return
}

// CHECK-LABEL: func.func @data_movement
// CHECK-SAME: (%[[E:.*]]: tensor<256x64xf32>, %[[IDX:.*]]: tensor<2x16xi64>, %[[X:.*]]: tensor<2x16x64xf32>, %[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<2x5xf32>, %[[R:.*]]: tensor<1x16xi64>, %[[I32:.*]]: tensor<4xi32>)
func.func @data_movement(%wte: tensor<256x64xf32>, %idx: tensor<2x16xi64>, %x: tensor<2x16x64xf32>,
                         %a: tensor<2x3xf32>, %b: tensor<2x5xf32>, %r: tensor<1x16xi64>, %i32: tensor<4xi32>) {
  // CHECK: bb.gather %[[E]], %[[IDX]] : tensor<256x64xf32>, tensor<2x16xi64> -> tensor<2x16x64xf32>
  %0 = bb.gather %wte, %idx {axis = 0 : i64} : tensor<256x64xf32>, tensor<2x16xi64> -> tensor<2x16x64xf32>
  // CHECK: bb.gather %[[E]], %[[I32]] {axis = 1 : i64} : tensor<256x64xf32>, tensor<4xi32> -> tensor<256x4xf32>
  %1 = bb.gather %wte, %i32 {axis = 1 : i64} : tensor<256x64xf32>, tensor<4xi32> -> tensor<256x4xf32>
  // CHECK: bb.reshape %[[X]] : tensor<2x16x64xf32> -> tensor<2x16x4x16xf32>
  %2 = bb.reshape %x : tensor<2x16x64xf32> -> tensor<2x16x4x16xf32>
  // CHECK: bb.transpose %{{.*}} {permutation = array<i64: 0, 2, 1, 3>} : tensor<2x16x4x16xf32> -> tensor<2x4x16x16xf32>
  %3 = bb.transpose %2 {permutation = array<i64: 0, 2, 1, 3>} : tensor<2x16x4x16xf32> -> tensor<2x4x16x16xf32>
  // CHECK: bb.concat %[[A]], %[[B]], %[[A]] {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x11xf32>
  %4 = bb.concat %a, %b, %a {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x11xf32>
  // CHECK: bb.slice %[[B]] {limits = array<i64: 2, 5>, starts = array<i64: 0, 1>, strides = array<i64: 1, 2>} : tensor<2x5xf32> -> tensor<2x2xf32>
  %5 = bb.slice %b {starts = array<i64: 0, 1>, limits = array<i64: 2, 5>, strides = array<i64: 1, 2>} : tensor<2x5xf32> -> tensor<2x2xf32>
  // Negative stride: reverse the last dimension.
  // CHECK: bb.slice %[[B]] {limits = array<i64: 2, -1>, starts = array<i64: 0, 4>, strides = array<i64: 1, -1>} : tensor<2x5xf32> -> tensor<2x5xf32>
  %6 = bb.slice %b {starts = array<i64: 0, 4>, limits = array<i64: 2, -1>, strides = array<i64: 1, -1>} : tensor<2x5xf32> -> tensor<2x5xf32>
  // CHECK: bb.broadcast_to %[[R]] : tensor<1x16xi64> -> tensor<2x16xi64>
  %7 = bb.broadcast_to %r : tensor<1x16xi64> -> tensor<2x16xi64>
  // CHECK: bb.broadcast_to %[[I32]] : tensor<4xi32> -> tensor<3x2x4xi32>
  %8 = bb.broadcast_to %i32 : tensor<4xi32> -> tensor<3x2x4xi32>
  return
}

// CHECK-LABEL: func.func @trilu
// CHECK-SAME: (%[[X:.*]]: tensor<8x8xf32>, %[[M:.*]]: tensor<2x3x4xi64>)
func.func @trilu(%x: tensor<8x8xf32>, %m: tensor<2x3x4xi64>) {
  // CHECK: bb.trilu %[[X]] {upper = false} : tensor<8x8xf32>
  %0 = bb.trilu %x {upper = false, k = 0 : i64} : tensor<8x8xf32>
  // CHECK: bb.trilu %[[M]] {k = -1 : i64, upper = true} : tensor<2x3x4xi64>
  %1 = bb.trilu %m {upper = true, k = -1 : i64} : tensor<2x3x4xi64>
  return
}

// CHECK-LABEL: func.func @gradients
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x8x8xf32>, %[[W:.*]]: tensor<6x2x3x3xf32>, %[[DY:.*]]: tensor<1x6x4x4xf32>, %[[P:.*]]: tensor<1x4x4x4xf32>, %[[S:.*]]: tensor<2x3xf32>)
func.func @gradients(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>, %dy: tensor<1x6x4x4xf32>,
                     %p: tensor<1x4x4x4xf32>, %s: tensor<2x3xf32>) {
  // CHECK: bb.conv_input_grad %[[DY]], %[[W]] {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x6x4x4xf32>, tensor<6x2x3x3xf32>) -> tensor<1x4x8x8xf32>
  %0 = bb.conv_input_grad %dy, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64}
       : (tensor<1x6x4x4xf32>, tensor<6x2x3x3xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: bb.conv_weight_grad %[[X]], %[[DY]] {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>, tensor<1x6x4x4xf32>) -> tensor<6x2x3x3xf32>
  %1 = bb.conv_weight_grad %x, %dy {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64}
       : (tensor<1x4x8x8xf32>, tensor<1x6x4x4xf32>) -> tensor<6x2x3x3xf32>
  // CHECK: bb.max_pool_grad %[[X]], %[[P]] {ceil_mode, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x4x8x8xf32>, tensor<1x4x4x4xf32> -> tensor<1x4x8x8xf32>
  %2 = bb.max_pool_grad %x, %p {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode}
       : tensor<1x4x8x8xf32>, tensor<1x4x4x4xf32> -> tensor<1x4x8x8xf32>
  // CHECK: bb.avg_pool_grad %[[P]] {count_include_pad, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<1x4x4x4xf32> -> tensor<1x4x8x8xf32>
  %3 = bb.avg_pool_grad %p {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, count_include_pad}
       : tensor<1x4x4x4xf32> -> tensor<1x4x8x8xf32>
  // CHECK: bb.slice_grad %[[S]] {limits = array<i64: 4, -1>, starts = array<i64: 1, 5>, strides = array<i64: 2, -2>} : tensor<2x3xf32> -> tensor<4x6xf32>
  %4 = bb.slice_grad %s {starts = array<i64: 1, 5>, limits = array<i64: 4, -1>, strides = array<i64: 2, -2>}
       : tensor<2x3xf32> -> tensor<4x6xf32>
  return
}

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %m: tensor<1x1x16x16xi1>) {
  // CHECK: %[[O:.*]], %[[L:.*]] = bb.attention %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} {scale = 1.250000e-01 : f32} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> mask tensor<1x1x16x16xi1> -> tensor<2x4x16x8xf32>, tensor<2x4x16xf32>
  %o, %l = bb.attention %q, %k, %v mask %m {scale = 0.125 : f32}
      : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> mask tensor<1x1x16x16xi1>
      -> tensor<2x4x16x8xf32>, tensor<2x4x16xf32>
  // CHECK: bb.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %[[L]], %[[O]] mask %{{.*}} {scale = 1.250000e-01 : f32} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16xf32>, tensor<2x4x16x8xf32> mask tensor<1x1x16x16xi1> -> tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
  %dq, %dk, %dv = bb.attention_grad %q, %k, %v, %l, %o mask %m {scale = 0.125 : f32}
      : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16xf32>,
        tensor<2x4x16x8xf32> mask tensor<1x1x16x16xi1>
      -> tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
  // CHECK: bb.attention %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x4x16x8xf32>
  %o2, %l2 = bb.attention %q, %k, %v : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>, tensor<2x4x16xf32>
  return
}

// CHECK-LABEL: func.func @layer_norm_grad
func.func @layer_norm_grad(%x: tensor<2x16x64xf32>, %g: tensor<64xf32>, %dy: tensor<2x16x64xf32>) {
  // CHECK: bb.layer_norm_grad %{{.*}}, %{{.*}}, %{{.*}} {axis = 2 : i64} : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<2x16x64xf32>) -> (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  %dx, %ds, %db = bb.layer_norm_grad %x, %g, %dy {axis = 2 : i64}
      : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<2x16x64xf32>) -> (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

