//===- bb-opt.cpp - Bumblebee's mlir-opt ------------------------------------===//
//
// MlirOptMain with the bb dialect, every Bumblebee pass and the upstream passes
// our pipelines use. --load-pass-plugin / --load-dialect-plugin come from
// MlirOptMain itself; the binary exports its symbols so plugins can use bb ops.
//
//===----------------------------------------------------------------------===//
#include "dialects/bb/BbDialect.h"
#include "mlir/Dialect/Mesh/Transforms/Passes.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "passes/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::bb::registerAllDialects(registry);
  mlir::registerTransformsPasses();
  mlir::mesh::registerMeshPasses();
  mlir::bb::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "Bumblebee optimizer driver\n", registry));
}
