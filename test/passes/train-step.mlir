// RUN: bb-opt %s -split-input-file --bb-autodiff="loss=mse" --bb-train-step="optimizer=sgd momentum=0.9 weight-decay=0.01" | FileCheck %s --check-prefix=SGD
// RUN: bb-opt %s -split-input-file --bb-autodiff="loss=mse" --bb-train-step="optimizer=adamw grad-clip=1.0" | FileCheck %s --check-prefix=ADAMW
// RUN: bb-opt %s -split-input-file --bb-autodiff="loss=mse" --bb-train-step="optimizer=adamw grad-clip=1.0" --canonicalize | FileCheck %s --check-prefix=EVAL
// RUN: bb-opt %s -split-input-file --bb-autodiff="loss=mse" --bb-train-step="optimizer=sgd loss-scale=256 loss-scale-window=5" | FileCheck %s --check-prefix=SCALE

// Dynamic loss scaling: the scaler's states; the backward pass starts from
// the scale (the mean's gradient is scale / 8); the norm and the updates'
// gradient scale are unscaled, NaN (a skipped update) when the scaled norm
// is not finite; the scale halves then, or doubles after 5 good steps; the
// function returns the scale it used.
// SCALE-LABEL: func.func @train_step
// SCALE-SAME: %[[S:[a-z0-9]+]]: tensor<f32> {bb.init = dense<2.560000e+02> : tensor<f32>, bb.name = "loss_scaler#scale", bb.state = "scalar"}
// SCALE-SAME: %[[G:[a-z0-9]+]]: tensor<f32> {bb.init = dense<0.000000e+00> : tensor<f32>, bb.name = "loss_scaler#good_steps", bb.state = "scalar"}
// SCALE-SAME: {bb.name = "loss_scale", bb.role = "loss_scale"}
// SCALE: bb.mul %[[S]], %{{.*}} : tensor<f32>, tensor<f32> -> tensor<f32>
// SCALE: %[[SQ:.*]] = bb.sqrt
// SCALE: %[[INF:.*]] = bb.constant dense<0x7F800000> : tensor<f32>
// SCALE: %[[OK:.*]] = bb.compare <lt>, %[[SQ]], %[[INF]]
// SCALE: %[[NORM:.*]] = bb.div %[[SQ]], %[[S]]
// SCALE: %[[NAN:.*]] = bb.constant dense<0x7FC00000> : tensor<f32>
// SCALE: %[[UN:.*]] = bb.div %{{.*}}, %[[S]]
// SCALE: %[[GS:.*]] = bb.select %[[OK]], %[[UN]], %[[NAN]]
// SCALE: bb.sgd_update {{.*}}, %[[GS]] :
// SCALE: %[[GOOD:.*]] = bb.add %[[G]],
// SCALE: %[[GROW:.*]] = bb.compare <ge>, %[[GOOD]], %{{.*}}
// SCALE: %[[TWICE:.*]] = bb.mul %[[S]], %{{.*}}
// SCALE: %[[GROWN:.*]] = bb.select %[[GROW]], %[[TWICE]], %[[S]]
// SCALE: %[[HALF:.*]] = bb.mul %[[S]], %{{.*}}
// SCALE: %[[NEWS:.*]] = bb.select %[[OK]], %[[GROWN]], %[[HALF]]
// SCALE: return %{{.*}}, %[[NORM]], {{.*}}, %[[NEWS]], %{{.*}}, %[[S]] :
// SCALE-LABEL: func.func @eval_step

// y = x W + b with a mask `keep` that reaches the loss only through a
// comparison: W and b become state arguments with their initial values, the
// mask stays a constant (no gradient), and each parameter gets its update.
// SGD-LABEL: func.func @train_step(
// SGD-SAME: %arg0: tensor<2x3xf32> {bb.name = "x"}, %arg1: tensor<2x4xf32> {bb.name = "labels", bb.role = "labels"},
// SGD-SAME: %arg2: tensor<3x4xf32> {bb.init = dense<5.000000e-01> : tensor<3x4xf32>, bb.name = "W", bb.state = "param"},
// SGD-SAME: %arg3: tensor<4xf32> {bb.init = dense<1.000000e-01> : tensor<4xf32>, bb.name = "b", bb.state = "param"},
// SGD-SAME: %arg4: tensor<f32> {bb.name = "lr", bb.role = "lr"},
// SGD-SAME: %arg5: tensor<3x4xf32> {bb.name = "W#momentum", bb.state = "optimizer"},
// SGD-SAME: %arg6: tensor<4xf32> {bb.name = "b#momentum", bb.state = "optimizer"})
// SGD-SAME: -> (tensor<f32> {bb.name = "loss", bb.role = "loss"}, tensor<f32> {bb.name = "grad_norm", bb.role = "grad_norm"},
// SGD-SAME: tensor<3x4xf32> {bb.name = "W", bb.updates = 2 : i64}, tensor<3x4xf32> {bb.name = "W#momentum", bb.updates = 5 : i64},
// SGD-SAME: tensor<4xf32> {bb.name = "b", bb.updates = 3 : i64}, tensor<4xf32> {bb.name = "b#momentum", bb.updates = 6 : i64})
// SGD: bb.constant {bb.name = "keep"}
// SGD: %[[NORM:.*]] = bb.sqrt
// SGD: %[[ONE:.*]] = bb.constant dense<1.000000e+00> : tensor<f32>
// SGD: %[[WP:[a-z_0-9]+]], %[[WM:[a-z_0-9]+]] = bb.sgd_update %arg2, %{{.*}}, %arg5, %arg4, %[[ONE]] {momentum = 0.899999976 : f32, weight_decay = 0.00999999977 : f32} : tensor<3x4xf32>
// SGD: %[[BP:[a-z_0-9]+]], %[[BM:[a-z_0-9]+]] = bb.sgd_update %arg3, %{{.*}}, %arg6, %arg4, %[[ONE]]
// SGD: return %{{.*}}, %[[NORM]], %[[WP]], %[[WM]], %[[BP]], %[[BM]] :

// AdamW takes the step number too (its hyperparameters are the defaults,
// which the printer leaves out); clipping scales the gradients by
// min(1, clip / (norm + 1e-6)).
// ADAMW-LABEL: func.func @train_step(
// ADAMW-SAME: %arg4: tensor<f32> {bb.name = "lr", bb.role = "lr"}, %arg5: tensor<f32> {bb.name = "step", bb.role = "step"},
// ADAMW-SAME: {bb.name = "W#exp_avg", bb.state = "optimizer"}
// ADAMW-SAME: {bb.name = "W#exp_avg_sq", bb.state = "optimizer"}
// ADAMW: %[[NORM:.*]] = bb.sqrt
// ADAMW: %[[F:.*]] = bb.div %{{.*}}, %{{.*}} : tensor<f32>, tensor<f32> -> tensor<f32>
// ADAMW: %[[LT:.*]] = bb.compare <lt>, %[[F]], %[[ONE:[0-9]+]] :
// ADAMW: %[[S:.*]] = bb.select %[[LT]], %[[F]], %[[ONE]]
// ADAMW: bb.adamw_update %arg2, %{{.*}}, %arg6, %arg7, %arg4, %arg5, %[[S]] : tensor<3x4xf32>

// @eval_step: the loss on the same parameters, without backward or update.
// EVAL-LABEL: func.func @eval_step(
// EVAL-SAME: {bb.name = "labels", bb.role = "labels"}
// EVAL-SAME: {bb.init = dense<5.000000e-01> : tensor<3x4xf32>, bb.name = "W", bb.state = "param"}
// EVAL-SAME: -> (tensor<f32> {bb.name = "loss", bb.role = "loss"})
// EVAL-NOT: bb.adamw_update
// EVAL-NOT: bb.matmul {{.*}}transpose_lhs
// EVAL: return

func.func @forward(%x: tensor<2x3xf32> {bb.name = "x"}) -> (tensor<2x4xf32> {bb.name = "y"}) {
  %w = bb.constant {bb.name = "W"} dense<0.5> : tensor<3x4xf32>
  %b = bb.constant {bb.name = "b"} dense<0.1> : tensor<4xf32>
  %keep = bb.constant {bb.name = "keep"} dense<1.0> : tensor<2x4xf32>
  %zero = bb.constant dense<0.0> : tensor<2x4xf32>
  %m = bb.matmul %x, %w : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x4xf32>
  %y = bb.add %m, %b : tensor<2x4xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %c = bb.compare <ne>, %keep, %zero : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xi1>
  %z = bb.select %c, %y, %zero : tensor<2x4xi1>, tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  return %z : tensor<2x4xf32>
}
