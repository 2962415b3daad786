//===- Passes.h - every Bumblebee pass and pipeline -------------*- C++ -*-===//
#ifndef BB_PASSES_PASSES_H
#define BB_PASSES_PASSES_H

#include "dialects/bb/BbDialect.h"
#include "dialects/bbrt/BbrtDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Mesh/IR/MeshDialect.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::bb {
#define GEN_PASS_DECL
#include "passes/import/passes.h.inc"
#define GEN_PASS_DECL
#include "passes/lowering/passes.h.inc"
#define GEN_PASS_DECL
#include "passes/optimize/passes.h.inc"
#define GEN_PASS_DECL
#include "passes/autodiff/passes.h.inc"
#define GEN_PASS_DECL
#include "passes/sharding/passes.h.inc"
#define GEN_PASS_DECL
#include "passes/spmdize/passes.h.inc"
#define GEN_PASS_DECL
#include "passes/pipeline/passes.h.inc"

/// How bb-auto-shard's error begins when it gives up on a plan above its
/// `prune-above` bound (the stage search tells those from real failures).
inline constexpr llvm::StringLiteral kAutoShardPruned = "bb-auto-shard: pruned: ";

/// Adds the passes that clean freshly imported IR: fold, fuse, deduplicate.
void buildImportCleanupPipeline(OpPassManager &pm);

/// Adds the inference-only optimizations (batch norm folding).
void buildInferenceOptimizationPipeline(OpPassManager &pm);

/// Adds bufferization and memory planning: bb on tensors -> bbrt on an arena.
void buildBufferizePipeline(OpPassManager &pm);

/// Registers every Bumblebee pass and named pipeline with MLIR's registry
/// (for bb-opt, bbc and pass plugins alike).
void registerAllPasses();
} // namespace mlir::bb

#endif // BB_PASSES_PASSES_H
