//===- TestEnv.h - an MLIRContext with bb loaded, for unit tests -*- C++ -*-===//
#ifndef BB_TEST_UNIT_TESTENV_H
#define BB_TEST_UNIT_TESTENV_H

#include "dialects/bb/BbDialect.h"
#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>

namespace bbtest {

/// A context with bb (and func, mesh) loaded, a module, and a builder whose
/// insertion point is the body of a fresh function per `args` call.
class TestEnv {
public:
  TestEnv() : builder(&ctx), loc(mlir::UnknownLoc::get(&ctx)) {
    mlir::DialectRegistry registry;
    mlir::bb::registerAllDialects(registry);
    ctx.appendDialectRegistry(registry);
    ctx.loadAllAvailableDialects();
    module = mlir::ModuleOp::create(loc);
  }

  /// Starts a new function taking `types` and returns its arguments.
  llvm::SmallVector<mlir::Value> args(llvm::ArrayRef<mlir::Type> types) {
    builder.setInsertionPointToEnd(module->getBody());
    auto fn = builder.create<mlir::func::FuncOp>(
        loc, "f" + std::to_string(numFunctions++),
        builder.getFunctionType(types, {}));
    mlir::Block *entry = fn.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    return llvm::SmallVector<mlir::Value>(entry->getArguments());
  }

  mlir::RankedTensorType t(llvm::ArrayRef<int64_t> shape) {
    return mlir::RankedTensorType::get(shape, builder.getF32Type());
  }
  mlir::RankedTensorType t(llvm::ArrayRef<int64_t> shape, mlir::Type element) {
    return mlir::RankedTensorType::get(shape, element);
  }

  mlir::MLIRContext ctx;
  mlir::OpBuilder builder;
  mlir::Location loc;
  mlir::OwningOpRef<mlir::ModuleOp> module;

private:
  int numFunctions = 0;
};

} // namespace bbtest

#endif // BB_TEST_UNIT_TESTENV_H
