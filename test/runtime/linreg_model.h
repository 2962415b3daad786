// Shared by the hand-written linear regression training programs,
// linreg_train_model.cpp (one process) and linreg_tp_train_model.cpp (W and b
// split by output column over 2 ranks): sizes, states, the clipped optimizer
// step and the functions' signatures and training attributes, which must be
// the same in both for the sharded run to follow the single-process one.
// Like the programs, it includes only bbrt.h, as generated code does.
#ifndef BBRT_TEST_RUNTIME_LINREG_MODEL_H
#define BBRT_TEST_RUNTIME_LINREG_MODEL_H

#include "bbrt/bbrt.h"

namespace linreg {

using bbrt::DType;
using bbrt::Tensor;

constexpr int64_t B = 8, IN = 4, OUT = 2;

enum State { kW, kB, kWExpAvg, kWExpAvgSq, kBMomentum };

inline Tensor f32(bbrt::Context *ctx, int64_t offset, std::initializer_list<int64_t> dims) {
  return Tensor(bbrt::arena(ctx, offset), DType::F32, dims);
}
inline Tensor state(bbrt::Context *ctx, State s, std::initializer_list<int64_t> dims) {
  return Tensor(bbrt::state(ctx, s), DType::F32, dims);
}

/// Clipping to norm 1 and the optimizers: gradNorm = sqrt(total), total being
/// the sum of squares of all gradients; scale = min(1, 1 / (norm + 1e-6));
/// AdamW on W [IN, cols] and Nesterov SGD on b [cols] (all columns, or this
/// rank's) with gradients gW and gb, scaled.
inline void clipAndUpdate(bbrt::Context *ctx, int64_t cols, Tensor total, Tensor gradNorm,
                          Tensor scale, Tensor lr, Tensor step, Tensor gW, Tensor gb) {
  bbrt::unary(bbrt::UnaryKind::Sqrt, total, gradNorm);
  const float norm = *static_cast<float *>(gradNorm.data);
  *static_cast<float *>(scale.data) = norm > 1.0f ? 1.0f / (norm + 1e-6f) : 1.0f;

  Tensor W = state(ctx, kW, {IN, cols}), b = state(ctx, kB, {cols});
  Tensor m = state(ctx, kWExpAvg, {IN, cols}), v = state(ctx, kWExpAvgSq, {IN, cols});
  Tensor buf = state(ctx, kBMomentum, {cols});
  bbrt::adamwUpdate(W, gW, m, v, lr, step, scale, W, m, v, 0.9f, 0.999f, 1e-8f, 0.01f);
  bbrt::sgdUpdate(b, gb, buf, lr, scale, b, buf, 0.9f, 0.0f, true);
}

/// What bb_describe declares after the states: train_step and eval_step with
/// their inputs, outputs and arena sizes, and the training attributes.
inline void describeFunctions(bbrt::ModelInfo *info, bbrt::EntryPoint trainStep,
                              bbrt::EntryPoint evalStep) {
  bbrt::addFunction(info, "train_step", trainStep);
  bbrt::addInput(info, "x", DType::F32, {B, IN}, 0, "");
  bbrt::addInput(info, "y", DType::F32, {B, OUT}, 128, "labels");
  bbrt::addInput(info, "lr", DType::F32, {}, 192, "lr");
  bbrt::addInput(info, "step", DType::F32, {}, 196, "step");
  bbrt::addOutput(info, "loss", DType::F32, {}, 200, "loss");
  bbrt::addOutput(info, "grad_norm", DType::F32, {}, 204, "grad_norm");
  bbrt::setArenaSize(info, 704);
  bbrt::addFunction(info, "eval_step", evalStep);
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

} // namespace linreg

#endif
