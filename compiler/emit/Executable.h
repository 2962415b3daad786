//===- Executable.h - C++ emission and the host compiler ---------*- C++ -*-===//
#ifndef BB_COMPILER_EMIT_EXECUTABLE_H
#define BB_COMPILER_EMIT_EXECUTABLE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir::bb {

struct HostCompileOptions {
  /// The C++ compiler (a name on PATH or a path).
  std::string cxx = "c++";
  /// Directory with include/bbrt/*.h and lib/libbbrt_cpu.a.
  std::string runtimeSdk;
  /// Extra flags, e.g. "-O3 -march=native".
  std::string optFlags = "-O2";
};

/// Prints an EmitC module as C++ with MLIR's emitter.
llvm::Error emitCpp(ModuleOp emitcModule, llvm::raw_ostream &os);

/// Compiles the C++ in `cppPath` and links it with the runtime into
/// `exePath`. The compiler's diagnostics become the error text.
llvm::Error compileAndLink(const std::string &cppPath, const std::string &exePath,
                           const HostCompileOptions &options);

/// Finds the runtime SDK: `explicitDir` if given, else $BB_RUNTIME_SDK, else
/// runtime/sdk beside the bazel-bin tree that holds `argv0`.
llvm::Expected<std::string> findRuntimeSdk(const std::string &explicitDir,
                                           const char *argv0, void *mainAddr);

} // namespace mlir::bb

#endif // BB_COMPILER_EMIT_EXECUTABLE_H
