//===- BufferizeToBbrt.cpp - bb tensors to bbrt kernel calls on buffers ----===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "dialects/bbrt/BbrtDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::bb {
#define GEN_PASS_DEF_BUFFERIZETOBBRT
#include "passes/lowering/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

MemRefType bufferType(Type tensorType) {
  auto t = cast<RankedTensorType>(tensorType);
  return MemRefType::get(t.getShape(), t.getElementType());
}

/// Operand positions of `op` that are optional and absent (conv and
/// layer_norm bias), as positions in the bb op's full operand list.
SmallVector<int64_t> absentOptionals(Operation *op) {
  if (auto conv = dyn_cast<ConvOp>(op); conv && !conv.getBias())
    return {2};
  if (auto ln = dyn_cast<LayerNormOp>(op); ln && !ln.getBias())
    return {2};
  return {};
}

struct BufferizeToBbrtPass
    : mlir::bb::impl::BufferizeToBbrtBase<BufferizeToBbrtPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>("forward");
    if (!func) {
      module.emitError("bb-bufferize: no func.func @forward");
      return signalPassFailure();
    }
    if (!func.getBody().hasOneBlock()) {
      func.emitError("bb-bufferize: @forward must be one block");
      return signalPassFailure();
    }
    Block &body = func.getBody().front();
    OpBuilder b(func.getContext());
    b.setInsertionPointToStart(&body);
    IRMapping buffers;
    llvm::DenseSet<Value> ownBuffers; // memref.allocs, not yet claimed by an output

    for (BlockArgument arg : body.getArguments()) {
      auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "bb.name");
      Value buf = b.create<bbrt::InputOp>(
          func.getLoc(), bufferType(arg.getType()),
          b.getI64IntegerAttr(arg.getArgNumber()),
          name ? name : b.getStringAttr("input" + Twine(arg.getArgNumber())),
          IntegerAttr());
      buffers.map(arg, buf);
    }

    int64_t weightIndex = 0;
    SmallVector<Operation *> toErase;
    for (Operation &op : llvm::make_early_inc_range(body.without_terminator())) {
      if (op.getDialect() && isa<bbrt::BbrtDialect>(op.getDialect()))
        continue;
      b.setInsertionPoint(&op);
      Location loc = op.getLoc();
      if (auto cst = dyn_cast<ConstantOp>(op)) {
        auto name = cst->getAttrOfType<StringAttr>("bb.name");
        std::string fallback = "const" + std::to_string(weightIndex);
        Value w = b.create<bbrt::WeightOp>(
            loc, bufferType(cst.getType()), b.getI64IntegerAttr(weightIndex++),
            name ? name : b.getStringAttr(fallback), cst.getValue());
        buffers.map(cst.getResult(), w);
      } else if (auto reshape = dyn_cast<ReshapeOp>(op)) {
        Value v = b.create<bbrt::ViewOp>(loc, bufferType(reshape.getType()),
                                         buffers.lookup(reshape.getInput()));
        buffers.map(reshape.getResult(), v);
      } else if (isa<BbDialect>(op.getDialect())) {
        SmallVector<Value> ins, outs;
        for (Value operand : op.getOperands())
          ins.push_back(buffers.lookup(operand));
        for (Value result : op.getResults()) {
          Value buf = b.create<memref::AllocOp>(loc, bufferType(result.getType()));
          ownBuffers.insert(buf);
          outs.push_back(buf);
          buffers.map(result, buf);
        }
        SmallVector<int64_t> absent = absentOptionals(&op);
        b.create<bbrt::KernelOp>(
            loc, b.getStringAttr(op.getName().getStringRef()),
            op.getAttrDictionary(), ins, outs,
            absent.empty() ? DenseI64ArrayAttr() : b.getDenseI64ArrayAttr(absent));
      } else {
        op.emitError("bb-bufferize: cannot bufferize this op");
        return signalPassFailure();
      }
      toErase.push_back(&op);
    }

    // Outputs: a buffer of their own each.
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    b.setInsertionPoint(ret);
    for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
      Value buf = buffers.lookup(value);
      if (!ownBuffers.erase(buf)) {
        Value copy = b.create<memref::AllocOp>(ret.getLoc(),
                                               cast<MemRefType>(buf.getType()));
        b.create<bbrt::KernelOp>(ret.getLoc(), b.getStringAttr("bbrt.copy"),
                                 b.getDictionaryAttr({}), ValueRange{buf},
                                 ValueRange{copy}, DenseI64ArrayAttr());
        buf = copy;
      }
      auto name = func.getResultAttrOfType<StringAttr>(i, "bb.name");
      b.create<bbrt::OutputOp>(
          ret.getLoc(), b.getI64IntegerAttr(i),
          name ? name : b.getStringAttr("output" + Twine(i)), buf);
    }
    b.create<func::ReturnOp>(ret.getLoc());
    ret.erase();
    for (Operation *op : llvm::reverse(toErase))
      op->erase();

    // The function now takes and returns nothing: inputs and outputs are
    // bbrt.input / bbrt.output, which carry the names.
    body.eraseArguments(0, body.getNumArguments());
    func.setType(FunctionType::get(func.getContext(), {}, {}));
    func.setAllArgAttrs(ArrayRef<DictionaryAttr>{});
    func.setAllResultAttrs(ArrayRef<DictionaryAttr>{});
  }
};
} // namespace
