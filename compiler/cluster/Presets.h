//===- Presets.h - cluster presets compiled into the library ----*- C++ -*-===//
//
// The text of every presets/*.textproto, embedded at build time
// (embed_presets.sh) so that bbc and the tests need no data files.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_CLUSTER_PRESETS_H
#define BB_COMPILER_CLUSTER_PRESETS_H

#include "llvm/ADT/ArrayRef.h"

namespace mlir::bb::cluster {

struct PresetText {
  /// The file name without ".textproto".
  const char *name;
  const char *text;
};

/// Every preset, sorted by name.
llvm::ArrayRef<PresetText> presetTexts();

} // namespace mlir::bb::cluster

#endif // BB_COMPILER_CLUSTER_PRESETS_H
