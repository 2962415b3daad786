//===- FuseConvRelu.cpp - relu(conv(...)) -> conv(...) {relu} --------------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::bb {
#define GEN_PASS_DEF_FUSECONVRELU
#include "passes/optimize/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

struct FuseConvReluPass : mlir::bb::impl::FuseConvReluBase<FuseConvReluPass> {
  void runOnOperation() override {
    SmallVector<ReluOp> relus;
    getOperation().walk([&](ReluOp relu) { relus.push_back(relu); });
    for (ReluOp relu : relus) {
      auto conv = relu.getInput().getDefiningOp<ConvOp>();
      if (!conv || !conv->hasOneUse() || conv.getRelu() ||
          conv.getType() != relu.getType())
        continue;
      conv.setRelu(true);
      relu.replaceAllUsesWith(conv.getResult());
      relu.erase();
    }
  }
};

} // namespace
