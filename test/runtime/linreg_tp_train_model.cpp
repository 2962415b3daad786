// A hand-written stand-in for a sharded training program: linreg_train_model.cpp
// (pred = x @ W + b, MSE loss, clipping to norm 1, AdamW on W, Nesterov SGD on
// b) with W [4, 2] and b [2] split by output column over a mesh of 2 ranks,
// run as `mpirun -np 2 linreg_tp_train ...`. Each rank computes its column of
// pred, all-gathers pred for the (replicated) loss, takes its column of the
// loss gradient with shardSlice, and all-reduces the squared gradient norm.
// The optimizer state is sharded like its parameter. Its loss trajectory
// equals the single-process program's up to rounding, and its checkpoints
// hold the global W and b. What the two programs share is in linreg_model.h.
#include "linreg_model.h"

using bbrt::BinaryKind;
using bbrt::ReduceKind;
using namespace linreg;

namespace {

constexpr int64_t LOCAL = OUT / 2;

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

  // squared global norm: local sums of squares, all-reduced; then clipping
  // and the optimizers
  Tensor gW2 = f32(ctx, 640, {IN, LOCAL}), gb2 = f32(ctx, 656, {LOCAL});
  Tensor nW = f32(ctx, 660, {}), nb = f32(ctx, 664, {}), part = f32(ctx, 668, {});
  Tensor total = f32(ctx, 672, {});
  bbrt::binary(BinaryKind::Mul, gW, gW, gW2);
  bbrt::reduce(ReduceKind::Sum, gW2, nW, {0, 1});
  bbrt::binary(BinaryKind::Mul, gb, gb, gb2);
  bbrt::reduce(ReduceKind::Sum, gb2, nb, {0});
  bbrt::binary(BinaryKind::Add, nW, nb, part);
  bbrt::allReduce(ctx, part, total, ReduceKind::Sum, {0});
  clipAndUpdate(ctx, LOCAL, total, gradNorm, f32(ctx, 676, {}), lr, step, gW, gb);
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
  describeFunctions(info, bb_train_step, bb_eval_step);
}
