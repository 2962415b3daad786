//===- FoldBatchNorm.cpp - batch_norm(conv) -> conv -------------------------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::bb {
#define GEN_PASS_DEF_FOLDBATCHNORM
#include "passes/optimize/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// The f32 values of a constant operand (dense or resource), if available.
std::optional<std::vector<double>> f32Values(Value v) {
  auto cst = v.getDefiningOp<ConstantOp>();
  if (!cst || !cst.getType().getElementType().isF32())
    return std::nullopt;
  std::vector<double> out;
  ElementsAttr value = cst.getValue();
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    for (float f : dense.getValues<float>())
      out.push_back(f);
    return out;
  }
  if (auto res = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> bytes = blob->getData();
    if (bytes.size() != cst.getType().getNumElements() * sizeof(float))
      return std::nullopt;
    const float *data = reinterpret_cast<const float *>(bytes.data());
    out.assign(data, data + bytes.size() / sizeof(float));
    return out;
  }
  return std::nullopt;
}

/// A new f32 constant: a resource blob (named after `name`) when large.
Value makeConstant(PatternRewriter &rewriter, Location loc,
                   RankedTensorType type, ArrayRef<float> values,
                   StringRef name) {
  if (values.size() <= 64)
    return rewriter.create<ConstantOp>(
        loc, DenseElementsAttr::get(type, values));
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(values);
  auto attr = DenseResourceElementsAttr::get(type, name, std::move(blob));
  auto cst = rewriter.create<ConstantOp>(loc, attr);
  cst->setAttr("bb.name", rewriter.getStringAttr(name));
  return cst;
}

struct FoldBatchNormIntoConv : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BatchNormOp bn,
                                PatternRewriter &rewriter) const override {
    auto conv = bn.getInput().getDefiningOp<ConvOp>();
    if (!conv || !conv->hasOneUse())
      return rewriter.notifyMatchFailure(bn, "input is not a single-use conv");
    auto weight = f32Values(conv.getWeight());
    auto scale = f32Values(bn.getScale()), beta = f32Values(bn.getBias()),
         mean = f32Values(bn.getMean()), var = f32Values(bn.getVariance());
    std::optional<std::vector<double>> bias;
    if (conv.getBias() && !(bias = f32Values(conv.getBias())))
      return rewriter.notifyMatchFailure(bn, "conv bias is not constant f32");
    if (!weight || !scale || !beta || !mean || !var)
      return rewriter.notifyMatchFailure(bn, "parameters are not constant f32");

    auto wType = conv.getWeight().getType();
    int64_t filters = wType.getDimSize(0);
    int64_t perFilter = wType.getNumElements() / filters;
    double eps = bn.getEpsilon().convertToDouble();
    std::vector<float> newW(weight->size()), newB(filters);
    for (int64_t f = 0; f < filters; ++f) {
      double s = (*scale)[f] / std::sqrt((*var)[f] + eps);
      for (int64_t i = 0; i < perFilter; ++i)
        newW[f * perFilter + i] =
            static_cast<float>((*weight)[f * perFilter + i] * s);
      double b = bias ? (*bias)[f] : 0.0;
      newB[f] = static_cast<float>((b - (*mean)[f]) * s + (*beta)[f]);
    }
    std::string name = "folded_bn";
    if (auto old = conv.getWeight().getDefiningOp()->getAttrOfType<StringAttr>(
            "bb.name"))
      name = old.str() + ".folded_bn";
    Location loc = bn.getLoc();
    Value w = makeConstant(rewriter, loc, wType, newW, name);
    Value b = makeConstant(
        rewriter, loc,
        RankedTensorType::get({filters}, wType.getElementType()), newB,
        name + ".bias");
    rewriter.replaceOpWithNewOp<ConvOp>(
        bn, bn.getType(), conv.getInput(), w, b, conv.getStridesAttr(),
        conv.getPadsAttr(), conv.getDilationsAttr(), conv.getGroupAttr(),
        conv.getReluAttr());
    rewriter.eraseOp(conv);
    return success();
  }
};

struct FoldBatchNormPass
    : mlir::bb::impl::FoldBatchNormBase<FoldBatchNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldBatchNormIntoConv>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
