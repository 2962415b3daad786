//===- GraphImporter.h - state of one ONNX graph import ---------*- C++ -*-===//
//
// Internal to compiler/onnx: the per-import state shared by Importer.cpp
// (graph, tensors, inputs, outputs) and OpImporters.cpp (one function per ONNX
// op type).
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_ONNX_GRAPHIMPORTER_H
#define BB_COMPILER_ONNX_GRAPHIMPORTER_H

#include "compiler/onnx/Importer.h"
#include "compiler/onnx/ModelLoader.h"
#include "compiler/support/FirstDiagnostic.h"
#include "dialects/bb/BbOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <optional>

namespace mlir::bb::frontend {

/// Thrown-free error reporting: the first error of an import is kept here.
class NodeError {
public:
  explicit operator bool() const { return !message.empty(); }
  std::string message;
};

class GraphImporter {
public:
  GraphImporter(mlir::MLIRContext &ctx, LoadedModel &model)
      : ctx(ctx), model(model), builder(&ctx) {}

  mlir::MLIRContext &ctx;
  LoadedModel &model;
  mlir::OpBuilder builder;
  llvm::StringMap<mlir::Value> values;
  llvm::StringMap<unsigned> uses; // consumers + graph outputs per value name
  const onnx::NodeProto *node = nullptr;
  std::string nodeLabel; // describeNode(*node, index), for errors
  mlir::Location loc = mlir::UnknownLoc::get(&ctx);
  std::string error;
  /// Weights become blob-less resources: their bytes are never read.
  bool shapesOnly = false;

  int64_t opset() const { return model.opsetVersion(); }

  //===--- errors ---------------------------------------------------------===//
  /// Records an error about the current node; returns failure for chaining.
  mlir::LogicalResult fail(const llvm::Twine &message);

  //===--- operands and attributes ---------------------------------------===//
  size_t numInputs() const;
  /// True if input `i` is present (ONNX marks omitted optionals with "").
  bool hasInput(size_t i) const;
  mlir::FailureOr<mlir::Value> input(size_t i);
  /// Input `i` as a compile-time constant (after folding); fails naming it.
  mlir::FailureOr<mlir::DenseElementsAttr> constantInput(size_t i,
                                                         llvm::StringRef what);
  mlir::FailureOr<llvm::SmallVector<int64_t>> intsInput(size_t i,
                                                        llvm::StringRef what);
  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t intAttr(llvm::StringRef name, int64_t dflt) const;
  float floatAttr(llvm::StringRef name, float dflt) const;
  std::string stringAttr(llvm::StringRef name, llvm::StringRef dflt) const;
  std::optional<llvm::SmallVector<int64_t>> intsAttr(llvm::StringRef name) const;
  /// True when output `i` of the current node is read by anyone.
  bool outputUsed(size_t i) const;
  void setOutput(size_t i, mlir::Value v);
  /// Sets output `i` when `v` succeeded; passes its failure on.
  mlir::LogicalResult setOutput(size_t i, mlir::FailureOr<mlir::Value> v) {
    if (mlir::failed(v))
      return mlir::failure();
    setOutput(i, *v);
    return mlir::success();
  }

  //===--- building ops ---------------------------------------------------===//
  /// Creates OpT with inferred result types, verifies it and folds it when
  /// its operands are constants. Shape errors become node errors.
  template <typename OpT>
  mlir::FailureOr<mlir::Value>
  create(mlir::ValueRange operands,
         llvm::ArrayRef<mlir::NamedAttribute> attrs = {},
         mlir::Type resultType = {});

  mlir::Value constant(mlir::DenseElementsAttr value);
  mlir::Value scalar(mlir::Type elementType, double value);
  mlir::FailureOr<mlir::Value> reshape(mlir::Value v,
                                       llvm::ArrayRef<int64_t> shape);

  //===--- types ----------------------------------------------------------===//
  mlir::FailureOr<mlir::Type> elementType(int32_t onnxType,
                                          llvm::StringRef what);
  /// Converts an ONNX tensor (initializer or attribute) into an attribute:
  /// dense for small or non-float data, dense_resource for weights.
  mlir::FailureOr<mlir::ElementsAttr> tensorAttr(onnx::TensorProto &tensor,
                                                 bool forceResource = false);

private:
  mlir::LogicalResult finish(mlir::Operation *op, mlir::Value &result);
};

template <typename OpT>
mlir::FailureOr<mlir::Value>
GraphImporter::create(mlir::ValueRange operands,
                      llvm::ArrayRef<mlir::NamedAttribute> attrs,
                      mlir::Type resultType) {
  FirstDiagnostic diag(&ctx);
  llvm::SmallVector<mlir::Type, 1> types;
  if (resultType) {
    types.push_back(resultType);
  } else {
    if constexpr (OpT::template hasTrait<mlir::InferTypeOpInterface::Trait>()) {
      mlir::DictionaryAttr dict = builder.getDictionaryAttr(attrs);
      using Props = typename OpT::template InferredProperties<OpT>;
      Props props{};
      if constexpr (!std::is_same_v<Props, mlir::EmptyProperties>) {
        if (mlir::failed(OpT::setPropertiesFromAttr(
                props, dict, [&] { return mlir::emitError(loc); })))
          return fail(diag.message("invalid attributes"));
      }
      if (mlir::failed(OpT::inferReturnTypes(&ctx, loc, operands, dict,
                                             mlir::OpaqueProperties(&props),
                                             {}, types)))
        return fail(diag.message("shape inference failed"));
    } else {
      return fail("internal error: no result type for " +
                  OpT::getOperationName().str());
    }
  }
  mlir::OperationState state(loc, OpT::getOperationName());
  OpT::build(builder, state, types, operands, attrs);
  mlir::Operation *op = builder.create(state);
  if (mlir::failed(mlir::verify(op, /*verifyRecursively=*/false))) {
    op->erase();
    return fail(diag.message("invalid op"));
  }
  mlir::Value result;
  if (mlir::failed(finish(op, result)))
    return mlir::failure();
  return result;
}

/// How errors name a node: "'name' (Op)" or "#3 (Op, output 'y')".
std::string describeNode(const onnx::NodeProto &node, int index);

/// One function per ONNX op type; returns failure after calling fail().
using OpImporter = std::function<mlir::LogicalResult(GraphImporter &)>;
const llvm::StringMap<OpImporter> &opImporters();

} // namespace mlir::bb::frontend

#endif // BB_COMPILER_ONNX_GRAPHIMPORTER_H
