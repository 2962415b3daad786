// RUN: bb-opt %s --bb-mixed-precision --cse | FileCheck %s
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=adamw" --bb-mixed-precision --cse | FileCheck %s --check-prefix=TRAIN
// RUN: bb-opt %s --bb-mixed-precision=dtype=f16 --cse | FileCheck %s --check-prefix=F16
// RUN: not bb-opt %s --bb-mixed-precision=dtype=fp8 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: bb-opt %s --bb-mixed-precision=dtype=tf32 | FileCheck %s --check-prefix=TF32

// Each f32 product takes bf16 copies of its operands and gives f32; CSE
// leaves one copy of %x for both products that read it; a constant's copy
// is made at compile time. Other ops stay f32.
// CHECK-LABEL: func.func @forward
// CHECK-DAG: %[[XB:.*]] = bb.convert %arg0 : tensor<4x8xf32> -> tensor<4x8xbf16>
// CHECK-DAG: %[[WB:.*]] = bb.constant dense<5.000000e-01> : tensor<8x8xbf16>
// CHECK: %[[H:.*]] = bb.matmul %[[XB]], %[[WB]] : tensor<4x8xbf16>, tensor<8x8xbf16> -> tensor<4x8xf32>
// CHECK: %[[R:.*]] = bb.relu %[[H]] : tensor<4x8xf32>
// CHECK: %[[RB:.*]] = bb.convert %[[R]] : tensor<4x8xf32> -> tensor<4x8xbf16>
// CHECK: bb.matmul %[[RB]], %[[XB]] {transpose_rhs} : tensor<4x8xbf16>, tensor<4x8xbf16> -> tensor<4x4xf32>
// Integer products are left alone.
// CHECK: bb.matmul %arg1, %arg1 : tensor<2x2xi32>, tensor<2x2xi32> -> tensor<2x2xi32>

// Training: the backward pass's products are converted too; the parameter
// (the master weight), its gradient and the AdamW state stay f32.
// TRAIN-LABEL: func.func @train_step
// TRAIN-SAME: tensor<8x8xf32> {{{.*}}bb.name = "w", bb.state = "param"}
// TRAIN-NOT: bb.matmul {{.*}}xf32>, tensor<{{.*}}xf32> ->
// TRAIN: bb.adamw_update {{.*}} : tensor<8x8xf32>

// BAD: error: bb-mixed-precision: --dtype=fp8: expected bf16, f16 or tf32

// With dtype=f16 the copies are IEEE half: 1 + 2^-8 and 1 + 3 x 2^-8 are
// exact there (10 bits of mantissa), 0.1 rounds to nearest even; beyond
// 65504 a value becomes infinite, below 2^-25 zero.
// F16-LABEL: func.func @forward
// F16-DAG: %[[XB:.*]] = bb.convert %arg0 : tensor<4x8xf32> -> tensor<4x8xf16>
// F16-DAG: %[[WB:.*]] = bb.constant dense<5.000000e-01> : tensor<8x8xf16>
// F16: bb.matmul %[[XB]], %[[WB]] : tensor<4x8xf16>, tensor<8x8xf16> -> tensor<4x8xf32>
// F16-LABEL: func.func @rounding
// F16-DAG: bb.constant dense<9.997550e-02> : tensor<512x512xf16>
// F16-DAG: bb.constant dense<{{\[}}[1.003910e+00, 1.011720e+00], [9.997550e-02, -2.000000e+00]]> : tensor<2x2xf16>
// F16-LABEL: func.func @range
// F16: bb.constant dense<{{\[}}[0x7C00], [6.550400e+04], [0.000000e+00], [5.960460e-08]]> : tensor<4x1xf16>

// With dtype=tf32 the f32 products get `tf32` and keep their f32 operands (no
// conversion, constants untouched); integer products are left alone.
// TF32-LABEL: func.func @forward
// TF32-NOT: bb.convert
// TF32: %[[H:.*]] = bb.matmul %arg0, %{{.*}} {tf32} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
// TF32: bb.matmul %{{.*}}, %arg0 {tf32, transpose_rhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x4xf32>
// TF32: bb.matmul %arg1, %arg1 : tensor<2x2xi32>
// TF32-LABEL: func.func @rounding
// TF32: bb.constant dense<1.000000e-01> : tensor<512x512xf32>
func.func @forward(%x: tensor<4x8xf32> {bb.name = "x"}, %i: tensor<2x2xi32> {bb.name = "i"}) -> (tensor<4x4xf32> {bb.name = "y"}, tensor<2x2xi32> {bb.name = "j"}) {
  %w = bb.constant {bb.name = "w"} dense<0.5> : tensor<8x8xf32>
  %h = bb.matmul %x, %w : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %r = bb.relu %h : tensor<4x8xf32>
  %y = bb.matmul %r, %x {transpose_rhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x4xf32>
  %j = bb.matmul %i, %i : tensor<2x2xi32>, tensor<2x2xi32> -> tensor<2x2xi32>
  return %y, %j : tensor<4x4xf32>, tensor<2x2xi32>
}

// Constants are rounded as the runtimes round (to nearest, ties to even):
// 1 + 2^-8 and 1 + 3 x 2^-8 lie halfway and go to 1 and 1 + 2^-6; a splat
// stays a splat.
// CHECK-LABEL: func.func @rounding
// CHECK-DAG: bb.constant dense<1.000980e-01> : tensor<512x512xbf16>
// CHECK-DAG: bb.constant dense<{{\[}}[1.000000e+00, 1.015630e+00], [1.000980e-01, -2.000000e+00]]> : tensor<2x2xbf16>
func.func @rounding(%x: tensor<2x512xf32> {bb.name = "x"}, %a: tensor<2x2xf32> {bb.name = "a"}) -> (tensor<2x512xf32> {bb.name = "y"}, tensor<2x2xf32> {bb.name = "b"}) {
  %s = bb.constant dense<0.1> : tensor<512x512xf32>
  %y = bb.matmul %x, %s : tensor<2x512xf32>, tensor<512x512xf32> -> tensor<2x512xf32>
  %c = bb.constant dense<[[1.00390625, 1.01171875], [0.1, -2.0]]> : tensor<2x2xf32>
  %b = bb.matmul %a, %c : tensor<2x2xf32>, tensor<2x2xf32> -> tensor<2x2xf32>
  return %y, %b : tensor<2x512xf32>, tensor<2x2xf32>
}

// f16's range (checked by the F16 run).
func.func @range(%x: tensor<2x4xf32> {bb.name = "x"}) -> (tensor<2x1xf32> {bb.name = "y"}) {
  %c = bb.constant dense<[[70000.0], [65504.0], [1.0e-8], [5.9604644775390625e-8]]> : tensor<4x1xf32>
  %y = bb.matmul %x, %c : tensor<2x4xf32>, tensor<4x1xf32> -> tensor<2x1xf32>
  return %y : tensor<2x1xf32>
}

// Attention keeps its f32 operands and rounds inside (`products`), its
// gradient too.
// CHECK-LABEL: func.func @attention
// CHECK: bb.attention %{{.*}}, %{{.*}}, %{{.*}} {products = bf16, scale = 5.000000e-01 : f32} : tensor<2x4x8xf32>
// CHECK: bb.attention_grad {{.*}} {products = bf16, scale = 5.000000e-01 : f32} : tensor<2x4x8xf32>
// F16-LABEL: func.func @attention
// F16: bb.attention {{.*}}products = f16
// F16: bb.attention_grad {{.*}}products = f16
// TF32-LABEL: func.func @attention
// TF32: bb.attention {{.*}}products = tf32
// TF32: bb.attention_grad {{.*}}products = tf32
func.func @attention(%x: tensor<2x4x8xf32> {bb.name = "x"}) -> (tensor<2x4x8xf32> {bb.name = "y"}, tensor<2x4x8xf32> {bb.name = "dx"}) {
  %o, %l = bb.attention %x, %x, %x {scale = 0.5 : f32}
      : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>, tensor<2x4xf32>
  %dq, %dk, %dv = bb.attention_grad %x, %x, %x, %l, %o {scale = 0.5 : f32}
      : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4xf32>, tensor<2x4x8xf32>
      -> tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>
  return %o, %dq : tensor<2x4x8xf32>, tensor<2x4x8xf32>
}
