//===- OpCost.cpp - roofline time of a bb op ------------------------------===//
#include "compiler/costmodel/OpCost.h"

#include "compiler/costmodel/Roofline.h"
#include "dialects/bb/BbInterfaces.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::bb;
using namespace mlir::bb::costmodel;

cluster::DType mlir::bb::costmodel::dtypeOf(Type type) {
  Type element = getElementTypeOrSelf(type);
  if (element.isBF16())
    return cluster::DType::BF16;
  if (element.isF16())
    return cluster::DType::F16;
  return cluster::DType::F32;
}

double mlir::bb::costmodel::opComputeTime(Operation *op,
                                          const cluster::Cluster &cluster) {
  auto cost = dyn_cast<bb::CostOpInterface>(op);
  if (!cost)
    return 0;
  Type type = op->getNumResults() > 0    ? op->getResult(0).getType()
              : op->getNumOperands() > 0 ? op->getOperand(0).getType()
                                         : Type();
  cluster::DType dtype = type ? dtypeOf(type) : cluster::DType::F32;
  // A product of 16-bit floats runs at their rate, whatever its result
  // (bf16 operands with an f32 result: bb-mixed-precision's matmuls).
  for (Type operand : op->getOperandTypes())
    if (cluster::DType d = dtypeOf(operand);
        d == cluster::DType::BF16 || d == cluster::DType::F16)
      dtype = d;
  // A TF32 product (bb.matmul's or bb.linear's `tf32`) at the TF32 rate.
  if (op->hasAttr("tf32"))
    dtype = cluster::DType::TF32;
  // Attention's products at the rate of the type they round to.
  if (auto products = op->getAttrOfType<TypeAttr>("products"))
    dtype = isa<FloatTF32Type>(products.getValue()) ? cluster::DType::TF32
                                                    : dtypeOf(products.getValue());
  return computeTime(cluster, dtype, cost.getFlops(),
                     cost.getBytesRead() + cost.getBytesWritten(),
                     cost.updatesInPlace());
}
