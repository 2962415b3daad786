//===- FirstDiagnostic.h - keep the first MLIR diagnostic --------*- C++ -*-===//
//
// The compiler reports one line per error. While one of these is alive, MLIR
// diagnostics on its context are swallowed and the first one is kept, so the
// caller can put it into that line with the file and node it knows about.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_SUPPORT_FIRSTDIAGNOSTIC_H
#define BB_COMPILER_SUPPORT_FIRSTDIAGNOSTIC_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <string>

namespace mlir::bb {

class FirstDiagnostic {
public:
  explicit FirstDiagnostic(MLIRContext *context)
      : handler(context, [this](Diagnostic &d) {
          if (first.empty())
            first = d.str();
          return success();
        }) {}

  /// The first diagnostic's message, or `fallback` when there was none.
  std::string message(const std::string &fallback = "") const {
    return first.empty() ? fallback : first;
  }

private:
  std::string first;
  ScopedDiagnosticHandler handler;
};

} // namespace mlir::bb

#endif // BB_COMPILER_SUPPORT_FIRSTDIAGNOSTIC_H
