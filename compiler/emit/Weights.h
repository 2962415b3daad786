//===- Weights.h - the weights of a bufferized program ----------*- C++ -*-===//
#ifndef BB_COMPILER_EMIT_WEIGHTS_H
#define BB_COMPILER_EMIT_WEIGHTS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir::bb {

struct Weight {
  std::string name;
  ElementsAttr value;
};

/// The bbrt.weight ops of the module in index order, then the initial values
/// of its bbrt.state ops (those that have one), in index order.
llvm::Expected<std::vector<Weight>> collectWeights(ModuleOp module);

/// Writes `weights` as a safetensors file at `path` (the caller renames it
/// into place). Tensors are laid out largest element type first so each
/// stays aligned to its element size.
llvm::Error writeSafetensors(const std::vector<Weight> &weights,
                             const std::string &path);

} // namespace mlir::bb

#endif // BB_COMPILER_EMIT_WEIGHTS_H
