//===- MixedPrecision.cpp - bf16 operands for f32 matrix products ---------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "runtime/core/BFloat16.h"

#include <cstring>

namespace mlir::bb {
#define GEN_PASS_DEF_MIXEDPRECISION
#include "passes/optimize/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// A bf16 copy of f32 constant `cst`, made at compile time: a dense value
/// stays dense, a resource blob (a weight) gets a bf16 blob of its own
/// named NAME.bf16 (bb.name too, so the weights file holds the bf16 copy
/// instead of the f32 one). Null when the values are not there (planning
/// reads shapes only).
Value bf16Constant(OpBuilder &b, ConstantOp cst, Type bf16) {
  auto type = cast<RankedTensorType>(cst.getType());
  auto narrow = RankedTensorType::get(type.getShape(), bf16);
  ElementsAttr value = cst.getValue();
  // The runtimes' rounding, for inline constants as for weights files.
  auto round = [](const APFloat &v) {
    const uint16_t bits = ::bbrt::floatToBf16Bits(v.convertToFloat());
    return APFloat(APFloat::BFloat(), APInt(16, bits));
  };
  if (auto dense = dyn_cast<DenseElementsAttr>(value);
      dense && type.getElementType().isF32()) {
    // A splat stays one value (iterating it would expand it).
    if (dense.isSplat())
      return b.create<ConstantOp>(
          cst.getLoc(), DenseElementsAttr::get(narrow, round(dense.getSplatValue<APFloat>())));
    SmallVector<APFloat> values;
    for (const APFloat &v : dense.getValues<APFloat>())
      values.push_back(round(v));
    return b.create<ConstantOp>(cst.getLoc(),
                                DenseElementsAttr::get(narrow, values));
  }
  auto res = dyn_cast<DenseResourceElementsAttr>(value);
  AsmResourceBlob *blob = res ? res.getRawHandle().getBlob() : nullptr;
  if (!blob || blob->getData().size() !=
                   static_cast<size_t>(type.getNumElements()) * sizeof(float))
    return {};
  ArrayRef<char> bytes = blob->getData();
  std::vector<uint16_t> out(type.getNumElements());
  for (size_t i = 0; i < out.size(); ++i) {
    float f;
    std::memcpy(&f, bytes.data() + i * sizeof(float), sizeof(float));
    out[i] = ::bbrt::floatToBf16Bits(f); // the runtimes' rounding
  }
  std::string name = res.getRawHandle().getKey().str() + ".bf16";
  if (auto old = cst->getAttrOfType<StringAttr>("bb.name"))
    name = old.str() + ".bf16";
  auto attr = DenseResourceElementsAttr::get(
      narrow, name,
      HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<uint16_t>(out)));
  auto copy = b.create<ConstantOp>(cst.getLoc(), attr);
  copy->setAttr("bb.name", b.getStringAttr(name));
  return copy;
}

struct MixedPrecisionPass
    : mlir::bb::impl::MixedPrecisionBase<MixedPrecisionPass> {
  using MixedPrecisionBase::MixedPrecisionBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (dtype != "bf16" && dtype != "tf32") {
      func.emitError("bb-mixed-precision: --dtype=")
          << dtype << ": expected bf16 or tf32";
      return signalPassFailure();
    }
    SmallVector<MatMulOp> products;
    func.walk([&](MatMulOp op) {
      if (op.getLhs().getType().getElementType().isF32() &&
          op.getRhs().getType().getElementType().isF32())
        products.push_back(op);
    });
    // TF32: the operands stay f32 tensors; the product rounds them.
    if (dtype == "tf32") {
      for (MatMulOp op : products)
        op.setTf32(true);
      return;
    }
    Type narrow = BFloat16Type::get(&getContext());
    OpBuilder b(&getContext());
    // Each constant's bf16 copy, made once, next to it.
    llvm::DenseMap<Operation *, Value> copies;
    for (MatMulOp op : products) {
      b.setInsertionPoint(op);
      auto narrowed = [&](Value v) -> Value {
        if (auto cst = v.getDefiningOp<ConstantOp>()) {
          auto [it, added] = copies.try_emplace(cst, Value());
          if (added) {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointAfter(cst);
            it->second = bf16Constant(b, cst, narrow);
          }
          if (it->second)
            return it->second;
        }
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
