//===- PipelineStagesTest.cpp - stage cuts and 1F1B step time -------------===//
#include "compiler/costmodel/PipelineStages.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>

using namespace mlir::bb::costmodel;

namespace {
/// The best largest stage sum by trying every cut (for small inputs).
double bruteForce(const std::vector<double> &costs, size_t stages,
                  size_t first = 0) {
  if (stages == 1) {
    double s = 0;
    for (size_t i = first; i < costs.size(); ++i)
      s += costs[i];
    return s;
  }
  double best = 1e300, head = 0;
  for (size_t end = first + 1; end + stages - 1 <= costs.size(); ++end) {
    head += costs[end - 1];
    best = std::min(best, std::max(head, bruteForce(costs, stages - 1, end)));
  }
  return best;
}
} // namespace

TEST_CASE("balanced stages: equal blocks split evenly", "[pipeline]") {
  std::vector<double> costs(8, 1.0);
  CHECK(balancedStages(costs, 2) == std::vector<size_t>{0, 4});
  CHECK(balancedStages(costs, 4) == std::vector<size_t>{0, 2, 4, 6});
  CHECK(balancedStages(costs, 8) == std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(balancedStages(costs, 1) == std::vector<size_t>{0});
}

TEST_CASE("balanced stages: a replicated stage takes its devices' share",
          "[pipeline]") {
  // Nine equal blocks, the second stage on two devices: 3 + 6 blocks, each
  // device 3 (equal devices would cut 5 + 4 or 4 + 5).
  std::vector<double> costs(9, 1.0);
  CHECK(balancedStages(costs, 2, std::vector<int64_t>{1, 2}) ==
        std::vector<size_t>{0, 3});
  CHECK(balancedStages(costs, 2, std::vector<int64_t>{2, 1}) ==
        std::vector<size_t>{0, 6});
  CHECK(balancedStages(costs, 3, std::vector<int64_t>{1, 1, 1}) ==
        balancedStages(costs, 3));
}

TEST_CASE("replicated stages: devices where the work is", "[pipeline]") {
  // A light first block and four heavy ones on 3 devices, 2 stages: the
  // light one and a heavy one on one device (load 3), the other three on
  // two replicas (6 / 2 = 3); equal devices could do no better than 5.
  std::vector<double> costs = {1, 2, 2, 2, 2};
  ReplicatedCut cut = replicatedStages(costs, 2, 3, 4);
  CHECK(cut.starts == std::vector<size_t>{0, 2});
  CHECK(cut.replicas == std::vector<int64_t>{1, 2});
  // Replica counts divide the micro-batches: with 3, a stage has 1 or 3
  // replicas, and no two such counts make 3 devices.
  CHECK(replicatedStages(costs, 2, 3, 3).replicas.empty());
  // Equal blocks on 4 devices, 2 stages, 4 micro-batches: 2 and 2.
  ReplicatedCut even = replicatedStages(std::vector<double>(8, 1.0), 2, 4, 4);
  CHECK(even.replicas == std::vector<int64_t>{2, 2});
  CHECK(even.starts == std::vector<size_t>{0, 4});
  // No more stages than blocks or devices.
  CHECK(replicatedStages(costs, 6, 8, 8).replicas.empty());
  CHECK(replicatedStages(costs, 3, 2, 8).replicas.empty());
}

TEST_CASE("replicated stages weigh their replicas' once-per-step work",
          "[pipeline]") {
  // The same blocks as above, 4 micro-batches on 3 devices: by compute
  // alone the last three blocks take 2 replicas (load 3 each stage).
  std::vector<double> costs = {1, 2, 2, 2, 2};
  // With an all-reduce among replicas of 2 s a step per block they hold
  // (0.5 s per micro-batch), 1:2 on {0, 1} | {2, 3, 4} loads
  // max(3, 6 / 2 + 1.5) = 4.5, and 2:1 on {0, 1, 2} | {3, 4} loads
  // max(5 / 2 + 1.5, 4) = 4, the least.
  size_t calls = 0;
  auto allReduce = [&](size_t stage, size_t first, size_t end,
                       int64_t firstDevice, int64_t replicas) {
    ++calls;
    CHECK(stage < 2);
    CHECK((stage == 0) == (first == 0));
    CHECK(first < end);
    CHECK(firstDevice >= 0);
    CHECK(firstDevice + replicas <= 3);
    return replicas > 1 ? 2.0 * static_cast<double>(end - first) : 0.0;
  };
  ReplicatedCut cut = replicatedStages(costs, 2, 3, 4, allReduce);
  CHECK(calls > 0);
  CHECK(cut.replicas == std::vector<int64_t>{2, 1});
  CHECK(cut.starts == std::vector<size_t>{0, 3});
  // A stage whose once-per-step figure is infinite (its state does not fit
  // a device) is never chosen: here the last stage on one device, so the
  // last stage takes two replicas.
  auto fitsOnTwo = [&](size_t, size_t, size_t end, int64_t, int64_t replicas) {
    return end == costs.size() && replicas == 1
               ? std::numeric_limits<double>::infinity()
               : 0.0;
  };
  ReplicatedCut fits = replicatedStages(costs, 2, 3, 4, fitsOnTwo);
  CHECK(fits.replicas == std::vector<int64_t>{1, 2});
  // Nothing fits anywhere: no cut.
  auto never = [](size_t, size_t, size_t, int64_t, int64_t) {
    return std::numeric_limits<double>::infinity();
  };
  CHECK(replicatedStages(costs, 2, 3, 4, never).replicas.empty());
}

TEST_CASE("balanced stages: a heavy block gets a stage of its own",
          "[pipeline]") {
  // Embedding, four layers, a large LM head.
  std::vector<double> costs = {1, 4, 4, 4, 4, 9};
  std::vector<size_t> starts = balancedStages(costs, 3);
  std::vector<double> sums = stageCosts(costs, starts);
  CHECK(*std::max_element(sums.begin(), sums.end()) == 9);
  CHECK(starts.back() == 5);
}

TEST_CASE("balanced stages spread what the slowest stage leaves",
          "[pipeline]") {
  // Ten equal blocks on four stages: the slowest takes 3 whichever cut;
  // the rest spread as 3, 3, 2, 2 (the later ranges start late), not
  // 3, 3, 3, 1.
  std::vector<double> costs(10, 1.0);
  CHECK(balancedStages(costs, 4) == std::vector<size_t>{0, 3, 6, 8});
  // 40 layers (and two light blocks) on 16 stages: none holds one block
  // alone while others hold three.
  std::vector<double> gpt(42, 1.0);
  gpt.front() = 0.1;
  gpt.back() = 0.5;
  std::vector<double> sums = stageCosts(gpt, balancedStages(gpt, 16));
  CHECK(*std::max_element(sums.begin(), sums.end()) == 3.0);
  CHECK(*std::min_element(sums.begin(), sums.end()) >= 2.0);
}

TEST_CASE("balanced stages match exhaustive search", "[pipeline]") {
  // Deterministic pseudo-random costs.
  uint64_t x = 12345;
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> costs;
    const size_t n = 2 + trial % 9;
    for (size_t i = 0; i < n; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      costs.push_back(static_cast<double>((x >> 33) % 100 + 1));
    }
    for (size_t stages = 1; stages <= n; ++stages) {
      std::vector<size_t> starts = balancedStages(costs, stages);
      REQUIRE(starts.size() == stages);
      CHECK(starts[0] == 0);
      for (size_t s = 1; s < stages; ++s)
        CHECK(starts[s] > starts[s - 1]);
      std::vector<double> sums = stageCosts(costs, starts);
      CHECK(*std::max_element(sums.begin(), sums.end()) ==
            bruteForce(costs, stages));
    }
  }
}

TEST_CASE("1F1B step time and bubble", "[pipeline]") {
  // 4 stages, 8 micro-batches: every stage once (the first micro-batch through the pipeline and
  // back), then 7 more of the slowest stage.
  CHECK(pipelineStepTime({1.0, 2.0, 1.5, 1.0}, 8) == Approx(5.5 + 7 * 2.0));
  // Equal stages: (M + S - 1) slots.
  CHECK(pipelineStepTime({2.0, 2.0, 2.0, 2.0}, 8) == Approx(11 * 2.0));
  CHECK(pipelineStepTime({3.0}, 5) == Approx(15.0));
  // Replicated stages run their micro-batches in rounds: stage 1 (3.0 a
  // micro-batch) on two devices takes 4 rounds of the 8, stage 0 (2.0)
  // 8: 5 + max(7 * 2, 3 * 3).
  CHECK(pipelineStepTime({2.0, 3.0}, 8, std::vector<int64_t>{1, 2}) ==
        Approx(5.0 + 14.0));
  CHECK(pipelineStepTime({2.0, 3.0}, 8, std::vector<int64_t>{1, 1}) ==
        pipelineStepTime({2.0, 3.0}, 8));
  CHECK(bubbleFraction(4, 8) == Approx(3.0 / 11.0));
  CHECK(bubbleFraction(1, 8) == 0.0);
  // More micro-batches shrink the bubble.
  CHECK(bubbleFraction(4, 32) < bubbleFraction(4, 8));
}
