//===- Pipeline.cpp - the compiler's phases, strung together ---------------===//
#include "compiler/pipeline/Pipeline.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "passes/Passes.h"

using namespace mlir;

static llvm::Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

llvm::Error mlir::bb::loadPassPlugins(const std::vector<std::string> &paths) {
  for (const std::string &path : paths) {
    auto plugin = PassPlugin::load(path);
    if (!plugin)
      return makeError("--pass-plugin=" + path + ": " +
                       llvm::toString(plugin.takeError()));
    plugin->registerPassRegistryCallbacks();
  }
  return llvm::Error::success();
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::bb::compileModel(MLIRContext &context, const std::string &modelPath,
                       const CompileOptions &options) {
  auto module = frontend::importOnnxModel(context, modelPath, options.import);
  if (!module || options.emit == EmitStage::BbImport)
    return module;

  PassManager pm(&context);
  if (failed(applyPassManagerCLOptions(pm)))
    return makeError("invalid pass manager options");
  buildImportCleanupPipeline(pm);
  if (!options.extraPasses.empty()) {
    std::string err;
    llvm::raw_string_ostream os(err);
    if (failed(parsePassPipeline(options.extraPasses, pm, os)))
      return makeError("--extra-passes='" + options.extraPasses + "': " +
                       StringRef(err).trim().str());
  }
  std::string diag;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    if (diag.empty())
      diag = d.str();
    return success();
  });
  if (failed(pm.run(**module)))
    return makeError(modelPath + ": a pass failed: " + diag);
  return module;
}
