//===- Executable.cpp - C++ emission and the host compiler -----------------===//
#include "compiler/emit/Executable.h"

#include "compiler/support/FirstDiagnostic.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Target/Cpp/CppEmitter.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

using namespace mlir;

static llvm::Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

llvm::Error bb::emitCpp(ModuleOp emitcModule, llvm::raw_ostream &os) {
  bb::FirstDiagnostic diag(emitcModule.getContext());
  if (failed(emitc::translateToCpp(emitcModule, os)))
    return makeError("C++ emission failed: " + diag.message());
  return llvm::Error::success();
}

llvm::Expected<std::string> bb::findRuntimeSdk(const std::string &explicitDir,
                                               const char *argv0,
                                               void *mainAddr) {
  std::vector<std::string> candidates;
  if (!explicitDir.empty())
    candidates.push_back(explicitDir);
  else if (const char *env = std::getenv("BB_RUNTIME_SDK"))
    candidates.push_back(env);
  else {
    // bazel-bin/tools/bbc/bbc -> bazel-bin/runtime/sdk (also in runfiles).
    std::string exe = llvm::sys::fs::getMainExecutable(argv0, mainAddr);
    llvm::SmallString<256> dir(llvm::sys::path::parent_path(exe));
    llvm::sys::path::append(dir, "..", "..", "runtime", "sdk");
    candidates.push_back(std::string(dir));
  }
  for (const std::string &dir : candidates) {
    llvm::SmallString<256> header(dir), lib(dir);
    llvm::sys::path::append(header, "include", "bbrt", "bbrt.h");
    llvm::sys::path::append(lib, "lib", "libbbrt_cpu.a");
    if (llvm::sys::fs::exists(header) && llvm::sys::fs::exists(lib))
      return dir;
  }
  return makeError("runtime SDK not found at '" + candidates.front() +
                   "' (build //runtime:sdk, or pass --runtime-sdk=DIR)");
}

llvm::Error bb::compileAndLink(const std::string &cppPath,
                               const std::string &exePath,
                               const HostCompileOptions &options) {
  auto cxx = llvm::sys::findProgramByName(options.cxx);
  if (!cxx)
    return makeError("--cxx=" + options.cxx + ": C++ compiler not found");
  std::string include = options.runtimeSdk + "/include";
  std::string lib = options.runtimeSdk + "/lib/libbbrt_cpu.a";
  std::vector<std::string> argv = {*cxx, "-std=c++17"};
  llvm::SmallVector<llvm::StringRef> flags;
  llvm::StringRef(options.optFlags).split(flags, ' ', -1, false);
  for (auto f : flags)
    argv.push_back(f.str());
  for (const char *a : {"-fopenmp", "-o"})
    argv.push_back(a);
  argv.push_back(exePath);
  argv.push_back(cppPath);
  argv.push_back("-I" + include);
  argv.push_back(lib);
  // The runtime carries collectives over MPI (Debian's OpenMPI); only
  // programs with a mesh pull that part in, and only they need libmpi.
  for (const char *a : {"-Wl,--as-needed", "-L/usr/lib/x86_64-linux-gnu/openmpi/lib",
                        "-lmpi", "-Wl,--no-as-needed", "-lopenblas", "-lpthread",
                        "-lm"})
    argv.push_back(a);
  std::vector<llvm::StringRef> args(argv.begin(), argv.end());

  llvm::SmallString<128> log;
  if (auto ec = llvm::sys::fs::createTemporaryFile("bbc-cxx", "log", log))
    return makeError("cannot create a temporary file: " + ec.message());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.str(), log.str()};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(*cxx, args, std::nullopt, redirects, 0, 0,
                                     &execError);
  std::string output;
  if (auto buf = llvm::MemoryBuffer::getFile(log))
    output = (*buf)->getBuffer().str();
  llvm::sys::fs::remove(log);
  if (rc != 0) {
    std::string firstLines;
    llvm::SmallVector<llvm::StringRef> lines;
    llvm::StringRef(output).split(lines, '\n');
    for (size_t i = 0; i < lines.size() && i < 5; ++i)
      firstLines += "\n  " + lines[i].str();
    return makeError("the C++ compiler failed (" +
                     (execError.empty() ? "exit " + std::to_string(rc) : execError) +
                     "):" + firstLines);
  }
  return llvm::Error::success();
}
