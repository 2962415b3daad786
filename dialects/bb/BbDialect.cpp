//===- BbDialect.cpp - the Bumblebee tensor dialect ------------------------===//
#include "dialects/bb/BbDialect.h"

#include "dialects/bb/BbOps.h"
#include "dialects/bbrt/BbrtDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Mesh/IR/MeshDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::bb;

#include "dialects/bb/BbDialect.cpp.inc"
#include "dialects/bb/BbEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/bb/BbAttrs.cpp.inc"

void BbDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/bb/BbOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/bb/BbAttrs.cpp.inc"
      >();
  // The sharding search reads every op's iteration space through upstream's
  // mesh::ShardingInterface; the models live beside the dialect.
  getContext()->loadDialect<mesh::MeshDialect>();
  attachShardingInterfaceModels(getContext());
  attachAutodiffInterfaceModels(getContext());
}

Operation *BbDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, elements);
}

void mlir::bb::registerAllDialects(DialectRegistry &registry) {
  registry.insert<BbDialect, bbrt::BbrtDialect, func::FuncDialect,
                  mesh::MeshDialect, memref::MemRefDialect,
                  emitc::EmitCDialect>();
}
