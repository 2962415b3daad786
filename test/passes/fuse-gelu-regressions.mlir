// Regression tests for two bb-fuse-gelu misses found in review (both fixed):
// an inner product on the right of the root, and half-precision constants.
// RUN: bb-opt %s -split-input-file --bb-fuse-gelu | FileCheck %s

// x * ((1 + erf(x / sqrt 2)) * 0.5): the root's *right* operand is the inner
// product. FuseGeluPattern only expands an inner bb.mul when it is the first
// factor collected (`factors.empty()`), so this grouping, which the pattern's
// comment lists as supported, is never matched.
// CHECK-LABEL: func.func @inner_product_on_rhs
// CHECK-NEXT: bb.gelu
func.func @inner_product_on_rhs(%x: tensor<3xf32>) -> tensor<3xf32> {
  %sqrt2 = bb.constant dense<1.4142135> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.div %x, %sqrt2 : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
  %1 = bb.erf %0 : tensor<3xf32>
  %2 = bb.add %1, %one : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
  %3 = bb.mul %2, %half : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
  %4 = bb.mul %x, %3 : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %4 : tensor<3xf32>
}

// -----

// PyTorch's erf form exported in f16: sqrt(2) rounds to 1.4140625 in f16,
// 1.5e-4 away from sqrt(2), outside isSplat's fixed 1e-4 tolerance, so a
// half-precision model's GELU is never fused.
// CHECK-LABEL: func.func @erf_div_f16
// CHECK-NEXT: bb.gelu
func.func @erf_div_f16(%x: tensor<3xf16>) -> tensor<3xf16> {
  %sqrt2 = bb.constant dense<1.4142135> : tensor<f16>
  %one = bb.constant dense<1.0> : tensor<f16>
  %half = bb.constant dense<0.5> : tensor<f16>
  %0 = bb.div %x, %sqrt2 : tensor<3xf16>, tensor<f16> -> tensor<3xf16>
  %1 = bb.erf %0 : tensor<3xf16>
  %2 = bb.add %1, %one : tensor<3xf16>, tensor<f16> -> tensor<3xf16>
  %3 = bb.mul %x, %2 : tensor<3xf16>, tensor<3xf16> -> tensor<3xf16>
  %4 = bb.mul %3, %half : tensor<3xf16>, tensor<f16> -> tensor<3xf16>
  return %4 : tensor<3xf16>
}
