// planReshard / canReshard: the collectives between two layouts, and which
// layout changes cannot be made (partial sums a producer does not leave).
#include "passes/sharding/ShardingRules.h"

#include <catch2/catch.hpp>

using namespace mlir;
using namespace mlir::bb::sharding;

namespace {

TensorSharding layout(std::initializer_list<std::initializer_list<int16_t>> dims,
                      std::initializer_list<int16_t> partial = {},
                      mesh::ReductionKind kind = mesh::ReductionKind::Sum) {
  TensorSharding s;
  for (auto d : dims)
    s.dimAxes.emplace_back(d.begin(), d.end());
  s.partialAxes.assign(partial.begin(), partial.end());
  s.partialKind = kind;
  return s;
}

const SmallVector<int64_t> kShape = {8, 8};
const SmallVector<int64_t> kMesh = {2, 2};

} // namespace

TEST_CASE("partial sums are all-reduced, or reduce-scattered into a split") {
  auto steps = planReshard(layout({{}, {}}, {0}), layout({{}, {}}), kShape, kMesh);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].kind == ReshardStep::Kind::AllReduce);
  CHECK(steps[0].axes == SmallVector<int16_t>{0});

  steps = planReshard(layout({{}, {}}, {0}), layout({{0}, {}}), kShape, kMesh);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].kind == ReshardStep::Kind::ReduceScatter);
  CHECK(steps[0].dim == 0);
}

TEST_CASE("partial sums a consumer takes as they are stay unreduced") {
  // The same partial sums: nothing to do.
  CHECK(canReshard(layout({{}, {}}, {0}), layout({{}, {}}, {0})));
  CHECK(planReshard(layout({{}, {}}, {0}), layout({{}, {}}, {0}), kShape, kMesh)
            .empty());
  // Kept partial over axis 0 while the split over axis 1 moves from
  // dimension 1 to dimension 0: an all-to-all, no reduction.
  TensorSharding from = layout({{}, {1}}, {0}), to = layout({{1}, {}}, {0});
  REQUIRE(canReshard(from, to));
  auto steps = planReshard(from, to, kShape, kMesh);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].kind == ReshardStep::Kind::AllToAll);
  CHECK(steps[0].after.partialAxes == SmallVector<int16_t>{0});
}

TEST_CASE("partial sums cannot be made from what a producer does not leave") {
  CHECK_FALSE(canReshard(layout({{}, {}}), layout({{}, {}}, {0})));
  CHECK_FALSE(canReshard(layout({{}, {}}, {1}), layout({{}, {}}, {0})));
  CHECK_FALSE(canReshard(layout({{}, {}}, {0}, mesh::ReductionKind::Max),
                         layout({{}, {}}, {0})));
  // Reducing is always possible.
  CHECK(canReshard(layout({{}, {}}, {0, 1}), layout({{0}, {}})));
}

TEST_CASE("layout texts tell partial sums and their kind apart") {
  CHECK(layout({{0}, {}}).layoutText() == "[[0], []]");
  CHECK(layout({{0}, {}}, {1}).layoutText() != layout({{0}, {}}).layoutText());
  CHECK(layout({{0}, {}}, {1}).layoutText() ==
        layout({{0}, {}}, {1}).layoutText());
  CHECK(layout({{}, {}}, {1}, mesh::ReductionKind::Max).layoutText() !=
        layout({{}, {}}, {1}).layoutText());
}
