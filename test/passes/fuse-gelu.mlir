// RUN: bb-opt %s -split-input-file --bb-fuse-gelu | FileCheck %s

// The erf form exactly as PyTorch's nn.GELU() exports it to ONNX (opset < 20):
// Div(x, 1.4142135) -> Erf -> Add(_, 1) -> Mul(x, _) -> Mul(_, 0.5).
// CHECK-LABEL: func.func @erf_pytorch
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>)
// CHECK-NEXT: %[[G:.*]] = bb.gelu %[[X]] : tensor<2x8xf32>
// CHECK-NEXT: return %[[G]]
func.func @erf_pytorch(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %sqrt2 = bb.constant dense<1.4142135> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.div %x, %sqrt2 : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  %1 = bb.erf %0 : tensor<2x8xf32>
  %2 = bb.add %1, %one : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  %3 = bb.mul %x, %2 : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %4 = bb.mul %3, %half : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  return %4 : tensor<2x8xf32>
}

// -----

// Commuted operands of every commutative op (1 + erf, term * x, 0.5 * prod),
// and splat constants of full shape instead of scalars.
// CHECK-LABEL: func.func @erf_commuted
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NEXT: %[[G:.*]] = bb.gelu %[[X]] : tensor<4xf32>
// CHECK-NEXT: return %[[G]]
func.func @erf_commuted(%x: tensor<4xf32>) -> tensor<4xf32> {
  %sqrt2 = bb.constant dense<1.4142135> : tensor<4xf32>
  %one = bb.constant dense<1.0> : tensor<4xf32>
  %half = bb.constant dense<0.5> : tensor<1xf32>
  %0 = bb.div %x, %sqrt2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %1 = bb.erf %0 : tensor<4xf32>
  %2 = bb.add %one, %1 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %3 = bb.mul %2, %x : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %4 = bb.mul %half, %3 : tensor<1xf32>, tensor<4xf32> -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// Multiplication by 1/sqrt(2) instead of division by sqrt(2), and the 0.5
// grouped with x first: (x * 0.5) * (1 + erf(x * 0.70710677)).
// CHECK-LABEL: func.func @erf_mul_form_half_first
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NEXT: %[[G:.*]] = bb.gelu %[[X]] : tensor<4xf32>
// CHECK-NEXT: return %[[G]]
func.func @erf_mul_form_half_first(%x: tensor<4xf32>) -> tensor<4xf32> {
  %rsqrt2 = bb.constant dense<0.70710677> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.mul %rsqrt2, %x : tensor<f32>, tensor<4xf32> -> tensor<4xf32>
  %1 = bb.erf %0 : tensor<4xf32>
  %2 = bb.add %1, %one : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %3 = bb.mul %x, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %4 = bb.mul %3, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// The 0.5 grouped with the erf term: ((1 + erf(x / sqrt 2)) * 0.5) * x, with
// a constant that is only within the 1e-4 tolerance of sqrt(2).
// CHECK-LABEL: func.func @erf_half_with_term
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>)
// CHECK-NEXT: %[[G:.*]] = bb.gelu %[[X]] : tensor<3xf32>
// CHECK-NEXT: return %[[G]]
func.func @erf_half_with_term(%x: tensor<3xf32>) -> tensor<3xf32> {
  %sqrt2 = bb.constant dense<1.41421> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.div %x, %sqrt2 : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
  %1 = bb.erf %0 : tensor<3xf32>
  %2 = bb.add %1, %one : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
  %3 = bb.mul %2, %half : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
  %4 = bb.mul %3, %x : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %4 : tensor<3xf32>
}

// -----

// f16, multiplying by 1/sqrt(2) (0.70710677 rounds to 0.70703 in f16, within
// the tolerance).
// CHECK-LABEL: func.func @erf_mul_form_f16
// CHECK-SAME: (%[[X:.*]]: tensor<3xf16>)
// CHECK-NEXT: %[[G:.*]] = bb.gelu %[[X]] : tensor<3xf16>
// CHECK-NEXT: return %[[G]]
func.func @erf_mul_form_f16(%x: tensor<3xf16>) -> tensor<3xf16> {
  %rsqrt2 = bb.constant dense<0.70710677> : tensor<f16>
  %one = bb.constant dense<1.0> : tensor<f16>
  %half = bb.constant dense<0.5> : tensor<f16>
  %0 = bb.mul %x, %rsqrt2 : tensor<3xf16>, tensor<f16> -> tensor<3xf16>
  %1 = bb.erf %0 : tensor<3xf16>
  %2 = bb.add %1, %one : tensor<3xf16>, tensor<f16> -> tensor<3xf16>
  %3 = bb.mul %x, %2 : tensor<3xf16>, tensor<3xf16> -> tensor<3xf16>
  %4 = bb.mul %3, %half : tensor<3xf16>, tensor<f16> -> tensor<3xf16>
  return %4 : tensor<3xf16>
}

// -----

// The tanh form as GPT-2's gelu_new exports it:
// 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))).
// CHECK-LABEL: func.func @tanh_gpt2
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x256xf32>)
// CHECK-NEXT: %[[G:.*]] = bb.gelu %[[X]] {approximation = #bb.approximation<tanh>} : tensor<2x16x256xf32>
// CHECK-NEXT: return %[[G]]
func.func @tanh_gpt2(%x: tensor<2x16x256xf32>) -> tensor<2x16x256xf32> {
  %half = bb.constant dense<0.5> : tensor<f32>
  %three = bb.constant dense<3.0> : tensor<f32>
  %c = bb.constant dense<0.044715> : tensor<f32>
  %s = bb.constant dense<0.797884583> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %0 = bb.mul %half, %x : tensor<f32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %1 = bb.pow %x, %three : tensor<2x16x256xf32>, tensor<f32> -> tensor<2x16x256xf32>
  %2 = bb.mul %c, %1 : tensor<f32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %3 = bb.add %x, %2 : tensor<2x16x256xf32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %4 = bb.mul %s, %3 : tensor<f32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %5 = bb.tanh %4 : tensor<2x16x256xf32>
  %6 = bb.add %one, %5 : tensor<f32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %7 = bb.mul %0, %6 : tensor<2x16x256xf32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  return %7 : tensor<2x16x256xf32>
}

// -----

// The tanh form with the other operand orders: (cubic + x), tanh_in * s,
// 1 + ... on the right, and x * (term) * 0.5.
// CHECK-LABEL: func.func @tanh_commuted
// CHECK-SAME: (%[[X:.*]]: tensor<8xf32>)
// CHECK-NEXT: %[[G:.*]] = bb.gelu %[[X]] {approximation = #bb.approximation<tanh>} : tensor<8xf32>
// CHECK-NEXT: return %[[G]]
func.func @tanh_commuted(%x: tensor<8xf32>) -> tensor<8xf32> {
  %half = bb.constant dense<0.5> : tensor<f32>
  %three = bb.constant dense<3.0> : tensor<f32>
  %c = bb.constant dense<0.044715> : tensor<f32>
  %s = bb.constant dense<0.797884583> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %1 = bb.pow %x, %three : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %2 = bb.mul %1, %c : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %3 = bb.add %2, %x : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %4 = bb.mul %3, %s : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %5 = bb.tanh %4 : tensor<8xf32>
  %6 = bb.add %5, %one : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %7 = bb.mul %x, %6 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %8 = bb.mul %7, %half : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  return %8 : tensor<8xf32>
}

// -----

// Two GELUs in one function, one of each kind, both fused.
// CHECK-LABEL: func.func @two
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK: %[[G:.*]] = bb.gelu %[[X]] : tensor<4xf32>
// CHECK: %[[H:.*]] = bb.gelu %[[G]] : tensor<4xf32>
// CHECK-NOT: bb.erf
// CHECK: return %[[H]]
func.func @two(%x: tensor<4xf32>) -> tensor<4xf32> {
  %sqrt2 = bb.constant dense<1.4142135> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.div %x, %sqrt2 : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = bb.erf %0 : tensor<4xf32>
  %2 = bb.add %1, %one : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %3 = bb.mul %x, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %g = bb.mul %3, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %4 = bb.div %g, %sqrt2 : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %5 = bb.erf %4 : tensor<4xf32>
  %6 = bb.add %5, %one : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %7 = bb.mul %g, %6 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %h = bb.mul %7, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %h : tensor<4xf32>
}

// -----

// Negative cases: nothing may fuse.

// Wrong divisor (2 instead of sqrt 2).
// CHECK-LABEL: func.func @wrong_divisor
// CHECK-NOT: bb.gelu
// CHECK: bb.erf
func.func @wrong_divisor(%x: tensor<4xf32>) -> tensor<4xf32> {
  %two = bb.constant dense<2.0> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.div %x, %two : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = bb.erf %0 : tensor<4xf32>
  %2 = bb.add %1, %one : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %3 = bb.mul %x, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %4 = bb.mul %3, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// sqrt(2) as the dividend (sqrt2 / x) is not x / sqrt(2): div is not commutative.
// CHECK-LABEL: func.func @divisor_swapped
// CHECK-NOT: bb.gelu
// CHECK: bb.erf
func.func @divisor_swapped(%x: tensor<4xf32>) -> tensor<4xf32> {
  %sqrt2 = bb.constant dense<1.4142135> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.div %sqrt2, %x : tensor<f32>, tensor<4xf32> -> tensor<4xf32>
  %1 = bb.erf %0 : tensor<4xf32>
  %2 = bb.add %1, %one : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %3 = bb.mul %x, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %4 = bb.mul %3, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// Wrong scale (0.25 instead of 0.5).
// CHECK-LABEL: func.func @wrong_half
// CHECK-NOT: bb.gelu
// CHECK: bb.erf
func.func @wrong_half(%x: tensor<4xf32>) -> tensor<4xf32> {
  %sqrt2 = bb.constant dense<1.4142135> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %quarter = bb.constant dense<0.25> : tensor<f32>
  %0 = bb.div %x, %sqrt2 : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = bb.erf %0 : tensor<4xf32>
  %2 = bb.add %1, %one : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %3 = bb.mul %x, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %4 = bb.mul %3, %quarter : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// Wrong offset (2 + erf).
// CHECK-LABEL: func.func @wrong_one
// CHECK-NOT: bb.gelu
// CHECK: bb.erf
func.func @wrong_one(%x: tensor<4xf32>) -> tensor<4xf32> {
  %sqrt2 = bb.constant dense<1.4142135> : tensor<f32>
  %two = bb.constant dense<2.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.div %x, %sqrt2 : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = bb.erf %0 : tensor<4xf32>
  %2 = bb.add %1, %two : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %3 = bb.mul %x, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %4 = bb.mul %3, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// The erf argument is y / sqrt(2) but the product is with x.
// CHECK-LABEL: func.func @different_x
// CHECK-NOT: bb.gelu
// CHECK: bb.erf
func.func @different_x(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %sqrt2 = bb.constant dense<1.4142135> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.div %y, %sqrt2 : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = bb.erf %0 : tensor<4xf32>
  %2 = bb.add %1, %one : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %3 = bb.mul %x, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %4 = bb.mul %3, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// A non-splat constant, even if its first element is sqrt(2).
// CHECK-LABEL: func.func @non_splat
// CHECK-NOT: bb.gelu
// CHECK: bb.erf
func.func @non_splat(%x: tensor<2xf32>) -> tensor<2xf32> {
  %sqrt2 = bb.constant dense<[1.4142135, 1.0]> : tensor<2xf32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.div %x, %sqrt2 : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  %1 = bb.erf %0 : tensor<2xf32>
  %2 = bb.add %1, %one : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  %3 = bb.mul %x, %2 : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  %4 = bb.mul %3, %half : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  return %4 : tensor<2xf32>
}

// -----

// Broadcasting changes the shape: x is [4] but the GELU result is [3x4]
// (the 1/sqrt(2) scale is a [3x1] splat), so a bb.gelu of x would have the
// wrong type.
// CHECK-LABEL: func.func @broadcast_changes_shape
// CHECK-NOT: bb.gelu
// CHECK: bb.erf
func.func @broadcast_changes_shape(%x: tensor<4xf32>) -> tensor<3x4xf32> {
  %sqrt2 = bb.constant dense<1.4142135> : tensor<3x1xf32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.div %x, %sqrt2 : tensor<4xf32>, tensor<3x1xf32> -> tensor<3x4xf32>
  %1 = bb.erf %0 : tensor<3x4xf32>
  %2 = bb.add %1, %one : tensor<3x4xf32>, tensor<f32> -> tensor<3x4xf32>
  %3 = bb.mul %x, %2 : tensor<4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  %4 = bb.mul %3, %half : tensor<3x4xf32>, tensor<f32> -> tensor<3x4xf32>
  return %4 : tensor<3x4xf32>
}

// -----

// The tanh form with x^2 instead of x^3.
// CHECK-LABEL: func.func @tanh_wrong_power
// CHECK-NOT: bb.gelu
// CHECK: bb.tanh
func.func @tanh_wrong_power(%x: tensor<8xf32>) -> tensor<8xf32> {
  %half = bb.constant dense<0.5> : tensor<f32>
  %two = bb.constant dense<2.0> : tensor<f32>
  %c = bb.constant dense<0.044715> : tensor<f32>
  %s = bb.constant dense<0.797884583> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %0 = bb.mul %half, %x : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %1 = bb.pow %x, %two : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %2 = bb.mul %c, %1 : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %3 = bb.add %x, %2 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %4 = bb.mul %s, %3 : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %5 = bb.tanh %4 : tensor<8xf32>
  %6 = bb.add %one, %5 : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %7 = bb.mul %0, %6 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  return %7 : tensor<8xf32>
}

// -----

// The tanh form with a wrong scale sqrt(2/pi) -> 0.7 (outside the tolerance).
// CHECK-LABEL: func.func @tanh_wrong_scale
// CHECK-NOT: bb.gelu
// CHECK: bb.tanh
func.func @tanh_wrong_scale(%x: tensor<8xf32>) -> tensor<8xf32> {
  %half = bb.constant dense<0.5> : tensor<f32>
  %three = bb.constant dense<3.0> : tensor<f32>
  %c = bb.constant dense<0.044715> : tensor<f32>
  %s = bb.constant dense<0.7> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %0 = bb.mul %half, %x : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %1 = bb.pow %x, %three : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %2 = bb.mul %c, %1 : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %3 = bb.add %x, %2 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %4 = bb.mul %s, %3 : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %5 = bb.tanh %4 : tensor<8xf32>
  %6 = bb.add %one, %5 : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %7 = bb.mul %0, %6 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  return %7 : tensor<8xf32>
}

// -----

// A sigmoid where the erf should be is not GELU.
// CHECK-LABEL: func.func @sigmoid_not_erf
// CHECK-NOT: bb.gelu
// CHECK: bb.sigmoid
func.func @sigmoid_not_erf(%x: tensor<4xf32>) -> tensor<4xf32> {
  %sqrt2 = bb.constant dense<1.4142135> : tensor<f32>
  %one = bb.constant dense<1.0> : tensor<f32>
  %half = bb.constant dense<0.5> : tensor<f32>
  %0 = bb.div %x, %sqrt2 : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = bb.sigmoid %0 : tensor<4xf32>
  %2 = bb.add %1, %one : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %3 = bb.mul %x, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %4 = bb.mul %3, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %4 : tensor<4xf32>
}
