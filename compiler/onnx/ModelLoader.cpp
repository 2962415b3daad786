//===- ModelLoader.cpp - read an ONNX model from disk -----------------------===//
#include "compiler/onnx/ModelLoader.h"

#include "onnx/defs/parser.h"
#include "google/protobuf/io/coded_stream.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <climits>
#include <map>

using namespace mlir::bb::frontend;

static llvm::Error fail(const std::string &path, const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + msg.str());
}

llvm::Expected<std::unique_ptr<LoadedModel>>
LoadedModel::load(const std::string &path) {
  auto result = std::make_unique<LoadedModel>();
  result->modelPath = path;
  result->baseDir = llvm::sys::path::parent_path(path).str();

  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot read file: " + buffer.getError().message());
  llvm::StringRef bytes = (*buffer)->getBuffer();

  if (llvm::StringRef(path).ends_with(".onnxtext")) {
    std::string text = bytes.str();
    onnx::OnnxParser parser(text.c_str());
    auto status = parser.Parse(result->model);
    if (!status.IsOK())
      return fail(path, "not a valid ONNX text model: " + status.ErrorMessage());
  } else {
    google::protobuf::io::CodedInputStream stream(
        reinterpret_cast<const uint8_t *>(bytes.data()),
        static_cast<int>(std::min<size_t>(bytes.size(), INT_MAX)));
    stream.SetTotalBytesLimit(INT_MAX);
    if (bytes.size() > INT_MAX)
      return fail(path, "is larger than 2 GiB; store the weights as ONNX "
                        "external data");
    if (!result->model.ParseFromCodedStream(&stream) ||
        !stream.ConsumedEntireMessage())
      return fail(path, "not a valid ONNX model (protobuf parse failed at byte " +
                            std::to_string(stream.CurrentPosition()) + " of " +
                            std::to_string(bytes.size()) + ")");
  }
  if (!result->model.has_graph())
    return fail(path, "not a valid ONNX model (it has no graph)");

  for (const auto &opset : result->model.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx")
      result->opset = opset.version();
  if (result->opset == 0)
    return fail(path, "the model imports no version of the default ONNX opset");
  return result;
}

namespace {
/// External data files, memory-mapped once per model.
struct MappedFile {
  std::unique_ptr<llvm::MemoryBuffer> buffer;
};
std::map<std::string, std::shared_ptr<MappedFile>> &mappedFiles() {
  static std::map<std::string, std::shared_ptr<MappedFile>> files;
  return files;
}
} // namespace

llvm::Expected<TensorBytes> LoadedModel::rawBytes(onnx::TensorProto &tensor,
                                                  size_t expectedSize) {
  const std::string name = "tensor '" + tensor.name() + "'";
  if (tensor.data_location() != onnx::TensorProto::EXTERNAL) {
    if (tensor.raw_data().size() != expectedSize)
      return fail(modelPath, name + " has " +
                                 std::to_string(tensor.raw_data().size()) +
                                 " bytes of data, expected " +
                                 std::to_string(expectedSize));
    // Move the bytes out of the protobuf: the IR's resource blob owns them.
    std::shared_ptr<std::string> owned(tensor.release_raw_data());
    TensorBytes out;
    out.data = owned->data();
    out.size = owned->size();
    out.owner = owned;
    return out;
  }

  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &entry : tensor.external_data()) {
    if (entry.key() == "location")
      location = entry.value();
    else if (entry.key() == "offset" || entry.key() == "length") {
      char *end = nullptr;
      long long v = std::strtoll(entry.value().c_str(), &end, 10);
      if (entry.value().empty() || *end || v < 0)
        return fail(modelPath, name + " has an invalid external data " +
                                   entry.key() + " '" + entry.value() + "'");
      (entry.key() == "offset" ? offset : length) = v;
    }
  }
  if (location.empty())
    return fail(modelPath, name + " is stored externally but names no location");
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(location).split(parts, '/');
  if (llvm::sys::path::is_absolute(location) ||
      llvm::is_contained(parts, ".."))
    return fail(modelPath, name + ": external data location '" + location +
                               "' must be a relative path inside the model's "
                               "directory");
  llvm::SmallString<256> file(baseDir);
  llvm::sys::path::append(file, location);
  std::string key = file.str().str();
  auto &slot = mappedFiles()[key];
  if (!slot) {
    auto buffer = llvm::MemoryBuffer::getFile(key, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      return fail(modelPath, name + ": cannot read external data file '" + key +
                                 "': " + buffer.getError().message());
    slot = std::make_shared<MappedFile>();
    slot->buffer = std::move(*buffer);
  }
  size_t fileSize = slot->buffer->getBufferSize();
  if (length < 0)
    length = static_cast<int64_t>(expectedSize);
  if (static_cast<size_t>(length) != expectedSize)
    return fail(modelPath, name + " has external length " +
                               std::to_string(length) + ", expected " +
                               std::to_string(expectedSize) + " bytes");
  if (static_cast<size_t>(offset) + expectedSize > fileSize)
    return fail(modelPath, name + ": bytes " + std::to_string(offset) + ".." +
                               std::to_string(offset + expectedSize) +
                               " lie beyond the end of '" + key + "' (" +
                               std::to_string(fileSize) + " bytes)");
  TensorBytes out;
  out.data = slot->buffer->getBufferStart() + offset;
  out.size = expectedSize;
  out.owner = slot;
  return out;
}
