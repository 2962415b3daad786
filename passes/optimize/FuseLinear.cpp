//===- FuseLinear.cpp - add(matmul(a, b), bias) -> linear(a, b, bias) -----===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::bb {
#define GEN_PASS_DEF_FUSELINEAR
#include "passes/optimize/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// The bias `add` adds to a single-use product, with the product, if any.
std::optional<std::pair<MatMulOp, Value>> productAndBias(AddOp add) {
  auto out = cast<RankedTensorType>(add.getType());
  for (int k = 0; k < 2; ++k) {
    auto product = add->getOperand(k).getDefiningOp<MatMulOp>();
    Value bias = add->getOperand(1 - k);
    if (!product || !product->hasOneUse() || product.getType() != out)
      continue;
    auto b = cast<RankedTensorType>(bias.getType());
    if (b.getRank() == 1 && b.getElementType() == out.getElementType() &&
        b.getDimSize(0) == out.getDimSize(out.getRank() - 1))
      return std::make_pair(product, bias);
  }
  return std::nullopt;
}

struct FuseLinearPass : mlir::bb::impl::FuseLinearBase<FuseLinearPass> {
  void runOnOperation() override {
    SmallVector<AddOp> adds;
    getOperation().walk([&](AddOp add) { adds.push_back(add); });
    OpBuilder b(&getContext());
    for (AddOp add : adds) {
      auto found = productAndBias(add);
      if (!found)
        continue;
      auto [product, bias] = *found;
      b.setInsertionPoint(add);
      auto linear = b.create<LinearOp>(
          product.getLoc(), add.getType(), product.getLhs(), product.getRhs(),
          bias, product.getTransposeLhs(), product.getTransposeRhs(),
          product.getTf32());
      add.replaceAllUsesWith(linear.getResult());
      add.erase();
      product.erase();
    }
  }
};

} // namespace
