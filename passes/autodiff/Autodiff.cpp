//===- Autodiff.cpp - loss and reverse-mode gradients of @forward ----------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Regex.h"

namespace mlir::bb {
#define GEN_PASS_DEF_AUTODIFF
#include "passes/autodiff/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

struct AutodiffPass : mlir::bb::impl::AutodiffBase<AutodiffPass> {
  using AutodiffBase::AutodiffBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>("forward");
    if (!func || !func.getBody().hasOneBlock()) {
      module.emitError("bb-autodiff: needs a single-block func.func @forward");
      return signalPassFailure();
    }
    if (loss != "cross_entropy" && loss != "mse") {
      module.emitError("bb-autodiff: --loss must be cross_entropy or mse, not '")
          << loss << "'";
      return signalPassFailure();
    }
    Block &body = func.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    if (output < 0 || output >= static_cast<int64_t>(ret.getNumOperands())) {
      func.emitError("bb-autodiff: the model has no output ") << output;
      return signalPassFailure();
    }
    Value prediction = ret.getOperand(output);
    auto predType = cast<RankedTensorType>(prediction.getType());
    if (!isa<FloatType>(predType.getElementType())) {
      func.emitError("bb-autodiff: output ") << output << " is not a float tensor";
      return signalPassFailure();
    }

    // Trainable parameters: named float constants not matched by --freeze.
    llvm::Regex frozen(freeze);
    std::string regexError;
    if (!freeze.empty() && !frozen.isValid(regexError)) {
      module.emitError("bb-autodiff: --freeze='") << freeze << "': " << regexError;
      return signalPassFailure();
    }
    SmallVector<ConstantOp> params;
    for (auto cst : body.getOps<ConstantOp>()) {
      auto name = cst->getAttrOfType<StringAttr>("bb.name");
      if (!name || !isa<FloatType>(cst.getType().getElementType()))
        continue;
      if (!freeze.empty() && frozen.match(name.getValue()))
        continue;
      params.push_back(cst);
    }
    if (params.empty()) {
      module.emitError("bb-autodiff: no trainable parameters (all frozen?)");
      return signalPassFailure();
    }

    // Labels and the loss.
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    Type labelType =
        loss == "cross_entropy"
            ? RankedTensorType::get(predType.getShape().drop_back(),
                                    b.getI64Type())
            : Type(predType);
    BlockArgument labelArg = body.addArgument(labelType, loc);
    Value lossValue;
    if (loss == "cross_entropy") {
      lossValue = b.create<CrossEntropyOp>(loc, prediction, labelArg,
                                           b.getI64IntegerAttr(ignoreIndex));
    } else {
      Value diff = b.create<SubOp>(loc, prediction, labelArg);
      SmallVector<int64_t> all;
      for (int64_t d = 0; d < predType.getRank(); ++d)
        all.push_back(d);
      lossValue = b.create<ReduceMeanOp>(loc, b.create<MulOp>(loc, diff, diff),
                                         all, /*keepdims=*/false);
    }

    // Values that depend on a parameter (the loss ops included): only they
    // get gradients.
    llvm::DenseSet<Value> active;
    for (ConstantOp p : params)
      active.insert(p.getResult());
    for (Operation &op : body.without_terminator())
      if (llvm::any_of(op.getOperands(), [&](Value v) { return active.contains(v); }))
        for (Value r : op.getResults())
          if (isa<FloatType>(cast<RankedTensorType>(r.getType()).getElementType()))
            active.insert(r);
    if (!active.contains(lossValue)) {
      func.emitError("bb-autodiff: output ") << output
                                             << " does not depend on any parameter";
      return signalPassFailure();
    }

    // Reverse sweep.
    llvm::DenseMap<Value, Value> grads;
    auto accumulate = [&](Value v, Value g) {
      if (!g)
        return;
      auto it = grads.find(v);
      if (it == grads.end())
        grads[v] = g;
      else
        it->second = b.create<AddOp>(loc, it->second, g);
    };
    auto scalarType = cast<RankedTensorType>(lossValue.getType());
    // The seed, d loss / d loss = 1, marked for bb-train-step's loss
    // scaling, which replaces it by the scale.
    auto seed = b.create<ConstantOp>(
        loc, DenseElementsAttr::get(
                 scalarType, b.getFloatAttr(scalarType.getElementType(), 1.0)));
    seed->setAttr("bb.loss_seed", b.getUnitAttr());
    accumulate(lossValue, seed);
    SmallVector<Operation *> forwardOps;
    for (Operation &op : body.without_terminator())
      forwardOps.push_back(&op);
    for (Operation *op : llvm::reverse(forwardOps)) {
      SmallVector<Value> resultGrads;
      bool any = false;
      for (Value r : op->getResults()) {
        resultGrads.push_back(grads.lookup(r));
        any |= static_cast<bool>(resultGrads.back());
      }
      if (!any || isa<ConstantOp>(op))
        continue;
      SmallVector<bool> needed;
      bool anyNeeded = false;
      for (Value v : op->getOperands()) {
        needed.push_back(active.contains(v));
        anyNeeded |= needed.back();
      }
      if (!anyNeeded)
        continue;
      auto vjp = dyn_cast<AutodiffOpInterface>(op);
      if (!vjp) {
        op->emitError("bb-autodiff: '")
            << op->getName() << "' is on the path from the parameters to the "
            << "loss but has no gradient";
        return signalPassFailure();
      }
      SmallVector<Value> operandGrads;
      if (failed(vjp.buildVjp(b, resultGrads, needed, operandGrads)))
        return signalPassFailure();
      for (auto [operand, g, need] :
           llvm::zip(op->getOperands(), operandGrads, needed))
        if (need)
          accumulate(operand, g);
    }

    // Results: the loss, then one gradient per parameter.
    SmallVector<Value> results = {lossValue};
    SmallVector<Attribute> names = {b.getStringAttr("loss")};
    for (ConstantOp p : params) {
      Value g = grads.lookup(p.getResult());
      if (!g) // The parameter does not reach this output: zero gradient.
        g = b.create<ConstantOp>(
            loc, DenseElementsAttr::get(
                     p.getType(), b.getFloatAttr(p.getType().getElementType(), 0.0)));
      results.push_back(g);
      names.push_back(b.getStringAttr(
          "grad:" + p->getAttrOfType<StringAttr>("bb.name").getValue()));
    }
    b.create<func::ReturnOp>(loc, results);
    ret.erase();
    func.setType(FunctionType::get(&getContext(), body.getArgumentTypes(),
                                   TypeRange(ValueRange(results))));
    func.setArgAttr(labelArg.getArgNumber(), "bb.name",
                    b.getStringAttr(labels.getValue()));
    for (size_t i = 0; i < results.size(); ++i)
      func.setResultAttrs(i, b.getDictionaryAttr(
                                 {b.getNamedAttr("bb.name", names[i])}));
  }
};
} // namespace
