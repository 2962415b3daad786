//===- Weights.cpp - safetensors output of a program's weights -------------===//
#include "compiler/emit/Weights.h"

#include "dialects/bb/BbInterfaces.h"
#include "dialects/bbrt/BbrtDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <set>

using namespace mlir;

static llvm::Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

llvm::Expected<std::vector<bb::Weight>> bb::collectWeights(ModuleOp module) {
  std::vector<Weight> weights;
  // Shards of one weight (several bbrt.weight ops, one name) are stored once,
  // whole.
  std::map<int64_t, Weight> byIndex;
  module.walk([&](bbrt::WeightOp w) {
    byIndex[w.getIndex()] = {w.getName().str(), w.getValue()};
  });
  std::set<std::string> names;
  for (auto &[index, w] : byIndex)
    if (names.insert(w.name).second)
      weights.push_back(std::move(w));
  // Initial values of state follow, under the state's name.
  std::map<int64_t, Weight> states;
  module.walk([&](bbrt::StateOp s) {
    if (s.getInit())
      states[s.getIndex()] = {s.getName().str(), *s.getInit()};
  });
  for (auto &[index, w] : states)
    weights.push_back(std::move(w));
  return weights;
}

static const char *safetensorsDtype(Type t) {
  if (t.isF32()) return "F32";
  if (t.isF64()) return "F64";
  if (t.isF16()) return "F16";
  if (t.isBF16()) return "BF16";
  if (t.isInteger(1)) return "BOOL";
  if (t.isUnsignedInteger(8)) return "U8";
  if (t.isInteger(8)) return "I8";
  if (t.isInteger(16)) return "I16";
  if (t.isInteger(32)) return "I32";
  if (t.isInteger(64)) return "I64";
  return nullptr;
}

/// The bytes of `value` in row-major order, one byte per bool.
static llvm::Expected<std::vector<char>> bytesOf(const bb::Weight &w) {
  auto type = cast<ShapedType>(w.value.getType());
  int64_t n = type.getNumElements();
  int64_t width = bb::getElementByteWidth(type.getElementType());
  std::vector<char> out;
  if (auto res = dyn_cast<DenseResourceElementsAttr>(w.value)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return makeError("weight '" + w.name + "' has no data (its blob is absent)");
    ArrayRef<char> data = blob->getData();
    if (static_cast<int64_t>(data.size()) != n * width)
      return makeError("weight '" + w.name + "' has " + Twine(data.size()) +
                       " bytes, expected " + Twine(n * width));
    out.assign(data.begin(), data.end());
    return out;
  }
  auto dense = dyn_cast<DenseElementsAttr>(w.value);
  if (!dense)
    return makeError("weight '" + w.name + "' is not a dense or resource attribute");
  if (type.getElementType().isInteger(1)) {
    for (bool b : dense.getValues<bool>())
      out.push_back(b ? 1 : 0);
    return out;
  }
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    for (int64_t i = 0; i < n; ++i)
      out.insert(out.end(), raw.begin(), raw.begin() + width);
    return out;
  }
  out.assign(raw.begin(), raw.end());
  return out;
}

llvm::Error bb::writeSafetensors(const std::vector<Weight> &weights,
                                 const std::string &path) {
  std::vector<std::vector<char>> data;
  std::vector<size_t> order;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!weights[i].value)
      return makeError("weight index " + Twine(i) + " is missing");
    auto bytes = bytesOf(weights[i]);
    if (!bytes)
      return bytes.takeError();
    data.push_back(std::move(*bytes));
    order.push_back(i);
  }
  auto widthOf = [&](size_t i) {
    return getElementByteWidth(
        cast<ShapedType>(weights[i].value.getType()).getElementType());
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return widthOf(a) > widthOf(b); });

  llvm::json::Object header;
  header["__metadata__"] = llvm::json::Object{{"format", "bumblebee"}};
  size_t offset = 0;
  for (size_t i : order) {
    auto type = cast<ShapedType>(weights[i].value.getType());
    const char *dtype = safetensorsDtype(type.getElementType());
    if (!dtype)
      return makeError("weight '" + weights[i].name + "' has an unsupported type");
    llvm::json::Array shape;
    for (int64_t d : type.getShape())
      shape.push_back(d);
    header[weights[i].name] = llvm::json::Object{
        {"dtype", dtype},
        {"shape", std::move(shape)},
        {"data_offsets", llvm::json::Array{int64_t(offset),
                                           int64_t(offset + data[i].size())}}};
    offset += data[i].size();
  }
  std::string json;
  llvm::raw_string_ostream(json) << llvm::json::Value(std::move(header));
  while ((8 + json.size()) % 8)
    json += ' ';

  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return makeError(path + ": " + ec.message());
  uint64_t len = json.size();
  char lenBytes[8];
  for (int i = 0; i < 8; ++i)
    lenBytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  os.write(lenBytes, 8);
  os << json;
  for (size_t i : order)
    os.write(data[i].data(), data[i].size());
  os.close();
  if (os.has_error())
    return makeError(path + ": write failed: " + os.error().message());
  return llvm::Error::success();
}
