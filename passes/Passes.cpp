//===- Passes.cpp - registration of every pass and pipeline ----------------===//
#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace mlir::bb {
namespace {
#define GEN_PASS_REGISTRATION
#include "passes/import/passes.h.inc"
#define GEN_PASS_REGISTRATION
#include "passes/lowering/passes.h.inc"
#define GEN_PASS_REGISTRATION
#include "passes/optimize/passes.h.inc"
#define GEN_PASS_REGISTRATION
#include "passes/autodiff/passes.h.inc"
#define GEN_PASS_REGISTRATION
#include "passes/sharding/passes.h.inc"
#define GEN_PASS_REGISTRATION
#include "passes/spmdize/passes.h.inc"
#define GEN_PASS_REGISTRATION
#include "passes/pipeline/passes.h.inc"
} // namespace

void buildImportCleanupPipeline(OpPassManager &pm) {
  OpPassManager &fn = pm.nest<func::FuncOp>();
  fn.addPass(createCanonicalizerPass());
  fn.addPass(createFuseGelu());
  fn.addPass(createCSEPass());
  fn.addPass(createCanonicalizerPass());
}

void buildInferenceOptimizationPipeline(OpPassManager &pm) {
  OpPassManager &fn = pm.nest<func::FuncOp>();
  fn.addPass(createFoldBatchNorm());
  fn.addPass(createCanonicalizerPass());
  fn.addPass(createFuseConvRelu());
}

void buildBufferizePipeline(OpPassManager &pm) {
  pm.addPass(createBufferizeToBbrt());
  pm.addNestedPass<func::FuncOp>(createPlanMemory());
}

void registerAllPasses() {
  registerBbImportPasses();
  registerBbLoweringPasses();
  registerBbOptimizePasses();
  registerBbAutodiffPasses();
  registerBbShardingPasses();
  registerBbSpmdizePasses();
  registerBbPipelinePasses();
  PassPipelineRegistration<>(
      "bb-optimize-inference",
      "Inference-only graph optimizations (batch norm folding, conv + ReLU "
      "fusion)",
      buildInferenceOptimizationPipeline);
  PassPipelineRegistration<>(
      "bb-lower-to-bbrt",
      "Bufferize @forward into bbrt kernel calls and plan the arena",
      buildBufferizePipeline);
  PassPipelineRegistration<>(
      "bb-import-cleanup",
      "Canonicalize, fuse exported GELU subgraphs and CSE freshly imported IR",
      buildImportCleanupPipeline);
}
} // namespace mlir::bb
