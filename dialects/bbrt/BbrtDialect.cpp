//===- BbrtDialect.cpp - runtime-call level dialect -------------------------===//
#include "dialects/bbrt/BbrtDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace mlir::bbrt;

#include "dialects/bbrt/BbrtDialect.cpp.inc"

void BbrtDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/bbrt/BbrtOps.cpp.inc"
      >();
}

LogicalResult ViewOp::verify() {
  auto in = getSource().getType(), out = getResult().getType();
  if (in.getElementType() != out.getElementType() ||
      in.getNumElements() != out.getNumElements())
    return emitOpError("must keep the element type and count: ")
           << in << " vs " << out;
  return success();
}

#define GET_OP_CLASSES
#include "dialects/bbrt/BbrtOps.cpp.inc"
