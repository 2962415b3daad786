//===- Importer.cpp - ONNX graph to func.func @forward ----------------------===//
#include "compiler/onnx/GraphImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <map>

using namespace mlir;
using namespace mlir::bb::frontend;

namespace {
/// Resource keys must be identifiers; ONNX names ("onnx::MatMul_7",
/// "/blk.0/w") are kept verbatim in the constant's bb.name attribute.
std::string resourceKey(const onnx::TensorProto &tensor) {
  std::string key = tensor.name().empty() ? std::string("weight") : tensor.name();
  for (char &c : key)
    if (!llvm::isAlnum(c) && c != '_' && c != '.')
      c = '_';
  return key;
}

/// Tensors with at most this many elements (and all non-float tensors) become
/// dense attributes; larger float tensors stay in resource blobs.
constexpr int64_t kMaxDenseElements = 64;

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, "x");
  return shape.empty() ? "scalar" : s;
}
} // namespace

//===----------------------------------------------------------------------===//
// GraphImporter helpers
//===----------------------------------------------------------------------===//

LogicalResult GraphImporter::fail(const Twine &message) {
  if (!error.empty())
    return failure();
  std::string where = model.path() + ": ";
  if (node)
    where += "node " + nodeLabel + ": ";
  error = where + message.str();
  return failure();
}

size_t GraphImporter::numInputs() const { return node->input_size(); }

bool GraphImporter::hasInput(size_t i) const {
  return i < static_cast<size_t>(node->input_size()) && !node->input(i).empty();
}

FailureOr<Value> GraphImporter::input(size_t i) {
  if (!hasInput(i))
    return fail("missing required input " + Twine(i));
  auto it = values.find(node->input(i));
  if (it == values.end())
    return fail("input '" + node->input(i) +
                "' is not produced by any earlier node, initializer or graph "
                "input");
  return it->second;
}

FailureOr<DenseElementsAttr> GraphImporter::constantInput(size_t i,
                                                          StringRef what) {
  FailureOr<Value> v = input(i);
  if (failed(v))
    return failure();
  DenseElementsAttr attr;
  if (!matchPattern(*v, m_Constant(&attr)))
    return fail(what + " (input '" + node->input(i) +
                "') must be a compile-time constant; it depends on runtime "
                "data");
  return attr;
}

FailureOr<SmallVector<int64_t>> GraphImporter::intsInput(size_t i,
                                                         StringRef what) {
  FailureOr<DenseElementsAttr> attr = constantInput(i, what);
  if (failed(attr))
    return failure();
  if (!isa<IntegerType>(attr->getElementType()))
    return fail(what + " must be an integer tensor");
  SmallVector<int64_t> out;
  for (APInt v : attr->getValues<APInt>())
    out.push_back(v.getSExtValue());
  return out;
}

const onnx::AttributeProto *GraphImporter::attr(StringRef name) const {
  for (const auto &a : node->attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t GraphImporter::intAttr(StringRef name, int64_t dflt) const {
  const auto *a = attr(name);
  return a ? a->i() : dflt;
}

float GraphImporter::floatAttr(StringRef name, float dflt) const {
  const auto *a = attr(name);
  return a ? a->f() : dflt;
}

std::string GraphImporter::stringAttr(StringRef name, StringRef dflt) const {
  const auto *a = attr(name);
  return a ? a->s() : dflt.str();
}

std::optional<SmallVector<int64_t>>
GraphImporter::intsAttr(StringRef name) const {
  const auto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

bool GraphImporter::outputUsed(size_t i) const {
  if (i >= static_cast<size_t>(node->output_size()) || node->output(i).empty())
    return false;
  auto it = uses.find(node->output(i));
  return it != uses.end() && it->second > 0;
}

void GraphImporter::setOutput(size_t i, Value v) {
  if (i < static_cast<size_t>(node->output_size()) && !node->output(i).empty())
    values[node->output(i)] = v;
}

LogicalResult GraphImporter::finish(Operation *op, Value &result) {
  SmallVector<Value, 1> folded;
  if (succeeded(builder.tryFold(op, folded)) && !folded.empty()) {
    op->erase();
    result = folded.front();
    // A folded constant may come back as a bare attribute materialized here.
    return success();
  }
  result = op->getResult(0);
  return success();
}

Value GraphImporter::constant(DenseElementsAttr value) {
  return builder.create<bb::ConstantOp>(loc, value);
}

Value GraphImporter::scalar(Type elementType, double value) {
  auto type = RankedTensorType::get({}, elementType);
  if (isa<FloatType>(elementType))
    return constant(DenseElementsAttr::get(
        type, builder.getFloatAttr(elementType, value)));
  return constant(DenseElementsAttr::get(
      type, builder.getIntegerAttr(elementType, static_cast<int64_t>(value))));
}

FailureOr<Value> GraphImporter::reshape(Value v, ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(v.getType());
  return create<bb::ReshapeOp>(v, {},
                               RankedTensorType::get(shape, type.getElementType()));
}

FailureOr<Type> GraphImporter::elementType(int32_t onnxType, StringRef what) {
  Builder b(&ctx);
  switch (onnxType) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::DOUBLE: return b.getF64Type();
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::BFLOAT16: return b.getBF16Type();
  case onnx::TensorProto::INT8: return b.getIntegerType(8);
  case onnx::TensorProto::INT16: return b.getIntegerType(16);
  case onnx::TensorProto::INT32: return b.getIntegerType(32);
  case onnx::TensorProto::INT64: return b.getIntegerType(64);
  case onnx::TensorProto::UINT8: return b.getIntegerType(8, /*isSigned=*/false);
  case onnx::TensorProto::UINT16: return b.getIntegerType(16, false);
  case onnx::TensorProto::UINT32: return b.getIntegerType(32, false);
  case onnx::TensorProto::UINT64: return b.getIntegerType(64, false);
  case onnx::TensorProto::BOOL: return b.getI1Type();
  default: {
    std::string name = onnx::TensorProto::DataType_IsValid(onnxType)
                           ? onnx::TensorProto::DataType_Name(
                                 static_cast<onnx::TensorProto::DataType>(onnxType))
                           : "";
    return fail(what + " has unsupported element type " +
                (name.empty() ? "#" + std::to_string(onnxType) : name));
  }
  }
}

FailureOr<ElementsAttr> GraphImporter::tensorAttr(onnx::TensorProto &tensor,
                                                  bool forceResource) {
  std::string what = "tensor '" + tensor.name() + "'";
  FailureOr<Type> elt = elementType(tensor.data_type(), what);
  if (failed(elt))
    return failure();
  SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  for (int64_t d : shape)
    if (d < 0)
      return fail(what + " has a negative dimension");
  auto type = RankedTensorType::get(shape, *elt);
  int64_t n = type.getNumElements();
  int64_t width = bb::getElementByteWidth(*elt);
  size_t bytes = static_cast<size_t>(n * width);

  bool hasRaw = tensor.has_raw_data() ||
                tensor.data_location() == onnx::TensorProto::EXTERNAL;
  // Planning: a weight's shape is all that matters, and its bytes (perhaps
  // in external files that are not there) are never read. The resource has
  // a name and no blob; folders cannot look inside it.
  bool external = tensor.data_location() == onnx::TensorProto::EXTERNAL;
  if (shapesOnly && isa<FloatType>(*elt) &&
      (external || n > kMaxDenseElements || forceResource)) {
    auto &manager = DenseResourceElementsHandle::getManagerInterface(&ctx);
    return ElementsAttr(DenseResourceElementsAttr::get(
        type, manager.insert(resourceKey(tensor))));
  }
  if (!hasRaw) {
    // Typed fields: float_data, int32_data (small ints, bool, f16), ...
    SmallVector<char> buf(bytes);
    auto count = [&](int64_t have) -> LogicalResult {
      if (have != n)
        return fail(what + " has " + Twine(have) + " values, expected " +
                    Twine(n) + " for shape " + shapeStr(shape));
      return success();
    };
    switch (tensor.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (failed(count(tensor.float_data_size())))
        return failure();
      std::memcpy(buf.data(), tensor.float_data().data(), bytes);
      break;
    case onnx::TensorProto::DOUBLE:
      if (failed(count(tensor.double_data_size())))
        return failure();
      std::memcpy(buf.data(), tensor.double_data().data(), bytes);
      break;
    case onnx::TensorProto::INT64:
      if (failed(count(tensor.int64_data_size())))
        return failure();
      std::memcpy(buf.data(), tensor.int64_data().data(), bytes);
      break;
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::UINT32:
      if (failed(count(tensor.uint64_data_size())))
        return failure();
      for (int64_t i = 0; i < n; ++i) {
        uint64_t v = tensor.uint64_data(i);
        std::memcpy(buf.data() + i * width, &v, width);
      }
      break;
    default: // int32_data carries every type of 32 bits or fewer.
      if (failed(count(tensor.int32_data_size())))
        return failure();
      for (int64_t i = 0; i < n; ++i) {
        int32_t v = tensor.int32_data(i);
        std::memcpy(buf.data() + i * width, &v, width);
      }
    }
    if (forceResource && isa<FloatType>(*elt))
      return ElementsAttr(DenseResourceElementsAttr::get(
          type, resourceKey(tensor),
          HeapAsmResourceBlob::allocateAndCopyWithAlign(ArrayRef<char>(buf),
                                                        alignof(double))));
    bool detectedSplat = false;
    if (!DenseElementsAttr::isValidRawBuffer(type, buf, detectedSplat))
      return fail(what + " has malformed data");
    return ElementsAttr(DenseElementsAttr::getFromRawBuffer(type, buf));
  }

  auto raw = model.rawBytes(tensor, bytes);
  if (!raw) {
    error = llvm::toString(raw.takeError());
    return failure();
  }
  bool isFloat = isa<FloatType>(*elt);
  if (!isFloat || (n <= kMaxDenseElements && !forceResource)) {
    ArrayRef<char> data(raw->data, raw->size);
    if (elt->isInteger(1)) {
      // ONNX stores one byte per bool; MLIR packs bools into bits.
      SmallVector<bool> bits;
      for (char c : data)
        bits.push_back(c != 0);
      return ElementsAttr(DenseElementsAttr::get(type, bits));
    }
    bool detectedSplat = false;
    if (!DenseElementsAttr::isValidRawBuffer(type, data, detectedSplat))
      return fail(what + " has malformed data");
    return ElementsAttr(DenseElementsAttr::getFromRawBuffer(type, data));
  }
  // A weight: the blob points at the bytes and keeps their owner alive.
  std::shared_ptr<void> owner = raw->owner;
  AsmResourceBlob blob = UnmanagedAsmResourceBlob::allocateWithAlign(
      ArrayRef<char>(raw->data, raw->size), alignof(float),
      [owner](void *, size_t, size_t) mutable { owner.reset(); });
  return ElementsAttr(
      DenseResourceElementsAttr::get(type, resourceKey(tensor), std::move(blob)));
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

llvm::Error mlir::bb::frontend::parseInputShapes(StringRef spec,
                                                ImportOptions &options) {
  SmallVector<StringRef> items;
  spec.split(items, ',', -1, /*KeepEmpty=*/false);
  for (StringRef item : items) {
    auto [name, dims] = item.split('=');
    if (name.empty() || dims.empty())
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "--input-shape: '" + item + "' is not NAME=DIMS (e.g. x=2x128)");
    std::vector<int64_t> shape;
    SmallVector<StringRef> parts;
    if (dims != "scalar")
      dims.split(parts, 'x');
    for (StringRef p : parts) {
      int64_t d;
      if (p.getAsInteger(10, d) || d <= 0)
        return llvm::createStringError(
            llvm::inconvertibleErrorCode(),
            "--input-shape: '" + item + "' has an invalid dimension '" + p +
                "' (want positive integers joined by 'x')");
      shape.push_back(d);
    }
    options.inputShapes[name.str()] = shape;
  }
  return llvm::Error::success();
}

llvm::Error mlir::bb::frontend::parseFrozenInput(StringRef spec,
                                                ImportOptions &options) {
  auto [name, file] = spec.split('=');
  if (name.empty() || file.empty())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "--freeze-input: '" + spec + "' is not NAME=FILE.pb");
  options.frozenInputs[name.str()] = file.str();
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// The graph
//===----------------------------------------------------------------------===//

/// "'name' (Op)" for named nodes, "#3 (Op, output 'y')" for unnamed ones.
std::string mlir::bb::frontend::describeNode(const onnx::NodeProto &n,
                                             int index) {
  if (!n.name().empty())
    return "'" + n.name() + "' (" + n.op_type() + ")";
  std::string s = "#" + std::to_string(index) + " (" + n.op_type();
  if (n.output_size() && !n.output(0).empty())
    s += ", output '" + n.output(0) + "'";
  return s + ")";
}

namespace {
std::string opKey(const onnx::NodeProto &n) {
  if (n.domain().empty() || n.domain() == "ai.onnx")
    return n.op_type();
  return n.domain() + "." + n.op_type();
}

/// All unsupported op types at once: "3 op types are not supported: A (2
/// nodes, first 'x'), B (1), ...".
std::string unsupportedOps(const onnx::GraphProto &graph) {
  const auto &table = opImporters();
  std::map<std::string, std::pair<int, std::string>> missing;
  std::vector<std::string> order;
  int index = 0;
  for (const auto &n : graph.node()) {
    std::string key = opKey(n);
    ++index;
    if (table.count(key))
      continue;
    auto &entry = missing[key];
    if (entry.first++ == 0) {
      entry.second = n.name().empty() ? describeNode(n, index - 1)
                                      : "'" + n.name() + "'";
      order.push_back(key);
    }
  }
  if (missing.empty())
    return "";
  std::string msg = std::to_string(order.size()) +
                    (order.size() == 1 ? " op type is" : " op types are") +
                    " not supported: ";
  for (size_t i = 0; i < order.size(); ++i) {
    const auto &[count, first] = missing[order[i]];
    msg += (i ? ", " : "") + order[i] + " (" + std::to_string(count);
    if (i == 0)
      msg += std::string(count == 1 ? " node" : " nodes") + ", first " + first;
    msg += ")";
  }
  return msg;
}
} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::bb::frontend::importOnnxModel(MLIRContext &context, const std::string &path,
                                   const ImportOptions &options) {
  auto makeError = [](const std::string &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  context.loadDialect<bb::BbDialect, func::FuncDialect>();
  auto loaded = LoadedModel::load(path);
  if (!loaded)
    return loaded.takeError();
  LoadedModel &model = **loaded;
  onnx::GraphProto &graph = *model.proto().mutable_graph();

  constexpr int64_t kMinOpset = 7, kMaxOpset = 20;
  if (model.opsetVersion() < kMinOpset || model.opsetVersion() > kMaxOpset)
    return makeError(path + ": opset " + std::to_string(model.opsetVersion()) +
                     " is not supported (supported: " +
                     std::to_string(kMinOpset) + " to " +
                     std::to_string(kMaxOpset) + ")");
  std::string unsupported = unsupportedOps(graph);
  if (!unsupported.empty())
    return makeError(path + ": " + unsupported);

  GraphImporter im(context, model);
  im.shapesOnly = options.shapesOnly;
  std::string fileName = llvm::sys::path::filename(path).str();
  Location fileLoc = FileLineColLoc::get(&context, fileName, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  module->getOperation()->setAttr("bb.source", im.builder.getStringAttr(fileName));
  module->getOperation()->setAttr(
      "bb.onnx_opset", im.builder.getI64IntegerAttr(model.opsetVersion()));

  // Uses of each value: a node output nobody reads need not be supported.
  for (const auto &n : graph.node())
    for (const auto &in : n.input())
      if (!in.empty())
        ++im.uses[in];
  for (const auto &out : graph.output())
    ++im.uses[out.name()];

  // Graph inputs (those that are not initializers) become function arguments.
  llvm::StringSet<> initializerNames;
  for (const auto &init : graph.initializer())
    initializerNames.insert(init.name());
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  llvm::StringSet<> boundNames;
  // Frozen inputs become initializers read from their files.
  llvm::StringSet<> frozenNames;
  for (const auto &[name, file] : options.frozenInputs) {
    const onnx::ValueInfoProto *decl = nullptr;
    for (const auto &in : graph.input())
      if (in.name() == name && !initializerNames.contains(name))
        decl = &in;
    if (!decl)
      return makeError("--freeze-input: " + path + " has no input named '" +
                       name + "'");
    auto buffer = llvm::MemoryBuffer::getFile(file, false, false);
    onnx::TensorProto tensor;
    if (!buffer || !tensor.ParseFromArray((*buffer)->getBufferStart(),
                                          (*buffer)->getBufferSize()))
      return makeError("--freeze-input " + name + "=" + file +
                       ": not a readable ONNX TensorProto file");
    const auto &tt = decl->type().tensor_type();
    bool shapeOk = tt.shape().dim_size() == tensor.dims_size();
    for (int i = 0; shapeOk && i < tensor.dims_size(); ++i)
      shapeOk = !tt.shape().dim(i).has_dim_value() ||
                tt.shape().dim(i).dim_value() == tensor.dims(i);
    if (tensor.data_type() != tt.elem_type() || !shapeOk)
      return makeError("--freeze-input " + name + "=" + file +
                       ": its type or shape does not match the input's "
                       "declaration in " + path);
    tensor.set_name(name);
    *graph.add_initializer() = std::move(tensor);
    frozenNames.insert(name);
  }
  for (const auto &in : graph.input()) {
    if (initializerNames.contains(in.name()) || frozenNames.contains(in.name()))
      continue;
    std::string what = "graph input '" + in.name() + "'";
    if (!in.type().has_tensor_type())
      return makeError(path + ": " + what + " is not a tensor");
    const auto &tt = in.type().tensor_type();
    FailureOr<Type> elt = im.elementType(tt.elem_type(), what);
    if (failed(elt))
      return makeError(im.error);
    SmallVector<int64_t> shape;
    for (const auto &d : tt.shape().dim())
      shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
    auto bound = options.inputShapes.find(in.name());
    if (bound != options.inputShapes.end()) {
      boundNames.insert(in.name());
      if (bound->second.size() != shape.size())
        return makeError("--input-shape " + in.name() + "=" +
                         shapeStr(bound->second) + ": " + path + " declares " +
                         what + " with rank " + std::to_string(shape.size()));
      for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] >= 0 && shape[i] != bound->second[i])
          return makeError("--input-shape " + in.name() + "=" +
                           shapeStr(bound->second) + ": dimension " +
                           std::to_string(i) + " of " + what + " is fixed at " +
                           std::to_string(shape[i]) + " in " + path);
        shape[i] = bound->second[i];
      }
    }
    for (int64_t &d : shape)
      if (d < 0)
        d = options.defaultDimSize;
    argTypes.push_back(RankedTensorType::get(shape, *elt));
    argNames.push_back(in.name());
  }
  for (const auto &[name, shape] : options.inputShapes)
    if (!boundNames.contains(name))
      return makeError("--input-shape: " + path + " has no input named '" +
                       name + "'");

  auto func = func::FuncOp::create(fileLoc, "forward",
                                   FunctionType::get(&context, argTypes, {}));
  module->push_back(func);
  Block *entry = func.addEntryBlock();
  im.builder.setInsertionPointToStart(entry);
  for (size_t i = 0; i < argNames.size(); ++i) {
    im.values[argNames[i]] = entry->getArgument(i);
    func.setArgAttr(i, "bb.name", im.builder.getStringAttr(argNames[i]));
  }

  // Initializers become constants (weights stay in their blobs).
  for (auto &init : *graph.mutable_initializer()) {
    im.loc = NameLoc::get(im.builder.getStringAttr(init.name()), fileLoc);
    FailureOr<ElementsAttr> value =
        im.tensorAttr(init, options.parametersAsResources);
    if (failed(value))
      return makeError(im.error);
    // Every initializer keeps its ONNX name: it names the weight in the
    // program's safetensors file and marks the parameters training updates.
    auto cst = im.builder.create<bb::ConstantOp>(im.loc, *value);
    cst->setAttr("bb.name", im.builder.getStringAttr(init.name()));
    im.values[init.name()] = cst.getResult();
  }

  // Nodes, in the topological order ONNX requires.
  const auto &table = opImporters();
  int index = 0;
  for (const auto &n : graph.node()) {
    im.node = &n;
    im.nodeLabel = describeNode(n, index);
    std::string name = n.name().empty() ? n.op_type() + "_" + std::to_string(index)
                                        : n.name();
    ++index;
    im.loc = NameLoc::get(im.builder.getStringAttr(name), fileLoc);
    if (failed(table.find(opKey(n))->second(im)))
      return makeError(im.error.empty() ? path + ": node " + im.nodeLabel +
                                              " failed to import"
                                        : im.error);
    for (int i = 0; i < n.output_size(); ++i)
      if (!n.output(i).empty() && !im.values.count(n.output(i)) &&
          im.outputUsed(i)) {
        im.fail("output " + std::to_string(i) + " ('" + n.output(i) +
                "') is used but not supported");
        return makeError(im.error);
      }
  }
  im.node = nullptr;

  // Graph outputs.
  SmallVector<Value> results;
  for (const auto &out : graph.output()) {
    auto it = im.values.find(out.name());
    if (it == im.values.end())
      return makeError(path + ": graph output '" + out.name() +
                       "' is not produced by any node");
    Value v = it->second;
    auto type = cast<RankedTensorType>(v.getType());
    if (out.type().has_tensor_type() &&
        out.type().tensor_type().has_shape()) {
      const auto &dims = out.type().tensor_type().shape().dim();
      bool mismatch = dims.size() != type.getRank();
      for (int i = 0; !mismatch && i < dims.size(); ++i)
        mismatch = dims[i].has_dim_value() &&
                   dims[i].dim_value() != type.getDimSize(i);
      if (mismatch) {
        std::string declared;
        for (int i = 0; i < dims.size(); ++i)
          declared += (i ? "x" : "") + (dims[i].has_dim_value()
                                            ? std::to_string(dims[i].dim_value())
                                            : dims[i].dim_param());
        return makeError(path + ": graph output '" + out.name() +
                         "' is declared with shape " + declared +
                         " but computes " + shapeStr(type.getShape()));
      }
    }
    results.push_back(v);
  }
  im.builder.create<func::ReturnOp>(fileLoc, results);
  func.setType(FunctionType::get(&context, argTypes,
                                 TypeRange(ValueRange(results))));
  for (int i = 0; i < graph.output_size(); ++i)
    func.setResultAttr(i, "bb.name",
                       im.builder.getStringAttr(graph.output(i).name()));

  bb::FirstDiagnostic diag(&context);
  if (failed(verify(*module)))
    return makeError(path + ": the imported IR does not verify: " +
                     diag.message());
  return module;
}
