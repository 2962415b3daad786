// A hand-written stand-in for a compiled training program: linear regression
//   pred = x @ W + b,  loss = mean((pred - y)^2)
// with the backward pass, gradient clipping to norm 1, AdamW on W and
// Nesterov SGD on b written out as kernel calls. Only bbrt.h is included, as
// in generated code; the runtime's main() sees train_step and runs the
// training driver. States: W and b (initial values from the weights file),
// then the optimizer state named "<param>#<kind>" as the compiler names it.
#include "bbrt/bbrt.h"

using bbrt::BinaryKind;
using bbrt::DType;
using bbrt::ReduceKind;
using bbrt::Tensor;

namespace {

constexpr int64_t B = 8, IN = 4, OUT = 2;

enum State { kW, kB, kWExpAvg, kWExpAvgSq, kBMomentum };

Tensor f32(bbrt::Context *ctx, int64_t offset, std::initializer_list<int64_t> dims) {
  return Tensor(bbrt::arena(ctx, offset), DType::F32, dims);
}
Tensor state(bbrt::Context *ctx, State s, std::initializer_list<int64_t> dims) {
  return Tensor(bbrt::state(ctx, s), DType::F32, dims);
}

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

  // global norm, then the clipping factor min(1, 1 / (norm + 1e-6))
  Tensor gW2 = f32(ctx, 640, {IN, OUT}), gb2 = f32(ctx, 672, {OUT});
  Tensor nW = f32(ctx, 680, {}), nb = f32(ctx, 684, {}), total = f32(ctx, 696, {});
  bbrt::binary(BinaryKind::Mul, gW, gW, gW2);
  bbrt::reduce(ReduceKind::Sum, gW2, nW, {0, 1});
  bbrt::binary(BinaryKind::Mul, gb, gb, gb2);
  bbrt::reduce(ReduceKind::Sum, gb2, nb, {0});
  bbrt::binary(BinaryKind::Add, nW, nb, total);
  bbrt::unary(bbrt::UnaryKind::Sqrt, total, gradNorm);
  Tensor scale = f32(ctx, 688, {});
  const float norm = *static_cast<float *>(gradNorm.data);
  *static_cast<float *>(scale.data) = norm > 1.0f ? 1.0f / (norm + 1e-6f) : 1.0f;

  Tensor W = state(ctx, kW, {IN, OUT}), b = state(ctx, kB, {OUT});
  Tensor m = state(ctx, kWExpAvg, {IN, OUT}), v = state(ctx, kWExpAvgSq, {IN, OUT});
  Tensor buf = state(ctx, kBMomentum, {OUT});
  bbrt::adamwUpdate(W, gW, m, v, lr, step, scale, W, m, v, 0.9f, 0.999f, 1e-8f, 0.01f);
  bbrt::sgdUpdate(b, gb, buf, lr, scale, b, buf, 0.9f, 0.0f, true);
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
  bbrt::addFunction(info, "train_step", bb_train_step);
  bbrt::addInput(info, "x", DType::F32, {B, IN}, 0, "");
  bbrt::addInput(info, "y", DType::F32, {B, OUT}, 128, "labels");
  bbrt::addInput(info, "lr", DType::F32, {}, 192, "lr");
  bbrt::addInput(info, "step", DType::F32, {}, 196, "step");
  bbrt::addOutput(info, "loss", DType::F32, {}, 200, "loss");
  bbrt::addOutput(info, "grad_norm", DType::F32, {}, 204, "grad_norm");
  bbrt::setArenaSize(info, 704);
  bbrt::addFunction(info, "eval_step", bb_eval_step);
  bbrt::addInput(info, "x", DType::F32, {B, IN}, 0, "");
  bbrt::addInput(info, "y", DType::F32, {B, OUT}, 128, "labels");
  bbrt::addOutput(info, "loss", DType::F32, {}, 192, "loss");
  bbrt::setArenaSize(info, 512);
  bbrt::setAttribute(info, "train.optimizer", "adamw");
  bbrt::setAttribute(info, "train.lr", "0.05");
  bbrt::setAttribute(info, "train.schedule", "cosine");
  bbrt::setAttribute(info, "train.warmup", "3");
  bbrt::setAttribute(info, "train.min_lr", "0.005");
  bbrt::setAttribute(info, "onnx.template", "__onnx_model__");
}
