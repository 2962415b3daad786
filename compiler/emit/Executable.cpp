//===- Executable.cpp - C++ emission and the host compiler -----------------===//
#include "compiler/emit/Executable.h"

#include "compiler/support/FirstDiagnostic.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Target/Cpp/CppEmitter.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <algorithm>

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

llvm::Expected<std::vector<std::string>>
bb::sdkCudaArchs(const std::string &sdk) {
  const std::string path = sdk + "/lib/cuda_archs.txt";
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return makeError("runtime SDK '" + sdk +
                     "' has no CUDA runtime (lib/cuda_archs.txt is missing)");
  llvm::SmallVector<llvm::StringRef> archs;
  (*buf)->getBuffer().split(archs, ' ', -1, false);
  std::vector<std::string> out;
  for (llvm::StringRef a : archs)
    if (!a.trim().empty())
      out.push_back(a.trim().str());
  return out;
}

/// Runs `argv` (argv[0]: the program); its output becomes the error text
/// (first lines) when it fails.
static llvm::Error runTool(const std::vector<std::string> &argv,
                           const char *what) {
  std::vector<llvm::StringRef> args(argv.begin(), argv.end());
  llvm::SmallString<128> log;
  if (auto ec = llvm::sys::fs::createTemporaryFile("bbc-cxx", "log", log))
    return makeError("cannot create a temporary file: " + ec.message());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.str(), log.str()};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(argv[0], args, std::nullopt, redirects, 0,
                                     0, &execError);
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
    return makeError(std::string(what) + " failed (" +
                     (execError.empty() ? "exit " + std::to_string(rc) : execError) +
                     "):" + firstLines);
  }
  return llvm::Error::success();
}

llvm::Error bb::compileAndLink(const std::string &cppPath,
                               const std::string &exePath,
                               const HostCompileOptions &options) {
  auto cxx = llvm::sys::findProgramByName(options.cxx);
  if (!cxx)
    return makeError("--cxx=" + options.cxx + ": C++ compiler not found");
  const bool cuda = options.target == Target::Cuda;
  const std::string include = "-I" + options.runtimeSdk + "/include";
  llvm::SmallVector<llvm::StringRef> flags;
  llvm::StringRef(options.optFlags).split(flags, ' ', -1, false);
  std::vector<std::string> link = {*cxx, "-std=c++17"};
  std::string object; // nvcc's output, removed at the end
  auto removeObject = llvm::make_scope_exit([&] {
    if (!object.empty())
      llvm::sys::fs::remove(object);
  });
  if (!cuda) {
    for (auto f : flags)
      link.push_back(f.str());
    // The runtime's own flags for float code (runtime/BUILD.bazel): no
    // traps or errno to keep, so loops with float selects and math calls
    // (the fused kernels' bodies) vectorize; rounding is unchanged.
    for (const std::string &a :
         {std::string("-fopenmp"), std::string("-fno-trapping-math"),
          std::string("-fno-math-errno"), std::string("-o"), exePath, cppPath,
          include})
      link.push_back(a);
    link.push_back(options.runtimeSdk + "/lib/libbbrt_cpu.a");
  } else {
    // nvcc compiles (driving the host compiler) the generated C++ as CUDA
    // (-x cu): its fused elementwise kernels (bbrt/fused.h) are device code,
    // built for the -gencode architectures, which must be ones the SDK's
    // kernels were built for too. The host compiler links, so that
    // --as-needed keeps MPI and NCCL out of programs without a mesh (nvcc
    // reorders linker flags).
    auto nvcc = llvm::sys::findProgramByName("nvcc", {"/usr/local/cuda/bin"});
    if (!nvcc)
      return makeError("--target=cuda: nvcc not found (on PATH or in "
                       "/usr/local/cuda/bin)");
    auto available = sdkCudaArchs(options.runtimeSdk);
    if (!available)
      return available.takeError();
    std::vector<std::string> compile = {*nvcc, "-std=c++17", "-ccbin", *cxx};
    for (auto f : flags)
      compile.push_back(f.starts_with("-O") ? f.str() : "-Xcompiler=" + f.str());
    for (const std::string &a :
         options.cudaArchs.empty() ? *available : options.cudaArchs) {
      if (std::find(available->begin(), available->end(), a) ==
          available->end()) {
        std::string have;
        for (const std::string &h : *available)
          have += (have.empty() ? "" : ",") + h;
        return makeError("--cuda-arch=" + a +
                         ": the runtime SDK's CUDA kernels are built for " +
                         have + " (rebuild //runtime:sdk for others)");
      }
      compile.push_back("-gencode=arch=compute_" + a.substr(3) + ",code=" + a);
    }
    object = exePath + ".o";
    for (const std::string &a : {std::string("-x"), std::string("cu"),
                                 std::string("-c"), cppPath, include,
                                 std::string("-o"), object})
      compile.push_back(a);
    if (auto err = runTool(compile, "nvcc"))
      return err;
    for (const std::string &a : {std::string("-o"), exePath, object})
      link.push_back(a);
    link.push_back(options.runtimeSdk + "/lib/libbbrt_cuda.a");
  }
  // The runtime carries collectives over MPI (Debian's OpenMPI) on the CPU
  // and bootstraps NCCL over it on GPUs; only programs with a mesh pull that
  // part in, and only they need libmpi (and libnccl).
  for (const char *a : {"-Wl,--as-needed", "-L/usr/lib/x86_64-linux-gnu/openmpi/lib",
                        "-lmpi"})
    link.push_back(a);
  if (cuda)
    for (const char *a : {"-L/usr/local/cuda/lib64", "-lnccl", "-lcublasLt",
                          "-lcudart", "-Wl,-rpath,/usr/local/cuda/lib64"})
      link.push_back(a);
  link.push_back("-Wl,--no-as-needed");
  if (!cuda)
    link.push_back("-lopenblas");
  for (const char *a : {"-lpthread", "-lm"})
    link.push_back(a);
  return runTool(link, "the C++ compiler");
}
