// RUN: bb-opt %s -split-input-file -canonicalize | FileCheck %s

// Folders of the bb ops (dialects/bb/BbFolders.cpp) and the reshape/transpose
// canonicalization patterns.

// CHECK-LABEL: func.func @binary_broadcast
// CHECK-DAG: %[[ADD:.*]] = bb.constant dense<{{\[\[}}1.100000e+01, 2.200000e+01, 3.300000e+01], [1.400000e+01, 2.500000e+01, 3.600000e+01]]> : tensor<2x3xf32>
// CHECK-DAG: %[[SUB:.*]] = bb.constant dense<{{\[\[}}-9, -19], [-8, -18], [-7, -17]]> : tensor<3x2xi32>
// CHECK-DAG: %[[MUL:.*]] = bb.constant dense<[1, 4, 9]> : tensor<3xi64>
// CHECK-NOT: bb.add
// CHECK-NOT: bb.sub
// CHECK-NOT: bb.mul
// CHECK: return %[[ADD]], %[[SUB]], %[[MUL]]
func.func @binary_broadcast() -> (tensor<2x3xf32>, tensor<3x2xi32>, tensor<3xi64>) {
  %a = bb.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %b = bb.constant dense<[10.0, 20.0, 30.0]> : tensor<3xf32>
  // [2x3] + [3]: the row broadcasts over both rows.
  %0 = bb.add %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  // [3x1] - [1x2]: both operands stretch.
  %c = bb.constant dense<[[1], [2], [3]]> : tensor<3x1xi32>
  %d = bb.constant dense<[[10, 20]]> : tensor<1x2xi32>
  %1 = bb.sub %c, %d : tensor<3x1xi32>, tensor<1x2xi32> -> tensor<3x2xi32>
  %i = bb.constant dense<[1, 2, 3]> : tensor<3xi64>
  %2 = bb.mul %i, %i : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  return %0, %1, %2 : tensor<2x3xf32>, tensor<3x2xi32>, tensor<3xi64>
}

// -----

// Integer division truncates toward zero; division by zero is not folded
// for integers (a runtime matter) but gives +-inf for floats.
// CHECK-LABEL: func.func @div_pow
// CHECK-DAG: %[[DIV:.*]] = bb.constant dense<[3, -3, -3, 3]> : tensor<4xi64>
// CHECK-DAG: %[[POW:.*]] = bb.constant dense<[8, 8, -8, -8]> : tensor<4xi64>
// CHECK-DAG: %[[FPOW:.*]] = bb.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[INF:.*]] = bb.constant dense<[0x7F800000, 0xFF800000]> : tensor<2xf32>
// CHECK-DAG: %[[BYZERO:.*]] = bb.div %{{.*}}, %{{.*}} : tensor<2xi64>, tensor<i64> -> tensor<2xi64>
// CHECK-DAG: %[[NEGPOW:.*]] = bb.pow %{{.*}}, %{{.*}} : tensor<2xi64>, tensor<i64> -> tensor<2xi64>
// CHECK: return %[[DIV]], %[[POW]], %[[FPOW]], %[[INF]], %[[BYZERO]], %[[NEGPOW]]
func.func @div_pow() -> (tensor<4xi64>, tensor<4xi64>, tensor<3xf32>, tensor<2xf32>, tensor<2xi64>, tensor<2xi64>) {
  %e = bb.constant dense<[7, -7, 7, -7]> : tensor<4xi64>
  %f = bb.constant dense<[2, 2, -2, -2]> : tensor<4xi64>
  %0 = bb.div %e, %f : tensor<4xi64>, tensor<4xi64> -> tensor<4xi64>
  %three = bb.constant dense<3> : tensor<i64>
  %1 = bb.pow %f, %three : tensor<4xi64>, tensor<i64> -> tensor<4xi64>
  %g = bb.constant dense<[1.0, 4.0, 9.0]> : tensor<3xf32>
  %h = bb.constant dense<0.5> : tensor<f32>
  %2 = bb.pow %g, %h : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
  %z = bb.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %fz = bb.constant dense<0.0> : tensor<f32>
  %3 = bb.div %z, %fz : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  %n = bb.constant dense<[1, 2]> : tensor<2xi64>
  %iz = bb.constant dense<0> : tensor<i64>
  %4 = bb.div %n, %iz : tensor<2xi64>, tensor<i64> -> tensor<2xi64>
  %m1 = bb.constant dense<-1> : tensor<i64>
  %5 = bb.pow %n, %m1 : tensor<2xi64>, tensor<i64> -> tensor<2xi64>
  return %0, %1, %2, %3, %4, %5 : tensor<4xi64>, tensor<4xi64>, tensor<3xf32>, tensor<2xf32>, tensor<2xi64>, tensor<2xi64>
}

// -----

// Every unary op folds elementwise on x = [-3, 0, 1, 4] (p = [1, 4, 0.25, 16]).
// CHECK-LABEL: func.func @unary
// CHECK-DAG: %[[NEG:.*]] = bb.constant dense<[3.000000e+00, -0.000000e+00, -1.000000e+00, -4.000000e+00]>
// CHECK-DAG: %[[ABS:.*]] = bb.constant dense<[3.000000e+00, 0.000000e+00, 1.000000e+00, 4.000000e+00]>
// CHECK-DAG: %[[SQRT:.*]] = bb.constant dense<[1.000000e+00, 2.000000e+00, 5.000000e-01, 4.000000e+00]>
// CHECK-DAG: %[[EXP:.*]] = bb.constant dense<[0.0497870669, 1.000000e+00, 2.71828175, 54.5981483]>
// CHECK-DAG: %[[LOG:.*]] = bb.constant dense<[0.000000e+00, 1.38629436, -1.38629436, 2.77258873]>
// CHECK-DAG: %[[ERF:.*]] = bb.constant dense<[-0.999977886, 0.000000e+00, 0.842700779, 1.000000e+00]>
// CHECK-DAG: %[[TANH:.*]] = bb.constant dense<[-0.995054781, 0.000000e+00, 0.761594176, 0.999329328]>
// CHECK-DAG: %[[SIGMOID:.*]] = bb.constant dense<[0.0474258736, 5.000000e-01, 0.731058597, 0.982013761]>
// CHECK-DAG: %[[RELU:.*]] = bb.constant dense<[0.000000e+00, 0.000000e+00, 1.000000e+00, 4.000000e+00]>
// CHECK-DAG: %[[HSWISH:.*]] = bb.constant dense<[-0.000000e+00, 0.000000e+00, 0.666666686, 4.000000e+00]>
// CHECK-DAG: %[[HSIG:.*]] = bb.constant dense<[0.000000e+00, 5.000000e-01, 0.699999988, 1.000000e+00]>
// CHECK-DAG: %[[HSIG2:.*]] = bb.constant dense<[0.000000e+00, 2.500000e-01, 7.500000e-01, 1.000000e+00]>
// CHECK-DAG: %[[GELU:.*]] = bb.constant dense<[-0.00404969417, 0.000000e+00, 0.841344773, 3.9998734]>
// CHECK-DAG: %[[GELUT:.*]] = bb.constant dense<[-0.00363739207, 0.000000e+00, 8.411920e-01, 3.99992967]>
// CHECK: return %[[NEG]], %[[ABS]], %[[SQRT]], %[[EXP]], %[[LOG]], %[[ERF]], %[[TANH]], %[[SIGMOID]], %[[RELU]], %[[HSWISH]], %[[HSIG]], %[[HSIG2]], %[[GELU]], %[[GELUT]] :
func.func @unary() -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %x = bb.constant dense<[-3.0, 0.0, 1.0, 4.0]> : tensor<4xf32>
  %p = bb.constant dense<[1.0, 4.0, 0.25, 16.0]> : tensor<4xf32>
  %0 = bb.neg %x : tensor<4xf32>
  %1 = bb.abs %x : tensor<4xf32>
  %2 = bb.sqrt %p : tensor<4xf32>
  %3 = bb.exp %x : tensor<4xf32>
  %4 = bb.log %p : tensor<4xf32>
  %5 = bb.erf %x : tensor<4xf32>
  %6 = bb.tanh %x : tensor<4xf32>
  %7 = bb.sigmoid %x : tensor<4xf32>
  %8 = bb.relu %x : tensor<4xf32>
  %9 = bb.hard_swish %x : tensor<4xf32>
  %10 = bb.hard_sigmoid %x : tensor<4xf32>
  %11 = bb.hard_sigmoid %x {alpha = 0.5 : f32, beta = 0.25 : f32} : tensor<4xf32>
  %12 = bb.gelu %x : tensor<4xf32>
  %13 = bb.gelu %x {approximation = #bb.approximation<tanh>} : tensor<4xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Model weights (dense_resource) and constants over the size limit (65536
// elements) are never folded.
// CHECK-LABEL: func.func @not_folded
// CHECK-DAG: %[[W:.*]] = bb.constant dense_resource<w> : tensor<2xf32>
// CHECK-DAG: %[[BIG:.*]] = bb.constant dense<1.000000e+00> : tensor<65537xf32>
// CHECK-DAG: bb.neg %[[W]] : tensor<2xf32>
// CHECK-DAG: bb.neg %[[BIG]] : tensor<65537xf32>
func.func @not_folded() -> (tensor<2xf32>, tensor<65537xf32>) {
  %w = bb.constant dense_resource<w> : tensor<2xf32>
  %0 = bb.neg %w : tensor<2xf32>
  %big = bb.constant dense<1.0> : tensor<65537xf32>
  %1 = bb.neg %big : tensor<65537xf32>
  return %0, %1 : tensor<2xf32>, tensor<65537xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F00000040"
    }
  }
#-}

// -----

// CHECK-LABEL: func.func @compare_select
// CHECK-DAG: %[[LE:.*]] = bb.constant dense<{{\[\[}}true, true, true], [false, false, true]]> : tensor<2x3xi1>
// CHECK-DAG: %[[NE:.*]] = bb.constant dense<[true, false, true]> : tensor<3xi1>
// CHECK-DAG: %[[GT:.*]] = bb.constant dense<[true, false]> : tensor<2xi1>
// CHECK-DAG: %[[SEL:.*]] = bb.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00, 3.000000e+00], [-1.000000e+00, -1.000000e+00, -1.000000e+00]]> : tensor<2x3xf32>
// CHECK: return %[[LE]], %[[NE]], %[[GT]], %[[SEL]]
func.func @compare_select() -> (tensor<2x3xi1>, tensor<3xi1>, tensor<2xi1>, tensor<2x3xf32>) {
  %a = bb.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
  %b = bb.constant dense<[2, 2, 7]> : tensor<3xi64>
  %0 = bb.compare <le>, %a, %b : tensor<2x3xi64>, tensor<3xi64> -> tensor<2x3xi1>
  %f = bb.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %g = bb.constant dense<2.0> : tensor<f32>
  %1 = bb.compare <ne>, %f, %g : tensor<3xf32>, tensor<f32> -> tensor<3xi1>
  // Unsigned: 200 > 100 (not -56 > 100).
  %u = bb.constant dense<[200, 1]> : tensor<2xui8>
  %v = bb.constant dense<100> : tensor<ui8>
  %2 = bb.compare <gt>, %u, %v : tensor<2xui8>, tensor<ui8> -> tensor<2xi1>
  // Per-row condition, scalar on_false.
  %t = bb.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %n = bb.constant dense<-1.0> : tensor<f32>
  %c = bb.constant dense<[[true], [false]]> : tensor<2x1xi1>
  %3 = bb.select %c, %t, %n : tensor<2x1xi1>, tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
  return %0, %1, %2, %3 : tensor<2x3xi1>, tensor<3xi1>, tensor<2xi1>, tensor<2x3xf32>
}

// -----

// A splat condition picks a whole branch when that branch has the result
// type; a branch that would need broadcasting stays a select.
// CHECK-LABEL: func.func @select_uniform
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>, %[[Y:.*]]: tensor<3xf32>, %[[Z:.*]]: tensor<f32>)
// CHECK: %[[S:.*]] = bb.select %{{.*}}, %[[Z]], %[[Y]]
// CHECK: return %[[X]], %[[Y]], %[[S]]
func.func @select_uniform(%x: tensor<3xf32>, %y: tensor<3xf32>, %z: tensor<f32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %t = bb.constant dense<true> : tensor<3xi1>
  %f = bb.constant dense<false> : tensor<i1>
  %0 = bb.select %t, %x, %y : tensor<3xi1>, tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  %1 = bb.select %f, %x, %y : tensor<i1>, tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  %2 = bb.select %t, %z, %y : tensor<3xi1>, tensor<f32>, tensor<3xf32> -> tensor<3xf32>
  return %0, %1, %2 : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @convert
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>)
// CHECK-DAG: %[[TRUNC:.*]] = bb.constant dense<[2, -2, 0]> : tensor<3xi64>
// CHECK-DAG: %[[NARROW:.*]] = bb.constant dense<[0, 1, -1, 44]> : tensor<4xi8>
// CHECK-DAG: %[[BOOL:.*]] = bb.constant dense<[false, true, true, true]> : tensor<4xi1>
// CHECK-DAG: %[[TOF:.*]] = bb.constant dense<[0.000000e+00, 1.000000e+00, -1.000000e+00, 3.000000e+02]> : tensor<4xf32>
// CHECK-DAG: %[[F16:.*]] = bb.constant dense<[2.699220e+00, -2.699220e+00, 0.000000e+00]> : tensor<3xf16>
// CHECK-DAG: %[[U8:.*]] = bb.constant dense<[1, 0]> : tensor<2xui8>
// CHECK-DAG: %[[FBOOL:.*]] = bb.constant dense<[true, true, false]> : tensor<3xi1>
// CHECK: return %[[TRUNC]], %[[NARROW]], %[[BOOL]], %[[TOF]], %[[F16]], %[[U8]], %[[FBOOL]], %[[X]] :
func.func @convert(%x: tensor<3xf32>) -> (tensor<3xi64>, tensor<4xi8>, tensor<4xi1>, tensor<4xf32>, tensor<3xf16>, tensor<2xui8>, tensor<3xi1>, tensor<3xf32>) {
  // float -> int truncates toward zero.
  %ff = bb.constant dense<[2.7, -2.7, 0.0]> : tensor<3xf32>
  %0 = bb.convert %ff : tensor<3xf32> -> tensor<3xi64>
  // int -> narrower int wraps (300 mod 256 = 44).
  %ii = bb.constant dense<[0, 1, -1, 300]> : tensor<4xi64>
  %1 = bb.convert %ii : tensor<4xi64> -> tensor<4xi8>
  // to i1 is x != 0.
  %2 = bb.convert %ii : tensor<4xi64> -> tensor<4xi1>
  %3 = bb.convert %ii : tensor<4xi64> -> tensor<4xf32>
  // f32 -> f16 rounds to nearest (2.7 -> 2.69922).
  %4 = bb.convert %ff : tensor<3xf32> -> tensor<3xf16>
  %bb = bb.constant dense<[true, false]> : tensor<2xi1>
  %5 = bb.convert %bb : tensor<2xi1> -> tensor<2xui8>
  %6 = bb.convert %ff : tensor<3xf32> -> tensor<3xi1>
  // Same type: the input itself.
  %7 = bb.convert %x : tensor<3xf32> -> tensor<3xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<3xi64>, tensor<4xi8>, tensor<4xi1>, tensor<4xf32>, tensor<3xf16>, tensor<2xui8>, tensor<3xi1>, tensor<3xf32>
}

// -----

// Data movement on constants. d = [[1, 2, 3], [4, 5, 6]].
// CHECK-LABEL: func.func @move
// CHECK-DAG: %[[G1:.*]] = bb.constant dense<{{\[\[}}3, 1], [6, 4]]> : tensor<2x2xi64>
// CHECK-DAG: %[[G0:.*]] = bb.constant dense<{{\[\[}}4, 5, 6], [1, 2, 3], [4, 5, 6]]> : tensor<3x3xi64>
// CHECK-DAG: %[[CAT:.*]] = bb.constant dense<{{\[\[}}7, 1, 2, 3], [8, 4, 5, 6]]> : tensor<2x4xi64>
// CHECK-DAG: %[[CAT0:.*]] = bb.constant dense<{{\[\[}}1, 2, 3], [4, 5, 6], [9, 9, 9]]> : tensor<3x3xi64>
// CHECK-DAG: %[[SL:.*]] = bb.constant dense<{{\[\[}}1, 3], [4, 6]]> : tensor<2x2xi64>
// CHECK-DAG: %[[REV:.*]] = bb.constant dense<{{\[\[}}6, 5, 4], [3, 2, 1]]> : tensor<2x3xi64>
// CHECK-DAG: %[[TR:.*]] = bb.constant dense<{{\[\[}}1, 4], [2, 5], [3, 6]]> : tensor<3x2xi64>
// CHECK-DAG: %[[RS:.*]] = bb.constant dense<[1, 2, 3, 4, 5, 6]> : tensor<6xi64>
// CHECK-DAG: %[[BC:.*]] = bb.constant dense<{{\[\[\[}}1, 2, 3], [1, 2, 3]], {{\[\[}}1, 2, 3], [1, 2, 3]]]> : tensor<2x2x3xi64>
// CHECK-DAG: %[[SPLAT:.*]] = bb.constant dense<5> : tensor<2xi64>
// CHECK-NOT: bb.gather
// CHECK-NOT: bb.concat
// CHECK-NOT: bb.slice
// CHECK-NOT: bb.transpose
// CHECK-NOT: bb.reshape
// CHECK-NOT: bb.broadcast_to
// CHECK: return %[[G1]], %[[G0]], %[[CAT]], %[[CAT0]], %[[SL]], %[[REV]], %[[TR]], %[[RS]], %[[BC]], %[[SPLAT]] :
func.func @move() -> (tensor<2x2xi64>, tensor<3x3xi64>, tensor<2x4xi64>, tensor<3x3xi64>, tensor<2x2xi64>, tensor<2x3xi64>, tensor<3x2xi64>, tensor<6xi64>, tensor<2x2x3xi64>, tensor<2xi64>) {
  %d = bb.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
  // Negative indices count from the end.
  %i = bb.constant dense<[-1, 0]> : tensor<2xi64>
  %0 = bb.gather %d, %i {axis = 1 : i64} : tensor<2x3xi64>, tensor<2xi64> -> tensor<2x2xi64>
  %j = bb.constant dense<[1, 0, 1]> : tensor<3xi32>
  %1 = bb.gather %d, %j {axis = 0 : i64} : tensor<2x3xi64>, tensor<3xi32> -> tensor<3x3xi64>
  %k = bb.constant dense<[[7], [8]]> : tensor<2x1xi64>
  %2 = bb.concat %k, %d {axis = 1 : i64} : (tensor<2x1xi64>, tensor<2x3xi64>) -> tensor<2x4xi64>
  %nine = bb.constant dense<9> : tensor<1x3xi64>
  %3 = bb.concat %d, %nine {axis = 0 : i64} : (tensor<2x3xi64>, tensor<1x3xi64>) -> tensor<3x3xi64>
  %4 = bb.slice %d {starts = array<i64: 0, 0>, limits = array<i64: 2, 3>, strides = array<i64: 1, 2>} : tensor<2x3xi64> -> tensor<2x2xi64>
  // Negative strides reverse.
  %5 = bb.slice %d {starts = array<i64: 1, 2>, limits = array<i64: -1, -1>, strides = array<i64: -1, -1>} : tensor<2x3xi64> -> tensor<2x3xi64>
  %6 = bb.transpose %d {permutation = array<i64: 1, 0>} : tensor<2x3xi64> -> tensor<3x2xi64>
  %7 = bb.reshape %d : tensor<2x3xi64> -> tensor<6xi64>
  %r = bb.constant dense<[[1, 2, 3]]> : tensor<1x3xi64>
  %8 = bb.broadcast_to %r : tensor<1x3xi64> -> tensor<2x2x3xi64>
  // Moving a splat gives a splat.
  %s = bb.constant dense<5> : tensor<4xi64>
  %9 = bb.slice %s {starts = array<i64: 1>, limits = array<i64: 3>, strides = array<i64: 1>} : tensor<4xi64> -> tensor<2xi64>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9 : tensor<2x2xi64>, tensor<3x3xi64>, tensor<2x4xi64>, tensor<3x3xi64>, tensor<2x2xi64>, tensor<2x3xi64>, tensor<3x2xi64>, tensor<6xi64>, tensor<2x2x3xi64>, tensor<2xi64>
}

// -----

// An out-of-range constant index is left for the runtime to report.
// CHECK-LABEL: func.func @gather_out_of_range
// CHECK: bb.gather
func.func @gather_out_of_range() -> tensor<1x3xi64> {
  %d = bb.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
  %i = bb.constant dense<[2]> : tensor<1xi64>
  %0 = bb.gather %d, %i {axis = 0 : i64} : tensor<2x3xi64>, tensor<1xi64> -> tensor<1x3xi64>
  return %0 : tensor<1x3xi64>
}

// -----

// m = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], and a batch of two 2x2 matrices.
// CHECK-LABEL: func.func @trilu
// CHECK-DAG: %[[U1:.*]] = bb.constant dense<{{\[\[}}0, 2, 3], [0, 0, 6], [0, 0, 0]]> : tensor<3x3xi64>
// CHECK-DAG: %[[L0:.*]] = bb.constant dense<{{\[\[}}1, 0, 0], [4, 5, 0], [7, 8, 9]]> : tensor<3x3xi64>
// CHECK-DAG: %[[LM1:.*]] = bb.constant dense<{{\[\[}}0, 0, 0], [4, 0, 0], [7, 8, 0]]> : tensor<3x3xi64>
// CHECK-DAG: %[[UB:.*]] = bb.constant dense<{{\[\[\[}}1.000000e+00, 2.000000e+00], [0.000000e+00, 4.000000e+00]], {{\[\[}}5.000000e+00, 6.000000e+00], [0.000000e+00, 8.000000e+00]]]> : tensor<2x2x2xf32>
// CHECK: return %[[U1]], %[[L0]], %[[LM1]], %[[UB]]
func.func @trilu() -> (tensor<3x3xi64>, tensor<3x3xi64>, tensor<3x3xi64>, tensor<2x2x2xf32>) {
  %m = bb.constant dense<[[1, 2, 3], [4, 5, 6], [7, 8, 9]]> : tensor<3x3xi64>
  %0 = bb.trilu %m {upper = true, k = 1 : i64} : tensor<3x3xi64>
  %1 = bb.trilu %m {upper = false} : tensor<3x3xi64>
  %2 = bb.trilu %m {upper = false, k = -1 : i64} : tensor<3x3xi64>
  %b = bb.constant dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %3 = bb.trilu %b {upper = true} : tensor<2x2x2xf32>
  return %0, %1, %2, %3 : tensor<3x3xi64>, tensor<3x3xi64>, tensor<3x3xi64>, tensor<2x2x2xf32>
}

// -----

// Identity folds on non-constant operands.
// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = bb.transpose %x {permutation = array<i64: 0, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %1 = bb.reshape %x : tensor<2x3xf32> -> tensor<2x3xf32>
  %2 = bb.slice %x {starts = array<i64: 0, 0>, limits = array<i64: 2, 3>, strides = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %3 = bb.broadcast_to %x : tensor<2x3xf32> -> tensor<2x3xf32>
  %4 = bb.concat %x {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0, %1, %2, %3, %4 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// Not identities: a reversing slice of the same shape and a transpose of a
// square matrix keep their op.
// CHECK-LABEL: func.func @not_identities
// CHECK: bb.slice
// CHECK: bb.transpose
func.func @not_identities(%x: tensor<3x3xf32>) -> (tensor<3x3xf32>, tensor<3x3xf32>) {
  %0 = bb.slice %x {starts = array<i64: 2, 0>, limits = array<i64: -1, 3>, strides = array<i64: -1, 1>} : tensor<3x3xf32> -> tensor<3x3xf32>
  %1 = bb.transpose %x {permutation = array<i64: 1, 0>} : tensor<3x3xf32> -> tensor<3x3xf32>
  return %0, %1 : tensor<3x3xf32>, tensor<3x3xf32>
}

// -----

// reshape(reshape(x)) is one reshape; back to the original shape it vanishes.
// CHECK-LABEL: func.func @reshape_chain
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[R:.*]] = bb.reshape %[[X]] : tensor<2x3x4xf32> -> tensor<4x6xf32>
// CHECK-NEXT: return %[[R]], %[[X]]
func.func @reshape_chain(%x: tensor<2x3x4xf32>) -> (tensor<4x6xf32>, tensor<2x3x4xf32>) {
  %0 = bb.reshape %x : tensor<2x3x4xf32> -> tensor<24xf32>
  %1 = bb.reshape %0 : tensor<24xf32> -> tensor<4x6xf32>
  %2 = bb.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %3 = bb.reshape %2 : tensor<6x4xf32> -> tensor<2x3x4xf32>
  return %1, %3 : tensor<4x6xf32>, tensor<2x3x4xf32>
}

// -----

// transpose(transpose(x, p), q) is transpose(x, p o q); inverse permutations
// cancel.
// CHECK-LABEL: func.func @transpose_chain
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[T:.*]] = bb.transpose %[[X]] {permutation = array<i64: 2, 1, 0>} : tensor<2x3x4xf32> -> tensor<4x3x2xf32>
// CHECK-NEXT: return %[[T]], %[[X]]
func.func @transpose_chain(%x: tensor<2x3x4xf32>) -> (tensor<4x3x2xf32>, tensor<2x3x4xf32>) {
  // [1, 2, 0] then [1, 0, 2]: result dim i is x dim p[q[i]] = [2, 1, 0].
  %0 = bb.transpose %x {permutation = array<i64: 1, 2, 0>} : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %1 = bb.transpose %0 {permutation = array<i64: 1, 0, 2>} : tensor<3x4x2xf32> -> tensor<4x3x2xf32>
  // [1, 2, 0] then its inverse [2, 0, 1].
  %2 = bb.transpose %x {permutation = array<i64: 1, 2, 0>} : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %3 = bb.transpose %2 {permutation = array<i64: 2, 0, 1>} : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
  return %1, %3 : tensor<4x3x2xf32>, tensor<2x3x4xf32>
}
