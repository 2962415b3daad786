//===- Bytes.h - byte counts for people to read -----------------*- C++ -*-===//
#ifndef BB_COMPILER_SUPPORT_BYTES_H
#define BB_COMPILER_SUPPORT_BYTES_H

#include "llvm/Support/FormatVariadic.h"

#include <string>

namespace mlir::bb {

/// `v` bytes in the largest binary unit that keeps it at least 1, one
/// decimal: "4.0 MiB", "21.6 GiB", "512.0 B".
inline std::string formatBytes(double v) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (v >= 1024 && i < 4) {
    v /= 1024;
    ++i;
  }
  return llvm::formatv("{0:F1} {1}", v, units[i]).str();
}

} // namespace mlir::bb

#endif // BB_COMPILER_SUPPORT_BYTES_H
