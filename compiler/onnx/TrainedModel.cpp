//===- TrainedModel.cpp - the ONNX model a trained program exports ---------===//
#include "compiler/onnx/TrainedModel.h"

#include "compiler/onnx/ModelLoader.h"

using namespace mlir::bb;

static llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

llvm::Expected<std::string> frontend::modelWithoutInitializers(
    const std::string &path, const llvm::StringSet<> &trained) {
  auto loaded = LoadedModel::load(path);
  if (!loaded)
    return loaded.takeError();
  onnx::GraphProto *graph = (*loaded)->proto().mutable_graph();
  llvm::StringSet<> found;
  google::protobuf::RepeatedPtrField<onnx::TensorProto> kept;
  for (onnx::TensorProto &init : *graph->mutable_initializer()) {
    if (trained.contains(init.name())) {
      found.insert(init.name());
      continue;
    }
    if (init.data_location() == onnx::TensorProto::EXTERNAL) {
      int64_t count = 1;
      for (int64_t d : init.dims())
        count *= d;
      // The loader checks the byte count against the external file.
      size_t width = 0;
      switch (init.data_type()) {
      case onnx::TensorProto::DOUBLE: case onnx::TensorProto::INT64:
      case onnx::TensorProto::UINT64: width = 8; break;
      case onnx::TensorProto::FLOAT: case onnx::TensorProto::INT32:
      case onnx::TensorProto::UINT32: width = 4; break;
      case onnx::TensorProto::FLOAT16: case onnx::TensorProto::BFLOAT16:
      case onnx::TensorProto::INT16: case onnx::TensorProto::UINT16: width = 2; break;
      default: width = 1;
      }
      auto bytes = (*loaded)->rawBytes(init, count * width);
      if (!bytes)
        return bytes.takeError();
      std::string raw(bytes->data, bytes->size);
      init.clear_external_data();
      init.clear_data_location();
      init.set_raw_data(std::move(raw));
    }
    *kept.Add() = std::move(init);
  }
  for (const auto &name : trained)
    if (!found.contains(name.getKey()))
      return makeError(path + ": trained parameter '" + name.getKey() +
                       "' is not an initializer of the model");
  graph->mutable_initializer()->Swap(&kept);
  std::string bytes;
  if (!(*loaded)->proto().SerializeToString(&bytes))
    return makeError(path + ": cannot serialize the model");
  return bytes;
}
