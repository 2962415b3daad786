//===- AccumulateGradients.cpp - a backward adds into its accumulators ----===//
#include "passes/pipeline/AccumulateGradients.h"
#include "passes/optimize/FuseBatchSum.h"
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::bb {
#define GEN_PASS_DEF_ACCUMULATEGRADIENTS
#include "passes/pipeline/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {
/// `g` seen through reshapes nothing else uses (g's own users aside).
Value underReshapes(Value g) {
  Value v = g;
  while (auto reshape = v.getDefiningOp<ReshapeOp>()) {
    if (v != g && !reshape->hasOneUse())
      break;
    v = reshape.getInput();
  }
  return v;
}

bool isFloat(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && isa<Float32Type, Float64Type>(type.getElementType());
}
} // namespace

MatMulOp mlir::bb::gradientProduct(Value g) {
  Value v = underReshapes(g);
  auto product = v.getDefiningOp<MatMulOp>();
  if (!product || (v != g && !product->hasOneUse()) || !isFloat(v))
    return {};
  return product;
}

bool mlir::bb::summedByProduct(Value g) {
  if (gradientProduct(g))
    return true;
  Value v = underReshapes(g);
  auto sum = v.getDefiningOp<ReduceSumOp>();
  return sum && (v == g || sum->hasOneUse()) && isFloat(v) &&
         summedProduct(sum);
}

bool mlir::bb::accumulatedInProduct(Value g, bool partialSums,
                                    bool oneDevice) {
  return (partialSums || oneDevice) && summedByProduct(g);
}

namespace {

bool hasRole(DictionaryAttr attrs, StringRef role) {
  auto r = attrs ? attrs.getAs<StringAttr>("bb.role") : StringAttr();
  return r && r.getValue() == role;
}

/// `acc + g`, summed by the product that computes g where there is one
/// (through reshapes): bb.linear with `acc` (reshaped to the product's
/// shape) as its addend. Made where g is, so that what g is computed from
/// dies as early as before.
Value accumulate(OpBuilder &b, Location loc, Value acc, Value g) {
  MatMulOp product = g.hasOneUse() ? gradientProduct(g) : MatMulOp();
  if (!product) {
    b.setInsertionPointAfterValue(g);
    return b.create<AddOp>(loc, acc, g);
  }
  auto type = cast<RankedTensorType>(product.getType());
  b.setInsertionPoint(product);
  Value addend = acc;
  if (type != acc.getType())
    addend = b.create<ReshapeOp>(loc, type, acc);
  Value sum = b.create<LinearOp>(product.getLoc(), type, product.getLhs(),
                                 product.getRhs(), addend,
                                 product.getTransposeLhs(),
                                 product.getTransposeRhs(), product.getTf32());
  if (sum.getType() != g.getType())
    sum = b.create<ReshapeOp>(loc, g.getType(), sum);
  return sum;
}

struct AccumulateGradientsPass
    : mlir::bb::impl::AccumulateGradientsBase<AccumulateGradientsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal() || !func.getBody().hasOneBlock())
      return;
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (hasRole(func.getArgAttrDict(i), "grad") ||
          hasRole(func.getArgAttrDict(i), "accumulator"))
        return; // gradsq, an update, or done already
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    OpBuilder b(ret);
    for (unsigned i = 0; i < func.getNumResults(); ++i) {
      DictionaryAttr attrs = func.getResultAttrDict(i);
      if (!hasRole(attrs, "grad"))
        continue;
      Value g = ret.getOperand(i);
      NamedAttrList argAttrs;
      argAttrs.set("bb.name", attrs.get("bb.name"));
      argAttrs.set("bb.role", b.getStringAttr("accumulator"));
      unsigned n = func.getNumArguments();
      func.insertArgument(n, g.getType(), argAttrs.getDictionary(&getContext()),
                          func.getLoc());
      Value acc = func.getArgument(n);
      ret.setOperand(i, accumulate(b, g.getLoc(), acc, g));
      for (Operation *op = g.getDefiningOp(); op && op->use_empty();) {
        Operation *next =
            isa<ReshapeOp>(op) ? op->getOperand(0).getDefiningOp() : nullptr;
        op->erase();
        op = next;
      }
    }
  }
};

} // namespace
