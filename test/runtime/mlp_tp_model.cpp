// A hand-written stand-in for a sharded compiler output: mlp_model.cpp's MLP
// split Megatron-style over a mesh of 2 ranks (tensor parallel), run as
// `mpirun -np 2 mlp_tp --input x=x.npy`:
//   fc1.weight [8, 16] is split by columns: each rank holds [8, 8];
//   fc1.bias [16] is replicated and sliced with shardSlice;
//   hidden_local = relu(x @ fc1.weight_local + fc1.bias_local)   [4, 8]
//   fc2.weight [3, 16] is split along its input dim: each rank holds [3, 8];
//   y = allReduce(hidden_local @ fc2.weight_local^T) + fc2.bias
//   hidden/relu:0 = allGather(hidden_local) along dim 1            [4, 16]
// It reads mlp_model.cpp's weights file (global tensors) and its outputs equal
// the single-process model's. Only bbrt.h is included, as in generated code.
#include "bbrt/bbrt.h"

using bbrt::DType;

void bb_forward(bbrt::Context *ctx) {
  bbrt::Tensor x(bbrt::arena(ctx, 0), DType::F32, {4, 8});
  bbrt::Tensor b1(bbrt::arena(ctx, 128), DType::F32, {8});
  bbrt::Tensor h1(bbrt::arena(ctx, 192), DType::F32, {4, 8});
  bbrt::Tensor h2(bbrt::arena(ctx, 320), DType::F32, {4, 8});
  bbrt::Tensor hr(bbrt::arena(ctx, 448), DType::F32, {4, 8});
  bbrt::Tensor y0(bbrt::arena(ctx, 576), DType::F32, {4, 3});
  bbrt::Tensor y1(bbrt::arena(ctx, 640), DType::F32, {4, 3});
  bbrt::Tensor y(bbrt::arena(ctx, 704), DType::F32, {4, 3});
  bbrt::Tensor hidden(bbrt::arena(ctx, 768), DType::F32, {4, 16});
  bbrt::matmul(x, bbrt::Tensor(bbrt::weight(ctx, 0), DType::F32, {8, 8}), h1,
               false, false);
  bbrt::shardSlice(ctx, bbrt::Tensor(bbrt::weight(ctx, 1), DType::F32, {16}),
                   b1, "[[0]]");
  bbrt::binary(bbrt::BinaryKind::Add, h1, b1, h2);
  bbrt::unary(bbrt::UnaryKind::Relu, h2, hr);
  bbrt::matmul(hr, bbrt::Tensor(bbrt::weight(ctx, 2), DType::F32, {3, 8}), y0,
               false, true);
  bbrt::allReduce(ctx, y0, y1, bbrt::ReduceKind::Sum, {0});
  bbrt::binary(bbrt::BinaryKind::Add, y1,
               bbrt::Tensor(bbrt::weight(ctx, 3), DType::F32, {3}), y);
  bbrt::allGather(ctx, hr, hidden, 1, {0});
}

void bb_describe(bbrt::ModelInfo *info) {
  bbrt::setModelName(info, "mlp_tp");
  bbrt::setMesh(info, {2});
  bbrt::addWeight(info, "fc1.weight", DType::F32, {8, 8});
  bbrt::setSharding(info, "[[], [0]]");
  bbrt::addWeight(info, "fc1.bias", DType::F32, {16});
  bbrt::addWeight(info, "fc2.weight", DType::F32, {3, 8});
  bbrt::setSharding(info, "[[], [0]]");
  bbrt::addWeight(info, "fc2.bias", DType::F32, {3});
  bbrt::addFunction(info, "forward", bb_forward);
  bbrt::addInput(info, "x", DType::F32, {4, 8}, 0, "");
  bbrt::addOutput(info, "y", DType::F32, {4, 3}, 704, "");
  bbrt::addOutput(info, "hidden/relu:0", DType::F32, {4, 16}, 768, "");
  bbrt::setArenaSize(info, 1024);
}
