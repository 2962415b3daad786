//===- MixedPrecision.cpp - bf16 operands for f32 matrix products ---------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::bb {
#define GEN_PASS_DEF_MIXEDPRECISION
#include "passes/optimize/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

struct MixedPrecisionPass
    : mlir::bb::impl::MixedPrecisionBase<MixedPrecisionPass> {
  using MixedPrecisionBase::MixedPrecisionBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (dtype != "bf16") {
      func.emitError("bb-mixed-precision: --dtype=")
          << dtype << ": expected bf16";
      return signalPassFailure();
    }
    Type narrow = BFloat16Type::get(&getContext());
    SmallVector<MatMulOp> products;
    func.walk([&](MatMulOp op) {
      if (op.getLhs().getType().getElementType().isF32() &&
          op.getRhs().getType().getElementType().isF32())
        products.push_back(op);
    });
    OpBuilder b(&getContext());
    for (MatMulOp op : products) {
      b.setInsertionPoint(op);
      auto narrowed = [&](Value v) -> Value {
        auto type = cast<RankedTensorType>(v.getType());
        return b.create<ConvertOp>(op.getLoc(), type.clone(narrow), v);
      };
      auto product = b.create<MatMulOp>(
          op.getLoc(), op.getType(), narrowed(op.getLhs()),
          narrowed(op.getRhs()), op.getTransposeLhs(), op.getTransposeRhs());
      // Keep the op's other attributes (bb.recomputed, names, layouts).
      for (NamedAttribute a : op->getDiscardableAttrs())
        product->setAttr(a.getName(), a.getValue());
      op.replaceAllUsesWith(product.getResult());
      op.erase();
    }
  }
};

} // namespace
