//===- Pipeline.h - the compiler's phases, strung together ------*- C++ -*-===//
#ifndef BB_COMPILER_PIPELINE_PIPELINE_H
#define BB_COMPILER_PIPELINE_PIPELINE_H

#include "compiler/onnx/Importer.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir::bb {

/// Where compilation stops and what it prints (onnx-mlir's --Emit* flags).
enum class EmitStage {
  BbImport, ///< bb IR exactly as imported, before any pass
  Bb,       ///< bb IR after import cleanup (canonicalize, fuse, CSE)
};

struct CompileOptions {
  frontend::ImportOptions import;
  EmitStage emit = EmitStage::Bb;
  /// Shared libraries with out-of-tree passes (mlir::PassPlugin).
  std::vector<std::string> passPlugins;
  /// A textual pass pipeline run after import cleanup, e.g. "my-fusion".
  std::string extraPasses;
};

/// Loads the pass plugins; call before parsing `extraPasses`.
llvm::Error loadPassPlugins(const std::vector<std::string> &paths);

/// Imports `modelPath` and runs the phases up to `options.emit`.
llvm::Expected<OwningOpRef<ModuleOp>> compileModel(MLIRContext &context,
                                                   const std::string &modelPath,
                                                   const CompileOptions &options);

} // namespace mlir::bb

#endif // BB_COMPILER_PIPELINE_PIPELINE_H
