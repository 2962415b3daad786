//===- FuseBatchSum.cpp - reduce_sum(batched A^T B) -> one product --------===//
//
// A batched product summed over its batch is one product whose contraction
// runs over the batch too: sum_b L_b^T R_b = [L_1; ...; L_B]^T [R_1; ...; R_B],
// and stacking the blocks of a row-major [b..., k, m] tensor is reshaping it
// to [B*k, m]. Reverse-mode autodiff writes every weight gradient of a
// batched activation this way (dW = sum over the batch of x_b^T dy_b).
//
//===----------------------------------------------------------------------===//
#include "passes/optimize/FuseBatchSum.h"
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::bb {
#define GEN_PASS_DEF_FUSEBATCHSUM
#include "passes/optimize/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

/// The product that `sum` reduces over all of its batch axes, when it has
/// the form above: lhs transposed, rhs not, equal batch dimensions (no
/// broadcasting), no other user.
MatMulOp mlir::bb::summedProduct(ReduceSumOp sum) {
  auto product = sum.getInput().getDefiningOp<MatMulOp>();
  if (!product || !product->hasOneUse() || !product.getTransposeLhs() ||
      product.getTransposeRhs())
    return {};
  auto lhs = cast<RankedTensorType>(product.getLhs().getType());
  auto rhs = cast<RankedTensorType>(product.getRhs().getType());
  auto out = cast<RankedTensorType>(product.getType());
  const int64_t batchRank = out.getRank() - 2;
  if (batchRank < 1 || lhs.getRank() != out.getRank() ||
      rhs.getRank() != out.getRank() ||
      lhs.getShape().take_front(batchRank) != out.getShape().take_front(batchRank) ||
      rhs.getShape().take_front(batchRank) != out.getShape().take_front(batchRank))
    return {};
  ArrayRef<int64_t> axes = sum.getAxes();
  if (static_cast<int64_t>(axes.size()) != batchRank)
    return {};
  for (int64_t i = 0; i < batchRank; ++i)
    if (axes[i] != i)
      return {};
  return product;
}

namespace {

/// `value` [b..., r, c] as [B*r, c].
Value stackBatch(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  const int64_t rank = type.getRank();
  int64_t rows = 1;
  for (int64_t i = 0; i + 1 < rank; ++i)
    rows *= type.getDimSize(i);
  auto stacked = RankedTensorType::get({rows, type.getDimSize(rank - 1)},
                                       type.getElementType());
  return b.create<ReshapeOp>(loc, stacked, value);
}

struct FuseBatchSumPass : mlir::bb::impl::FuseBatchSumBase<FuseBatchSumPass> {
  void runOnOperation() override {
    SmallVector<ReduceSumOp> sums;
    getOperation().walk([&](ReduceSumOp sum) { sums.push_back(sum); });
    OpBuilder b(&getContext());
    for (ReduceSumOp sum : sums) {
      MatMulOp product = summedProduct(sum);
      if (!product)
        continue;
      b.setInsertionPoint(sum);
      Location loc = product.getLoc();
      auto out = cast<RankedTensorType>(product.getType());
      auto type = RankedTensorType::get(out.getShape().take_back(2),
                                        out.getElementType());
      Value lhs = stackBatch(b, loc, product.getLhs());
      Value rhs = stackBatch(b, loc, product.getRhs());
      Value merged = b.create<MatMulOp>(loc, type, lhs, rhs,
                                        /*transpose_lhs=*/true,
                                        /*transpose_rhs=*/false,
                                        product.getTf32());
      if (merged.getType() != sum.getType())
        merged = b.create<ReshapeOp>(sum.getLoc(), sum.getType(), merged);
      sum.replaceAllUsesWith(merged);
      sum.erase();
      product.erase();
    }
  }
};

} // namespace
