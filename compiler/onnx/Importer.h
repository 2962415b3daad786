//===- Importer.h - ONNX model to bb IR -------------------------*- C++ -*-===//
#ifndef BB_COMPILER_ONNX_IMPORTER_H
#define BB_COMPILER_ONNX_IMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace mlir::bb::frontend {

struct ImportOptions {
  /// Concrete shapes for graph inputs (`--input-shape name=2x128`).
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Size given to symbolic dimensions of inputs not named above.
  int64_t defaultDimSize = 1;
  /// Graph inputs replaced by constants read from ONNX TensorProto files
  /// (`--freeze-input name=value.pb`): the input's value is then known at
  /// compile time (a shape, axes, pads...).
  std::map<std::string, std::string> frozenInputs;
  /// Import every float initializer as a resource blob, however small, so no
  /// folder can absorb it into a derived constant: training needs each
  /// parameter to stay a named value (set by `bbc --grad`).
  bool parametersAsResources = false;
  /// Never read the bytes of float weights (those in external data files,
  /// and inline ones larger than a few elements): they become named
  /// resources without data. For planning (`bbc plan`),
  /// which needs shapes only and works when external data files are absent.
  bool shapesOnly = false;
};

/// Parses `--freeze-input` values: "name=file.pb".
llvm::Error parseFrozenInput(llvm::StringRef spec, ImportOptions &options);

/// Parses `--input-shape` values: "name=2x128" (several separated by ',').
llvm::Error parseInputShapes(llvm::StringRef spec, ImportOptions &options);

/// Imports the model at `path` into a module holding `func.func @forward`
/// with static shapes. Errors are one line naming the file and the node.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxModel(mlir::MLIRContext &context, const std::string &path,
                const ImportOptions &options);

/// The ONNX op types the importer understands (for docs and --help).
std::vector<std::string> supportedOpTypes();

} // namespace mlir::bb::frontend

#endif // BB_COMPILER_ONNX_IMPORTER_H
