//===- bbc.cpp - the Bumblebee compiler driver ------------------------------===//
//
//   bbc MODEL.onnx --emit=bb [-o FILE] [--input-shape x=2x128]
//
// A thin main: options in, compiler/pipeline does the work, one-line errors.
//
//===----------------------------------------------------------------------===//
#include "compiler/pipeline/Pipeline.h"
#include "dialects/bb/BbDialect.h"
#include "mlir/Dialect/Mesh/Transforms/Passes.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"
#include "passes/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory bbcCategory("bbc options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.onnx|model.onnxtext>"),
                                      cl::cat(bbcCategory));
static cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for stdout)"),
                                       cl::value_desc("file"), cl::init("-"),
                                       cl::cat(bbcCategory));
static cl::opt<bb::EmitStage> emit(
    "emit", cl::desc("Stop after this phase and print its output"),
    cl::values(clEnumValN(bb::EmitStage::BbImport, "bb-import",
                          "bb IR as imported, before any pass"),
               clEnumValN(bb::EmitStage::Bb, "bb",
                          "bb IR after import cleanup"),
               clEnumValN(bb::EmitStage::Bbrt, "bbrt",
                          "bufferized IR: runtime calls on a planned arena"),
               clEnumValN(bb::EmitStage::EmitC, "emitc",
                          "the EmitC module"),
               clEnumValN(bb::EmitStage::Cpp, "cpp", "the generated C++"),
               clEnumValN(bb::EmitStage::Exe, "exe",
                          "an executable NAME and NAME.safetensors (default; "
                          "needs -o)")),
    cl::init(bb::EmitStage::Exe), cl::cat(bbcCategory));
static cl::opt<std::string> cxx("cxx", cl::desc("C++ compiler for --emit=exe"),
                                cl::init("c++"), cl::cat(bbcCategory));
static cl::opt<std::string> optFlags(
    "cxx-flags", cl::desc("Optimization flags for the generated C++"),
    cl::init("-O2"), cl::cat(bbcCategory));
static cl::opt<std::string> runtimeSdk(
    "runtime-sdk",
    cl::desc("Directory with include/bbrt and lib/libbbrt_cpu.a (default: "
             "$BB_RUNTIME_SDK, else the one built beside bbc)"),
    cl::value_desc("dir"), cl::cat(bbcCategory));
static cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Shape of a graph input, NAME=DxDx... (repeatable; symbolic "
             "dimensions of other inputs default to 1)"),
    cl::value_desc("name=2x128"), cl::cat(bbcCategory));
static cl::list<std::string> freezeInputs(
    "freeze-input",
    cl::desc("Replace a graph input by the constant in an ONNX TensorProto "
             "file, e.g. axes or a shape the model computes with (repeatable)"),
    cl::value_desc("name=value.pb"), cl::cat(bbcCategory));
static cl::list<std::string> passPlugins(
    "pass-plugin", cl::desc("Load an out-of-tree pass plugin (repeatable)"),
    cl::value_desc("lib.so"), cl::cat(bbcCategory));
static cl::opt<std::string> extraPasses(
    "extra-passes",
    cl::desc("Pass pipeline run after import cleanup, e.g. 'my-fusion' from a "
             "plugin"),
    cl::value_desc("pipeline"), cl::cat(bbcCategory));
static cl::OptionCategory gradCategory("gradient options");
static cl::opt<bool> grad(
    "grad",
    cl::desc("Compile a program that returns the loss and the gradient of "
             "every trainable parameter (outputs 'loss', 'grad:<name>')"),
    cl::cat(gradCategory));
static cl::opt<std::string> lossKind("loss", cl::desc("cross_entropy or mse"),
                                     cl::init("cross_entropy"),
                                     cl::cat(gradCategory));
static cl::opt<std::string> labelsName(
    "labels", cl::desc("Name of the labels input the program gains"),
    cl::init("labels"), cl::cat(gradCategory));
static cl::opt<std::string> freezePattern(
    "freeze", cl::desc("Regular expression: matching parameters are not trained"),
    cl::cat(gradCategory));
static cl::opt<int64_t> ignoreIndex(
    "ignore-index", cl::desc("cross_entropy: label value that does not count"),
    cl::init(-100), cl::cat(gradCategory));
static cl::opt<bool> listOps("list-ops",
                             cl::desc("Print the supported ONNX op types and exit"),
                             cl::cat(bbcCategory));

static int fail(const std::string &message) {
  llvm::errs() << "bbc: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerTransformsPasses();
  mesh::registerMeshPasses();
  bb::registerAllPasses();
  cl::ParseCommandLineOptions(
      argc, argv,
      "bbc: the Bumblebee compiler. Imports an ONNX model into the bb dialect "
      "and compiles it.\n\n  bbc model.onnx --emit=bb -o model.mlir "
      "--input-shape idx=2x128\n");

  if (listOps) {
    for (const std::string &op : bb::frontend::supportedOpTypes())
      llvm::outs() << op << "\n";
    return 0;
  }
  if (inputFile.empty())
    return fail("no input model given (see bbc --help)");

  bb::CompileOptions options;
  options.emit = emit;
  options.extraPasses = extraPasses;
  options.grad.enabled = grad;
  options.grad.loss = lossKind;
  options.grad.labels = labelsName;
  options.grad.freeze = freezePattern;
  options.grad.ignoreIndex = ignoreIndex;
  options.passPlugins.assign(passPlugins.begin(), passPlugins.end());
  for (const std::string &spec : inputShapes)
    if (llvm::Error err = bb::frontend::parseInputShapes(spec, options.import))
      return fail(llvm::toString(std::move(err)));
  for (const std::string &spec : freezeInputs)
    if (llvm::Error err = bb::frontend::parseFrozenInput(spec, options.import))
      return fail(llvm::toString(std::move(err)));
  if (llvm::Error err = bb::loadPassPlugins(options.passPlugins))
    return fail(llvm::toString(std::move(err)));

  DialectRegistry registry;
  bb::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  if (emit == bb::EmitStage::Exe) {
    if (outputFile == "-")
      return fail("an executable needs -o NAME (or choose another --emit)");
    auto sdk = bb::findRuntimeSdk(runtimeSdk, argv[0], (void *)&fail);
    if (!sdk)
      return fail(llvm::toString(sdk.takeError()));
    options.host.runtimeSdk = *sdk;
    options.host.cxx = cxx;
    options.host.optFlags = optFlags;
  }
  bb::EmitStage stopAfter = emit;
  if (emit == bb::EmitStage::Exe)
    stopAfter = bb::EmitStage::Bbrt;
  else if (emit == bb::EmitStage::Cpp)
    stopAfter = bb::EmitStage::EmitC;
  auto module = bb::compileModel(context, inputFile, options, stopAfter);
  if (!module)
    return fail(llvm::toString(module.takeError()));

  if (emit == bb::EmitStage::Exe) {
    auto arena = bb::buildProgram(**module, outputFile, options);
    if (!arena)
      return fail(llvm::toString(arena.takeError()));
    llvm::errs() << "bbc: wrote " << outputFile << " and " << outputFile
                 << ".safetensors (arena " << *arena << " bytes)\n";
    return 0;
  }

  // The output appears only when everything succeeded (ToolOutputFile removes
  // it otherwise), so a failed run never leaves a partial file behind.
  std::string error;
  auto output = openOutputFile(outputFile, &error);
  if (!output)
    return fail(outputFile + ": " + error);
  if (emit == bb::EmitStage::Cpp) {
    if (llvm::Error err = bb::emitCpp(**module, output->os()))
      return fail(llvm::toString(std::move(err)));
  } else {
    (*module)->print(output->os());
    output->os() << "\n";
  }
  output->os().flush();
  if (output->os().has_error())
    return fail(outputFile + ": write failed");
  output->keep();
  return 0;
}
