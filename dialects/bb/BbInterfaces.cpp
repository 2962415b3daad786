//===- BbInterfaces.cpp - op interfaces of the bb dialect ------------------===//
#include "dialects/bb/BbInterfaces.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

int64_t mlir::bb::getElementByteWidth(Type type) {
  unsigned bits = type.getIntOrFloatBitWidth();
  return bits < 8 ? 1 : static_cast<int64_t>(bits / 8);
}

int64_t mlir::bb::getTensorBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return 0;
  return tensor.getNumElements() * getElementByteWidth(tensor.getElementType());
}

static int64_t numElements(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.hasStaticShape() ? tensor.getNumElements() : 0;
}

int64_t mlir::bb::detail::defaultFlops(Operation *op) {
  int64_t flops = 0;
  for (Type t : op->getResultTypes())
    flops += numElements(t);
  return flops;
}

int64_t mlir::bb::detail::defaultBytesRead(Operation *op) {
  int64_t bytes = 0;
  for (Type t : op->getOperandTypes())
    bytes += getTensorBytes(t);
  return bytes;
}

int64_t mlir::bb::detail::defaultBytesWritten(Operation *op) {
  int64_t bytes = 0;
  for (Type t : op->getResultTypes())
    bytes += getTensorBytes(t);
  return bytes;
}

#include "dialects/bb/BbInterfaces.cpp.inc"
