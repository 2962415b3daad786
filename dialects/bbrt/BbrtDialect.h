//===- BbrtDialect.h - runtime-call level dialect ---------------*- C++ -*-===//
#ifndef BB_DIALECTS_BBRT_BBRTDIALECT_H
#define BB_DIALECTS_BBRT_BBRTDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/bbrt/BbrtDialect.h.inc"

#define GET_OP_CLASSES
#include "dialects/bbrt/BbrtOps.h.inc"

namespace mlir::bbrt {
/// The buffer behind `buffer`'s bbrt.view chain (itself when it is none).
inline Value rootBuffer(Value buffer) {
  while (auto view = buffer.getDefiningOp<ViewOp>())
    buffer = view.getSource();
  return buffer;
}
} // namespace mlir::bbrt

#endif // BB_DIALECTS_BBRT_BBRTDIALECT_H
