// A hand-written stand-in for compiler output: a 2-layer MLP
//   hidden = relu(x @ fc1.weight + fc1.bias)        (fc1.weight: [in, out])
//   y      = hidden @ fc2.weight^T + fc2.bias       (fc2.weight: [out, in])
// Only bbrt.h is included, exactly as in generated code. The SDK test builds
// this file with the documented `c++ gen.cpp -I SDK/include SDK/lib/...` line.
#include "bbrt/bbrt.h"

using bbrt::DType;

void bb_forward(bbrt::Context *ctx) {
  bbrt::Tensor x(bbrt::arena(ctx, 0), DType::F32, {4, 8});
  bbrt::Tensor h1(bbrt::arena(ctx, 128), DType::F32, {4, 16});
  bbrt::Tensor h2(bbrt::arena(ctx, 384), DType::F32, {4, 16});
  bbrt::Tensor hr(bbrt::arena(ctx, 640), DType::F32, {4, 16});
  bbrt::Tensor y0(bbrt::arena(ctx, 896), DType::F32, {4, 3});
  bbrt::Tensor y(bbrt::arena(ctx, 960), DType::F32, {4, 3});
  bbrt::matmul(x, bbrt::Tensor(bbrt::weight(ctx, 0), DType::F32, {8, 16}), h1,
               false, false);
  bbrt::binary(bbrt::BinaryKind::Add, h1,
               bbrt::Tensor(bbrt::weight(ctx, 1), DType::F32, {16}), h2);
  bbrt::unary(bbrt::UnaryKind::Relu, h2, hr);
  bbrt::matmul(hr, bbrt::Tensor(bbrt::weight(ctx, 2), DType::F32, {3, 16}), y0,
               false, true);
  bbrt::binary(bbrt::BinaryKind::Add, y0,
               bbrt::Tensor(bbrt::weight(ctx, 3), DType::F32, {3}), y);
}

void bb_describe(bbrt::ModelInfo *info) {
  bbrt::setModelName(info, "mlp");
  bbrt::addWeight(info, "fc1.weight", DType::F32, {8, 16});
  bbrt::addWeight(info, "fc1.bias", DType::F32, {16});
  bbrt::addWeight(info, "fc2.weight", DType::F32, {3, 16});
  bbrt::addWeight(info, "fc2.bias", DType::F32, {3});
  bbrt::addFunction(info, "forward", bb_forward);
  bbrt::addInput(info, "x", DType::F32, {4, 8}, 0, "");
  bbrt::addOutput(info, "y", DType::F32, {4, 3}, 960, "");
  bbrt::addOutput(info, "hidden/relu:0", DType::F32, {4, 16}, 640, "");
  bbrt::setArenaSize(info, 1024);
}
