//===- BbDialect.h - the Bumblebee tensor dialect ---------------*- C++ -*-===//
#ifndef BB_DIALECTS_BB_BBDIALECT_H
#define BB_DIALECTS_BB_BBDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/bb/BbDialect.h.inc"

namespace mlir::bb {
/// Registers the bb dialect and the upstream dialects it works with (func,
/// mesh) plus the external interface models, so every tool sees the same set.
void registerAllDialects(DialectRegistry &registry);
} // namespace mlir::bb

#endif // BB_DIALECTS_BB_BBDIALECT_H
