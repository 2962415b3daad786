// A hand-written stand-in for a compiled training program: linear regression
//   pred = x @ W + b,  loss = mean((pred - y)^2)
// with the backward pass, gradient clipping to norm 1, AdamW on W and
// Nesterov SGD on b written out as kernel calls. Only bbrt.h is included
// (through linreg_model.h, what the sharded linreg_tp_train_model.cpp shares
// with it), as in generated code; the runtime's main() sees train_step and
// runs the training driver. States: W and b (initial values from the weights
// file), then the optimizer state named "<param>#<kind>" as the compiler
// names it.
#include "linreg_model.h"

using bbrt::BinaryKind;
using bbrt::ReduceKind;
using namespace linreg;

namespace {

/// pred = x @ W + b; loss = mean((pred - y)^2); leaves pred - y at `diff`.
void forwardLoss(bbrt::Context *ctx, Tensor x, Tensor y, Tensor loss, Tensor diff) {
  Tensor pred0 = f32(ctx, 256, {B, OUT}), pred = f32(ctx, 320, {B, OUT});
  Tensor sq = f32(ctx, 448, {B, OUT});
  bbrt::matmul(x, state(ctx, kW, {IN, OUT}), pred0, false, false);
  bbrt::binary(BinaryKind::Add, pred0, state(ctx, kB, {OUT}), pred);
  bbrt::binary(BinaryKind::Sub, pred, y, diff);
  bbrt::binary(BinaryKind::Mul, diff, diff, sq);
  bbrt::reduce(ReduceKind::Mean, sq, loss, {0, 1});
}

} // namespace

void bb_train_step(bbrt::Context *ctx) {
  Tensor x = f32(ctx, 0, {B, IN}), y = f32(ctx, 128, {B, OUT});
  Tensor lr = f32(ctx, 192, {}), step = f32(ctx, 196, {});
  Tensor loss = f32(ctx, 200, {}), gradNorm = f32(ctx, 204, {});
  Tensor diff = f32(ctx, 384, {B, OUT});
  forwardLoss(ctx, x, y, loss, diff);

  // d loss / d pred = 2 (pred - y) / (B * OUT)
  Tensor coef = f32(ctx, 692, {}), gpred = f32(ctx, 512, {B, OUT});
  *static_cast<float *>(coef.data) = 2.0f / (B * OUT);
  bbrt::binary(BinaryKind::Mul, diff, coef, gpred);
  Tensor gW = f32(ctx, 576, {IN, OUT}), gb = f32(ctx, 608, {OUT});
  bbrt::matmul(x, gpred, gW, true, false);
  bbrt::reduce(ReduceKind::Sum, gpred, gb, {0});

  // squared global norm, then clipping and the optimizers
  Tensor gW2 = f32(ctx, 640, {IN, OUT}), gb2 = f32(ctx, 672, {OUT});
  Tensor nW = f32(ctx, 680, {}), nb = f32(ctx, 684, {}), total = f32(ctx, 696, {});
  bbrt::binary(BinaryKind::Mul, gW, gW, gW2);
  bbrt::reduce(ReduceKind::Sum, gW2, nW, {0, 1});
  bbrt::binary(BinaryKind::Mul, gb, gb, gb2);
  bbrt::reduce(ReduceKind::Sum, gb2, nb, {0});
  bbrt::binary(BinaryKind::Add, nW, nb, total);
  clipAndUpdate(ctx, OUT, total, gradNorm, f32(ctx, 688, {}), lr, step, gW, gb);
}

void bb_eval_step(bbrt::Context *ctx) {
  forwardLoss(ctx, f32(ctx, 0, {B, IN}), f32(ctx, 128, {B, OUT}), f32(ctx, 192, {}),
              f32(ctx, 384, {B, OUT}));
}

void bb_describe(bbrt::ModelInfo *info) {
  bbrt::setModelName(info, "linreg");
  bbrt::addState(info, "W", DType::F32, {IN, OUT}, true);
  bbrt::addState(info, "b", DType::F32, {OUT}, true);
  bbrt::addState(info, "W#exp_avg", DType::F32, {IN, OUT}, false);
  bbrt::addState(info, "W#exp_avg_sq", DType::F32, {IN, OUT}, false);
  bbrt::addState(info, "b#momentum", DType::F32, {OUT}, false);
  describeFunctions(info, bb_train_step, bb_eval_step);
}
