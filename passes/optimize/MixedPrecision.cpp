//===- MixedPrecision.cpp - bf16/f16 operands for f32 matrix products -----===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "runtime/core/Float16.h"

#include <cstring>

namespace mlir::bb {
#define GEN_PASS_DEF_MIXEDPRECISION
#include "passes/optimize/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// The 16 bits of `f` rounded to nearest even into `narrow` (bf16 or f16),
/// as the runtimes round (bbrt::convert).
uint16_t narrowBits(float f, Type narrow) {
  return narrow.isBF16() ? ::bbrt::floatToBf16Bits(f) : ::bbrt::floatToHalfBits(f);
}

/// A copy of f32 constant `cst` in `narrowType` (bf16 or f16), made at
/// compile time: a dense value stays dense, a resource blob (a weight) gets
/// a blob of its own named NAME.bf16 or NAME.f16 (bb.name too, so the
/// weights file holds the copy instead of the f32 one). Null when the values
/// are not there (planning reads shapes only).
Value narrowConstant(OpBuilder &b, ConstantOp cst, Type narrowType) {
  auto type = cast<RankedTensorType>(cst.getType());
  auto narrow = RankedTensorType::get(type.getShape(), narrowType);
  ElementsAttr value = cst.getValue();
  const llvm::fltSemantics &semantics =
      narrowType.isBF16() ? APFloat::BFloat() : APFloat::IEEEhalf();
  // The runtimes' rounding, for inline constants as for weights files.
  auto round = [&](const APFloat &v) {
    return APFloat(semantics,
                   APInt(16, narrowBits(v.convertToFloat(), narrowType)));
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
    out[i] = narrowBits(f, narrowType); // the runtimes' rounding
  }
  const std::string suffix = narrowType.isBF16() ? ".bf16" : ".f16";
  std::string name = res.getRawHandle().getKey().str() + suffix;
  if (auto old = cst->getAttrOfType<StringAttr>("bb.name"))
    name = old.str() + suffix;
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
    if (dtype != "bf16" && dtype != "f16" && dtype != "tf32") {
      func.emitError("bb-mixed-precision: --dtype=")
          << dtype << ": expected bf16, f16 or tf32";
      return signalPassFailure();
    }
    SmallVector<MatMulOp> products;
    func.walk([&](MatMulOp op) {
      if (op.getLhs().getType().getElementType().isF32() &&
          op.getRhs().getType().getElementType().isF32())
        products.push_back(op);
    });
    // Attention rounds its products' operands itself (its probabilities
    // are made inside it).
    Type productType = dtype == "f16"    ? Type(Float16Type::get(&getContext()))
                       : dtype == "bf16" ? Type(BFloat16Type::get(&getContext()))
                                         : Type(FloatTF32Type::get(&getContext()));
    func.walk([&](Operation *op) {
      if (isa<AttentionOp, AttentionGradOp>(op))
        op->setAttr("products", TypeAttr::get(productType));
    });
    // TF32: the operands stay f32 tensors; the product rounds them.
    if (dtype == "tf32") {
      for (MatMulOp op : products)
        op.setTf32(true);
      return;
    }
    // bf16 or f16 here: the products' type.
    const Type narrow = productType;
    OpBuilder b(&getContext());
    // Each constant's narrow copy, made once, next to it.
    llvm::DenseMap<Operation *, Value> copies;
    for (MatMulOp op : products) {
      b.setInsertionPoint(op);
      auto narrowed = [&](Value v) -> Value {
        if (auto cst = v.getDefiningOp<ConstantOp>()) {
          auto [it, added] = copies.try_emplace(cst, Value());
          if (added) {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointAfter(cst);
            it->second = narrowConstant(b, cst, narrow);
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
