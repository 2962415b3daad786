//===- ExamplePlugin.cpp - an out-of-tree pass plugin for bb-opt -----------===//
//
// Registers `bb-example-annotate-flops`: every op that implements
// bb::CostOpInterface and performs work gets a discardable attribute
// `example.flops` holding its FLOP count as an i64.
//
// Load it with
//   bb-opt --load-pass-plugin=libbb_example_plugin.so \
//          --pass-pipeline='builtin.module(func.func(bb-example-annotate-flops))'
//
// The plugin is compiled against the bb headers only. It does not link the bb
// dialect: op and interface TypeIDs and the interface's methods are resolved
// at load time against the symbols bb-opt exports (-Wl,--export-dynamic), so
// there is exactly one copy of each. Linking //dialects/bb here would give
// the plugin its own TypeIDs and break isa<>/dyn_cast<> on bb ops.
//
//===----------------------------------------------------------------------===//
#include "dialects/bb/BbInterfaces.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

using namespace mlir;

namespace {
struct AnnotateFlopsPass
    : public PassWrapper<AnnotateFlopsPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(AnnotateFlopsPass)

  StringRef getArgument() const final { return "bb-example-annotate-flops"; }
  StringRef getDescription() const final {
    return "Attach example.flops (i64) to every bb op with nonzero FLOPs";
  }

  void runOnOperation() override {
    IntegerType i64 = IntegerType::get(&getContext(), 64);
    getOperation().walk([&](bb::CostOpInterface op) {
      int64_t flops = op.getFlops();
      if (flops != 0)
        op->setAttr("example.flops", IntegerAttr::get(i64, flops));
    });
    markAllAnalysesPreserved();
  }
};
} // namespace

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "BbExamplePlugin", LLVM_VERSION_STRING,
          []() { PassRegistration<AnnotateFlopsPass>(); }};
}
