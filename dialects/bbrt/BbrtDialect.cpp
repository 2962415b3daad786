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

/// The fused ops' body: one argument per input, a terminator yielding one
/// value of the output's element type.
static LogicalResult verifyFusedBody(Operation *op, ValueRange inputs,
                                     Region &region, Value output) {
  Block &body = region.front();
  if (body.getNumArguments() != inputs.size())
    return op->emitOpError("the body has ")
           << body.getNumArguments() << " arguments for " << inputs.size()
           << " inputs";
  auto out = cast<MemRefType>(output.getType());
  Operation *end = body.empty() ? nullptr : &body.back();
  if (!end || !end->hasTrait<OpTrait::IsTerminator>() ||
      end->getNumOperands() != 1 ||
      end->getOperand(0).getType() != out.getElementType())
    return op->emitOpError("the body must yield one ") << out.getElementType();
  return success();
}

LogicalResult FusedElementwiseOp::verify() {
  return verifyFusedBody(*this, getInputs(), getBody(), getOutput());
}

LogicalResult FusedReduceOp::verify() {
  return verifyFusedBody(*this, getInputs(), getBody(), getOutput());
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
