//===- Pipeline.cpp - the compiler's phases, strung together ---------------===//
#include "compiler/pipeline/Pipeline.h"

#include "compiler/emit/Weights.h"
#include "compiler/support/FirstDiagnostic.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

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

/// Runs `pm` on `module`, turning the first diagnostic into the error.
static llvm::Error runPasses(PassManager &pm, ModuleOp module,
                             const std::string &what) {
  bb::FirstDiagnostic diag(module.getContext());
  if (failed(pm.run(module)))
    return makeError(what + ": a pass failed: " + diag.message());
  return llvm::Error::success();
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::bb::compileModel(MLIRContext &context, const std::string &modelPath,
                       const CompileOptions &options, EmitStage stopAfter) {
  frontend::ImportOptions importOptions = options.import;
  importOptions.parametersAsResources |= options.grad.enabled;
  auto module = frontend::importOnnxModel(context, modelPath, importOptions);
  if (!module || stopAfter == EmitStage::BbImport)
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
  if (options.grad.enabled) {
    AutodiffOptions ad;
    ad.loss = options.grad.loss;
    ad.labels = options.grad.labels;
    ad.freeze = options.grad.freeze;
    ad.ignoreIndex = options.grad.ignoreIndex;
    pm.addPass(createAutodiff(ad));
    buildImportCleanupPipeline(pm);
  }
  if (stopAfter != EmitStage::Bb) {
    // Batch norm folding assumes inference statistics; gradients need them.
    if (!options.grad.enabled)
      buildInferenceOptimizationPipeline(pm);
    buildBufferizePipeline(pm);
  }
  if (auto err = runPasses(pm, **module, modelPath))
    return std::move(err);
  if (stopAfter == EmitStage::EmitC)
    if (auto err = lowerToEmitC(**module))
      return std::move(err);
  return module;
}

llvm::Error mlir::bb::lowerToEmitC(ModuleOp module) {
  PassManager pm(module.getContext());
  pm.addPass(createConvertBbrtToEmitC());
  return runPasses(pm, module, "bbrt-to-emitc");
}

llvm::Expected<int64_t> mlir::bb::buildProgram(ModuleOp module,
                                               const std::string &outputPath,
                                               const CompileOptions &options) {
  auto func = module.lookupSymbol<func::FuncOp>("forward");
  auto arenaSize = func ? func->getAttrOfType<IntegerAttr>("bbrt.arena_size")
                        : IntegerAttr();
  if (!arenaSize)
    return makeError("internal error: the module is not at stage bbrt");
  int64_t arena = arenaSize.getInt();
  auto weights = collectWeights(module);
  if (!weights)
    return weights.takeError();
  if (auto err = lowerToEmitC(module))
    return std::move(err);

  // Everything goes to temporary files beside the output, renamed at the end.
  llvm::SmallString<256> dir(llvm::sys::path::parent_path(outputPath));
  if (dir.empty())
    dir = ".";
  if (!llvm::sys::fs::is_directory(dir))
    return makeError("-o " + outputPath + ": directory '" + dir +
                     "' does not exist");
  std::string base = llvm::sys::path::filename(outputPath).str();
  llvm::SmallVector<std::string, 3> temps;
  auto cleanup = llvm::make_scope_exit([&] {
    for (const std::string &t : temps)
      llvm::sys::fs::remove(t);
  });
  auto tempFile = [&](StringRef suffix) -> llvm::Expected<std::string> {
    llvm::SmallString<256> model(dir);
    llvm::sys::path::append(model, "." + base + "-%%%%%%" + suffix);
    llvm::SmallString<256> path;
    int fd;
    if (auto ec = llvm::sys::fs::createUniqueFile(model, fd, path))
      return makeError("-o " + outputPath + ": cannot write in '" + dir +
                       "': " + ec.message());
    llvm::sys::Process::SafelyCloseFileDescriptor(fd);
    temps.push_back(std::string(path));
    return std::string(path);
  };
  auto cppPath = tempFile(".cpp");
  if (!cppPath)
    return cppPath.takeError();
  auto exePath = tempFile(".exe");
  if (!exePath)
    return exePath.takeError();
  auto weightsPath = tempFile(".safetensors");
  if (!weightsPath)
    return weightsPath.takeError();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(*cppPath, ec);
    if (ec)
      return makeError(*cppPath + ": " + ec.message());
    if (auto err = emitCpp(module, os))
      return std::move(err);
  }
  if (auto err = compileAndLink(*cppPath, *exePath, options.host))
    return std::move(err);
  if (auto err = writeSafetensors(*weights, *weightsPath))
    return std::move(err);
  if (auto ec = llvm::sys::fs::rename(*weightsPath, outputPath + ".safetensors"))
    return makeError(outputPath + ".safetensors: " + ec.message());
  if (auto ec = llvm::sys::fs::rename(*exePath, outputPath))
    return makeError(outputPath + ": " + ec.message());
  return arena;
}
