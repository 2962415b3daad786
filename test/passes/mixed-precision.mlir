// RUN: bb-opt %s --bb-mixed-precision --cse | FileCheck %s
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=adamw" --bb-mixed-precision --cse | FileCheck %s --check-prefix=TRAIN
// RUN: not bb-opt %s --bb-mixed-precision=dtype=f16 2>&1 | FileCheck %s --check-prefix=BAD

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

// BAD: error: bb-mixed-precision: --dtype=f16: expected bf16
func.func @forward(%x: tensor<4x8xf32> {bb.name = "x"}, %i: tensor<2x2xi32> {bb.name = "i"}) -> (tensor<4x4xf32> {bb.name = "y"}, tensor<2x2xi32> {bb.name = "j"}) {
  %w = bb.constant {bb.name = "w"} dense<0.5> : tensor<8x8xf32>
  %h = bb.matmul %x, %w : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %r = bb.relu %h : tensor<4x8xf32>
  %y = bb.matmul %r, %x {transpose_rhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x4xf32>
  %j = bb.matmul %i, %i : tensor<2x2xi32>, tensor<2x2xi32> -> tensor<2x2xi32>
  return %y, %j : tensor<4x4xf32>, tensor<2x2xi32>
}
