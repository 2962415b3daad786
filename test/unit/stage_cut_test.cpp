// cutStages' per-block figures (passes/pipeline/StageCut.h): what each
// block's parameters hold and send, and what its backward keeps of its
// forward, which --stages=auto's replica counts weigh (PipelinePlan.cpp).
#include "TestEnv.h"

#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "passes/Passes.h"
#include "passes/pipeline/StageCut.h"

#include <catch2/catch.hpp>
#include <numeric>

using namespace mlir;

namespace {

// Three layers, W tied between the first and the last (test/passes/
// pipeline-stages.mlir's model, its blocks numbered as layers, which
// bb-recompute needs).
constexpr const char *kModel = R"mlir(
func.func @forward(%x: tensor<2x4xf32> {bb.name = "x"}) -> (tensor<2x4xf32> {bb.name = "y"}) {
  %w = bb.constant {bb.name = "W"} dense<0.5> : tensor<4x4xf32> loc("W")
  %v = bb.constant {bb.name = "V"} dense<0.25> : tensor<4x4xf32> loc("V")
  %h = bb.matmul %x, %w : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32> loc("/h.0/MatMul")
  %r = bb.relu %h : tensor<2x4xf32> loc("/h.0/Relu")
  %h2 = bb.matmul %r, %v : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32> loc("/h.1/MatMul")
  %t = bb.tanh %h2 : tensor<2x4xf32> loc("/h.1/Tanh")
  %y = bb.matmul %t, %w {transpose_rhs} : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32> loc("/h.2/MatMul")
  return %y : tensor<2x4xf32>
}
)mlir";

/// @train_step of kModel (MSE loss, `optimizer`, with `recompute` each
/// block of the cut recomputed), cut into one stage.
FailureOr<bb::StageCut> cutOf(bbtest::TestEnv &env, const std::string &optimizer,
                              bool recompute = false) {
  static const bool registered = [] {
    bb::registerAllPasses();
    registerCanonicalizerPass();
    return true;
  }();
  (void)registered;
  env.module = parseSourceString<ModuleOp>(kModel, &env.ctx);
  REQUIRE(env.module);
  PassManager pm(&env.ctx);
  const std::string pipeline =
      "bb-autodiff{loss=mse},bb-train-step{optimizer=" + optimizer +
      "},canonicalize" + (recompute ? ",bb-recompute{blocks=cut}" : "");
  REQUIRE(succeeded(parsePassPipeline(pipeline, pm)));
  REQUIRE(succeeded(pm.run(*env.module)));
  auto train = env.module->lookupSymbol<func::FuncOp>("train_step");
  REQUIRE(train);
  return bb::cutStages(train, 1, "stage_cut_test");
}

int64_t sum(llvm::ArrayRef<int64_t> v) {
  return std::accumulate(v.begin(), v.end(), int64_t{0});
}

} // namespace

TEST_CASE("each block holds its parameters' state and gradients",
          "[pipeline]") {
  bbtest::TestEnv env;
  FailureOr<bb::StageCut> cut = cutOf(env, "adamw");
  REQUIRE(succeeded(cut));
  REQUIRE(cut->blocks == llvm::SmallVector<std::string>{"h.0", "h.1", "h.2"});
  // W (4 x 4 f32, 64 bytes) and V, each with AdamW's two moments: 3 x 64
  // bytes of state and 64 of gradient apiece. The tied W's gradient is the
  // sum of its two shares, made where its first use is (h.0); V's in h.1.
  CHECK(cut->blockStateBytes[0] == 3 * 64);
  CHECK(cut->blockStateBytes[1] == 3 * 64);
  CHECK(cut->blockStateBytes[2] == 0);
  CHECK(cut->blockGradientBytes[0] == 64);
  CHECK(cut->blockGradientBytes[1] == 64);
  CHECK(cut->blockGradientBytes[2] == 0);
  // Without recomputation, each block keeps the forward values backward
  // ops read ([2, 4] f32: 32 bytes each): h.0 its product (the ReLU's
  // gradient) and the ReLU's output (V's gradient), h.1 the tanh's output
  // (its gradient, and W's second share), h.2 its product and what the
  // loss's gradient reads of it.
  REQUIRE(cut->blockStashBytes.size() == 3);
  CHECK(cut->blockStashBytes[0] == 2 * 32);
  CHECK(cut->blockStashBytes[1] == 32);
  CHECK(cut->blockStashBytes[2] >= 32);
}

TEST_CASE("under recomputation a block keeps only what crosses into it",
          "[pipeline]") {
  bbtest::TestEnv env, env2;
  FailureOr<bb::StageCut> plain = cutOf(env, "sgd"),
                          recomputed = cutOf(env2, "sgd", /*recompute=*/true);
  REQUIRE(succeeded(plain));
  REQUIRE(succeeded(recomputed));
  const int64_t kept = sum(plain->blockStashBytes);
  // The input of h.1 and h.2 is one [2, 4] activation each; h.0's input
  // is the step's data, nothing a block before it made.
  CHECK(recomputed->blockStashBytes[0] == 0);
  CHECK(recomputed->blockStashBytes[1] == 32);
  CHECK(recomputed->blockStashBytes[2] == 32);
  CHECK(sum(recomputed->blockStashBytes) < kept);
  // The parameters are the same either way (SGD with momentum: W, V and
  // a momentum each).
  CHECK(sum(recomputed->blockStateBytes) == 4 * 64);
  CHECK(sum(plain->blockStateBytes) == 4 * 64);
}
