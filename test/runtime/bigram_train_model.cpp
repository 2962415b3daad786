// A hand-written stand-in for a compiled training program on tokens: a bigram
// model, logits[b, t] = E[idx[b, t]], trained with cross-entropy and SGD with
// momentum (no gradient clipping). Only bbrt.h is included, as in generated
// code. No ONNX template: --export must fail.
#include "bbrt/bbrt.h"

using bbrt::DType;
using bbrt::Tensor;

namespace {

constexpr int64_t B = 4, T = 8, V = 16;

Tensor at(bbrt::Context *ctx, int64_t offset, DType dtype, std::initializer_list<int64_t> dims) {
  return Tensor(bbrt::arena(ctx, offset), dtype, dims);
}

} // namespace

void bb_train_step(bbrt::Context *ctx) {
  Tensor idx = at(ctx, 0, DType::I64, {B, T}), labels = at(ctx, 256, DType::I64, {B, T});
  Tensor lr = at(ctx, 512, DType::F32, {}), loss = at(ctx, 520, DType::F32, {});
  Tensor gradNorm = at(ctx, 524, DType::F32, {}), one = at(ctx, 528, DType::F32, {});
  Tensor scale = at(ctx, 532, DType::F32, {}), sumsq = at(ctx, 536, DType::F32, {});
  Tensor logits = at(ctx, 576, DType::F32, {B, T, V}), dlogits = at(ctx, 2624, DType::F32, {B, T, V});
  Tensor gE = at(ctx, 4672, DType::F32, {V, V}), gE2 = at(ctx, 5696, DType::F32, {V, V});
  Tensor E(bbrt::state(ctx, 0), DType::F32, {V, V}), buf(bbrt::state(ctx, 1), DType::F32, {V, V});
  bbrt::gather(E, idx, logits, 0);
  bbrt::crossEntropy(logits, labels, loss, -100);
  *static_cast<float *>(one.data) = 1.0f;
  bbrt::crossEntropyGrad(logits, labels, one, dlogits, -100);
  bbrt::scatterAdd(idx, dlogits, gE, 0);
  bbrt::binary(bbrt::BinaryKind::Mul, gE, gE, gE2);
  bbrt::reduce(bbrt::ReduceKind::Sum, gE2, sumsq, {0, 1});
  bbrt::unary(bbrt::UnaryKind::Sqrt, sumsq, gradNorm);
  *static_cast<float *>(scale.data) = 1.0f;
  bbrt::sgdUpdate(E, gE, buf, lr, scale, E, buf, 0.9f, 0.0f, false);
}

void bb_eval_step(bbrt::Context *ctx) {
  Tensor E(bbrt::state(ctx, 0), DType::F32, {V, V});
  Tensor logits = at(ctx, 576, DType::F32, {B, T, V});
  bbrt::gather(E, at(ctx, 0, DType::I64, {B, T}), logits, 0);
  bbrt::crossEntropy(logits, at(ctx, 256, DType::I64, {B, T}), at(ctx, 512, DType::F32, {}), -100);
}

void bb_describe(bbrt::ModelInfo *info) {
  bbrt::setModelName(info, "bigram");
  bbrt::addState(info, "E", DType::F32, {V, V}, true);
  bbrt::addState(info, "E#momentum", DType::F32, {V, V}, false);
  bbrt::addFunction(info, "train_step", bb_train_step);
  bbrt::addInput(info, "idx", DType::I64, {B, T}, 0, "");
  bbrt::addInput(info, "labels", DType::I64, {B, T}, 256, "labels");
  bbrt::addInput(info, "lr", DType::F32, {}, 512, "lr");
  bbrt::addInput(info, "step", DType::F32, {}, 516, "step");
  bbrt::addOutput(info, "loss", DType::F32, {}, 520, "loss");
  bbrt::addOutput(info, "grad_norm", DType::F32, {}, 524, "grad_norm");
  bbrt::setArenaSize(info, 6720);
  bbrt::addFunction(info, "eval_step", bb_eval_step);
  bbrt::addInput(info, "idx", DType::I64, {B, T}, 0, "");
  bbrt::addInput(info, "labels", DType::I64, {B, T}, 256, "labels");
  bbrt::addOutput(info, "loss", DType::F32, {}, 512, "loss");
  bbrt::setArenaSize(info, 2624);
  bbrt::setAttribute(info, "train.lr", "1.0");
}
