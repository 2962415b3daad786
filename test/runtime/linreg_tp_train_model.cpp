// A hand-written stand-in for a sharded training program: linreg_train_model.cpp
// (pred = x @ W + b, MSE loss, clipping to norm 1, AdamW on W, Nesterov SGD on
// b) with W [4, 2] and b [2] split by output column over a mesh of 2 ranks,
// run as `mpirun -np 2 linreg_tp_train ...`. Each rank computes its column of
// pred, all-gathers pred for the (replicated) loss, takes its column of the
// loss gradient with shardSlice, and all-reduces the squared gradient norm.
// The optimizer state is sharded like its parameter. Its loss trajectory
// equals the single-process program's up to rounding, and its checkpoints
// hold the global W and b.
#include "bbrt/bbrt.h"

using bbrt::BinaryKind;
using bbrt::DType;
using bbrt::ReduceKind;
using bbrt::Tensor;

namespace {

constexpr int64_t B = 8, IN = 4, OUT = 2, LOCAL = OUT / 2;

enum State { kW, kB, kWExpAvg, kWExpAvgSq, kBMomentum };

Tensor f32(bbrt::Context *ctx, int64_t offset, std::initializer_list<int64_t> dims) {
  return Tensor(bbrt::arena(ctx, offset), DType::F32, dims);
}
Tensor state(bbrt::Context *ctx, State s, std::initializer_list<int64_t> dims) {
  return Tensor(bbrt::state(ctx, s), DType::F32, dims);
}

/// pred = x @ W + b (gathered); loss = mean((pred - y)^2); leaves pred - y at
/// `diff`.
void forwardLoss(bbrt::Context *ctx, Tensor x, Tensor y, Tensor loss, Tensor diff) {
  Tensor pl0 = f32(ctx, 256, {B, LOCAL}), pl = f32(ctx, 288, {B, LOCAL});
  Tensor pred = f32(ctx, 320, {B, OUT}), sq = f32(ctx, 448, {B, OUT});
  bbrt::matmul(x, state(ctx, kW, {IN, LOCAL}), pl0, false, false);
  bbrt::binary(BinaryKind::Add, pl0, state(ctx, kB, {LOCAL}), pl);
  bbrt::allGather(ctx, pl, pred, 1, {0});
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

  // d loss / d pred = 2 (pred - y) / (B * OUT); this rank's column of it
  Tensor coef = f32(ctx, 680, {}), gpred = f32(ctx, 512, {B, OUT});
  *static_cast<float *>(coef.data) = 2.0f / (B * OUT);
  bbrt::binary(BinaryKind::Mul, diff, coef, gpred);
  Tensor gpl = f32(ctx, 576, {B, LOCAL});
  bbrt::shardSlice(ctx, gpred, gpl, "[[], [0]]");
  Tensor gW = f32(ctx, 608, {IN, LOCAL}), gb = f32(ctx, 624, {LOCAL});
  bbrt::matmul(x, gpl, gW, true, false);
  bbrt::reduce(ReduceKind::Sum, gpl, gb, {0});

  // global norm: local sums of squares, all-reduced
  Tensor gW2 = f32(ctx, 640, {IN, LOCAL}), gb2 = f32(ctx, 656, {LOCAL});
  Tensor nW = f32(ctx, 660, {}), nb = f32(ctx, 664, {}), part = f32(ctx, 668, {});
  Tensor total = f32(ctx, 672, {});
  bbrt::binary(BinaryKind::Mul, gW, gW, gW2);
  bbrt::reduce(ReduceKind::Sum, gW2, nW, {0, 1});
  bbrt::binary(BinaryKind::Mul, gb, gb, gb2);
  bbrt::reduce(ReduceKind::Sum, gb2, nb, {0});
  bbrt::binary(BinaryKind::Add, nW, nb, part);
  bbrt::allReduce(ctx, part, total, ReduceKind::Sum, {0});
  bbrt::unary(bbrt::UnaryKind::Sqrt, total, gradNorm);
  Tensor scale = f32(ctx, 676, {});
  const float norm = *static_cast<float *>(gradNorm.data);
  *static_cast<float *>(scale.data) = norm > 1.0f ? 1.0f / (norm + 1e-6f) : 1.0f;

  Tensor W = state(ctx, kW, {IN, LOCAL}), b = state(ctx, kB, {LOCAL});
  Tensor m = state(ctx, kWExpAvg, {IN, LOCAL}), v = state(ctx, kWExpAvgSq, {IN, LOCAL});
  Tensor buf = state(ctx, kBMomentum, {LOCAL});
  bbrt::adamwUpdate(W, gW, m, v, lr, step, scale, W, m, v, 0.9f, 0.999f, 1e-8f, 0.01f);
  bbrt::sgdUpdate(b, gb, buf, lr, scale, b, buf, 0.9f, 0.0f, true);
}

void bb_eval_step(bbrt::Context *ctx) {
  forwardLoss(ctx, f32(ctx, 0, {B, IN}), f32(ctx, 128, {B, OUT}), f32(ctx, 192, {}),
              f32(ctx, 384, {B, OUT}));
}

void bb_describe(bbrt::ModelInfo *info) {
  bbrt::setModelName(info, "linreg_tp");
  bbrt::setMesh(info, {2});
  bbrt::addState(info, "W", DType::F32, {IN, LOCAL}, true);
  bbrt::setSharding(info, "[[], [0]]");
  bbrt::addState(info, "b", DType::F32, {LOCAL}, true);
  bbrt::setSharding(info, "[[0]]");
  bbrt::addState(info, "W#exp_avg", DType::F32, {IN, LOCAL}, false);
  bbrt::setSharding(info, "[[], [0]]");
  bbrt::addState(info, "W#exp_avg_sq", DType::F32, {IN, LOCAL}, false);
  bbrt::setSharding(info, "[[], [0]]");
  bbrt::addState(info, "b#momentum", DType::F32, {LOCAL}, false);
  bbrt::setSharding(info, "[[0]]");
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
