//===- TrainedModel.h - the ONNX model a trained program exports ---*- C++ -*-===//
//
// A training binary's `--export` writes the original ONNX model with the
// trained initializers replaced. The compiler prepares the part that does not
// change: the model without those initializers, serialized; the binary
// appends a GraphProto holding the new ones (protobuf merges a repeated
// message field, so the result parses as one model).
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_ONNX_TRAINEDMODEL_H
#define BB_COMPILER_ONNX_TRAINEDMODEL_H

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir::bb::frontend {

/// The serialized model at `path` without the initializers named in
/// `trained`. The initializers that stay and live in external data files are
/// inlined, so the exported model does not depend on where it is written.
/// Errors name the file, and an initializer in `trained` that the model does
/// not have.
llvm::Expected<std::string> modelWithoutInitializers(
    const std::string &path, const llvm::StringSet<> &trained);

} // namespace mlir::bb::frontend

#endif // BB_COMPILER_ONNX_TRAINEDMODEL_H
