//===- ModelLoader.h - read an ONNX model from disk -------------*- C++ -*-===//
//
// Reads `.onnx` (binary protobuf) and `.onnxtext` (ONNX's textual syntax, for
// tests), and resolves tensor data: embedded bytes are moved out of the
// protobuf (never copied again), external data is memory-mapped, following
// ONNX's rules (relative location, no `..`, offset and length inside the file).
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_ONNX_MODELLOADER_H
#define BB_COMPILER_ONNX_MODELLOADER_H

#include "onnx/onnx_pb.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace mlir::bb::frontend {

/// Bytes of one tensor's data, kept alive by `owner` (an mmap or a string).
struct TensorBytes {
  const char *data = nullptr;
  size_t size = 0;
  std::shared_ptr<void> owner;
};

class LoadedModel {
public:
  /// Reads and parses `path`; the error names the file and what is wrong.
  static llvm::Expected<std::unique_ptr<LoadedModel>> load(const std::string &path);

  onnx::ModelProto &proto() { return model; }
  const std::string &path() const { return modelPath; }
  /// The opset version of the default ONNX domain.
  int64_t opsetVersion() const { return opset; }

  /// The data of `tensor`, which must belong to this model: raw bytes moved
  /// out of the protobuf, or a window of an mmapped external data file.
  /// Typed fields (float_data, ...) are not handled here (see Importer).
  llvm::Expected<TensorBytes> rawBytes(onnx::TensorProto &tensor,
                                       size_t expectedSize);

private:
  onnx::ModelProto model;
  std::string modelPath;
  std::string baseDir;
  int64_t opset = 0;
};

} // namespace mlir::bb::frontend

#endif // BB_COMPILER_ONNX_MODELLOADER_H
