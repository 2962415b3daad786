//===- bb_interfaces_test.cpp - cost and sharding interfaces, per op -------===//
//
// Builds every bb op with the C++ builders and checks, with numbers worked
// out by hand:
//  - bb::CostOpInterface: FLOPs (a multiply-add is 2), bytes read (every
//    operand once) and bytes written (every result once);
//  - mesh::ShardingInterface: loop iterator types, reduction kinds and the
//    indexing maps (operands first, then the result) as printed.
//
//===----------------------------------------------------------------------===//
#include "TestEnv.h"

#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/Dialect/Mesh/Interfaces/ShardingInterface.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Verifier.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::bb;
using bbtest::TestEnv;
using Strings = std::vector<std::string>;

namespace {

struct Cost {
  int64_t flops, read, written;
};

Cost costOf(Operation *op) {
  auto cost = dyn_cast<CostOpInterface>(op);
  REQUIRE(cost);
  return {cost.getFlops(), cost.getBytesRead(), cost.getBytesWritten()};
}

#define CHECK_COST(OP, FLOPS, READ, WRITTEN)                                   \
  do {                                                                         \
    Cost c_ = costOf((OP).getOperation());                                     \
    CHECK(c_.flops == (FLOPS));                                                \
    CHECK(c_.read == (READ));                                                  \
    CHECK(c_.written == (WRITTEN));                                            \
  } while (false)

mesh::ShardingInterface sharding(Operation *op) {
  auto s = dyn_cast<mesh::ShardingInterface>(op);
  REQUIRE(s);
  return s;
}

std::string iterators(Operation *op) {
  std::string out;
  for (utils::IteratorType it : sharding(op).getLoopIteratorTypes())
    out += (out.empty() ? "" : ", ") + utils::stringifyIteratorType(it).str();
  return out;
}

std::string kinds(Operation *op) {
  std::string out;
  for (mesh::ReductionKind k : sharding(op).getReductionLoopIteratorKinds())
    out += (out.empty() ? "" : ", ") + mesh::stringifyReductionKind(k).str();
  return out;
}

Strings maps(Operation *op) {
  Strings out;
  for (AffineMap map : sharding(op).getIndexingMaps()) {
    std::string s;
    llvm::raw_string_ostream os(s);
    map.print(os);
    out.push_back(os.str());
  }
  return out;
}

/// Evaluates indexing map `index` of `op` at the loop point `loops`.
std::vector<int64_t> at(Operation *op, unsigned index,
                        std::vector<int64_t> loops) {
  SmallVector<AffineMap> all = sharding(op).getIndexingMaps();
  REQUIRE(index < all.size());
  SmallVector<int64_t> r = all[index].compose(loops);
  return std::vector<int64_t>(r.begin(), r.end());
}

/// The iteration space is self-consistent: one map per operand and result,
/// each over all loops, and one reduction kind per reduction loop.
void checkConsistent(Operation *op) {
  mesh::ShardingInterface s = sharding(op);
  SmallVector<utils::IteratorType> its = s.getLoopIteratorTypes();
  SmallVector<AffineMap> ms = s.getIndexingMaps();
  if (its.empty()) {
    CHECK(ms.empty());
    return;
  }
  CHECK(ms.size() == op->getNumOperands() + op->getNumResults());
  for (AffineMap m : ms)
    CHECK(m.getNumDims() == its.size());
  size_t reductions = llvm::count(its, utils::IteratorType::reduction);
  CHECK(s.getReductionLoopIteratorKinds().size() == reductions);
  for (unsigned i = 0; i < ms.size(); ++i) {
    auto type = cast<RankedTensorType>(
        i < op->getNumOperands() ? op->getOperand(i).getType()
                                 : op->getResult(i - op->getNumOperands()).getType());
    CHECK(ms[i].getNumResults() == type.getRank());
  }
}

template <typename OpT>
OpT verified(OpT op) {
  REQUIRE(succeeded(mlir::verify(op)));
  checkConsistent(op);
  return op;
}

const Strings kIdentity2 = {"(d0, d1) -> (d0, d1)", "(d0, d1) -> (d0, d1)"};

} // namespace

//===----------------------------------------------------------------------===//
// Constants and elementwise ops
//===----------------------------------------------------------------------===//

TEST_CASE("bb.constant: no work, writes its value, one loop per dim",
          "[cost][sharding]") {
  TestEnv env;
  env.args({});
  auto value = DenseElementsAttr::get(env.t({2, 3}), ArrayRef<float>{1.0f});
  auto op = verified(env.builder.create<ConstantOp>(env.loc, value));
  CHECK_COST(op, 0, 0, 2 * 3 * 4);
  CHECK(iterators(op) == "parallel, parallel");
  CHECK(maps(op) == Strings{"(d0, d1) -> (d0, d1)"});
}

TEMPLATE_TEST_CASE("unary elementwise ops: one FLOP per element, identity maps",
                   "[cost][sharding]", NegOp, AbsOp, SqrtOp, ExpOp, LogOp,
                   ErfOp, TanhOp, SigmoidOp, ReluOp, HardSwishOp,
                   HardSigmoidOp, GeluOp) {
  TestEnv env;
  auto a = env.args({env.t({2, 3})});
  auto op = verified(env.builder.create<TestType>(env.loc, ValueRange{a[0]}));
  CHECK(op.getType() == env.t({2, 3}));
  CHECK_COST(op, 6, 24, 24);
  CHECK(iterators(op) == "parallel, parallel");
  CHECK(kinds(op).empty());
  CHECK(maps(op) == kIdentity2);
}

TEST_CASE("bb.gelu (tanh) costs like any unary op", "[cost]") {
  TestEnv env;
  auto a = env.args({env.t({4, 8}, env.builder.getF16Type())});
  auto op = verified(
      env.builder.create<GeluOp>(env.loc, a[0], GeluApproximation::tanh));
  CHECK_COST(op, 32, 64, 64);
}

TEMPLATE_TEST_CASE("broadcasting binary ops: stretched dims read index 0",
                   "[cost][sharding]", AddOp, SubOp, MulOp, DivOp, PowOp) {
  TestEnv env;
  // [4, 1, 3] op [5, 1] -> [4, 5, 3]
  auto a = env.args({env.t({4, 1, 3}), env.t({5, 1})});
  auto op = verified(env.builder.create<TestType>(env.loc, a[0], a[1]));
  CHECK(op.getType() == env.t({4, 5, 3}));
  CHECK_COST(op, 60, (12 + 5) * 4, 60 * 4);
  CHECK(iterators(op) == "parallel, parallel, parallel");
  CHECK(kinds(op).empty());
  CHECK(maps(op) == Strings{"(d0, d1, d2) -> (d0, 0, d2)",
                            "(d0, d1, d2) -> (d1, 0)",
                            "(d0, d1, d2) -> (d0, d1, d2)"});
}

TEST_CASE("bb.compare: i1 result counts one byte per element", "[cost][sharding]") {
  TestEnv env;
  Type i64 = env.builder.getI64Type();
  auto a = env.args({env.t({2, 3}, i64), env.t({3}, i64)});
  auto op = verified(env.builder.create<CompareOp>(env.loc, ComparePredicate::lt,
                                                   a[0], a[1]));
  CHECK(op.getType() == env.t({2, 3}, env.builder.getI1Type()));
  CHECK_COST(op, 6, (6 + 3) * 8, 6);
  CHECK(iterators(op) == "parallel, parallel");
  CHECK(maps(op) == Strings{"(d0, d1) -> (d0, d1)", "(d0, d1) -> (d1)",
                            "(d0, d1) -> (d0, d1)"});
}

TEST_CASE("bb.select: three broadcast operands", "[cost][sharding]") {
  TestEnv env;
  Type bf16 = env.builder.getBF16Type();
  auto a = env.args({env.t({2, 1}, env.builder.getI1Type()), env.t({2, 3}, bf16),
                     env.t({}, bf16)});
  auto op = verified(env.builder.create<SelectOp>(env.loc, a[0], a[1], a[2]));
  CHECK(op.getType() == env.t({2, 3}, bf16));
  CHECK_COST(op, 6, 2 + 12 + 2, 12);
  CHECK(iterators(op) == "parallel, parallel");
  CHECK(maps(op) == Strings{"(d0, d1) -> (d0, 0)", "(d0, d1) -> (d0, d1)",
                            "(d0, d1) -> ()", "(d0, d1) -> (d0, d1)"});
}

TEST_CASE("bb.convert: reads i32, writes f16", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3}, env.builder.getI32Type())});
  auto op = verified(env.builder.create<ConvertOp>(
      env.loc, env.t({2, 3}, env.builder.getF16Type()), a[0]));
  CHECK_COST(op, 6, 24, 12);
  CHECK(iterators(op) == "parallel, parallel");
  CHECK(maps(op) == kIdentity2);
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

TEST_CASE("bb.matmul: loops m, n, k; k is a sum", "[cost][sharding]") {
  TestEnv env;
  SECTION("plain") {
    auto a = env.args({env.t({8, 16}), env.t({16, 32})});
    auto op = verified(env.builder.create<MatMulOp>(env.loc, a[0], a[1]));
    CHECK(op.getType() == env.t({8, 32}));
    CHECK_COST(op, 2 * 8 * 32 * 16, (128 + 512) * 4, 256 * 4);
    CHECK(iterators(op) == "parallel, parallel, reduction");
    CHECK(kinds(op) == "sum");
    CHECK(maps(op) == Strings{"(d0, d1, d2) -> (d0, d2)",
                              "(d0, d1, d2) -> (d2, d1)",
                              "(d0, d1, d2) -> (d0, d1)"});
  }
  SECTION("transpose_lhs: lhs is [K, M]") {
    auto a = env.args({env.t({16, 8}), env.t({16, 32})});
    auto op = verified(
        env.builder.create<MatMulOp>(env.loc, a[0], a[1], true, false));
    CHECK(op.getType() == env.t({8, 32}));
    CHECK(op.getContractionSize() == 16);
    CHECK_COST(op, 2 * 8 * 32 * 16, (128 + 512) * 4, 256 * 4);
    CHECK(maps(op) == Strings{"(d0, d1, d2) -> (d2, d0)",
                              "(d0, d1, d2) -> (d2, d1)",
                              "(d0, d1, d2) -> (d0, d1)"});
  }
  SECTION("batched lhs, transpose_rhs 2-d weight") {
    auto a = env.args({env.t({3, 8, 16}), env.t({32, 16})});
    auto op = verified(
        env.builder.create<MatMulOp>(env.loc, a[0], a[1], false, true));
    CHECK(op.getType() == env.t({3, 8, 32}));
    CHECK_COST(op, 2 * 3 * 8 * 32 * 16, (384 + 512) * 4, 768 * 4);
    CHECK(iterators(op) == "parallel, parallel, parallel, reduction");
    CHECK(kinds(op) == "sum");
    CHECK(maps(op) == Strings{"(d0, d1, d2, d3) -> (d0, d1, d3)",
                              "(d0, d1, d2, d3) -> (d2, d3)",
                              "(d0, d1, d2, d3) -> (d0, d1, d2)"});
  }
  SECTION("broadcast batch dimension of size 1") {
    auto a = env.args({env.t({1, 8, 16}), env.t({4, 16, 32})});
    auto op = verified(env.builder.create<MatMulOp>(env.loc, a[0], a[1]));
    CHECK(op.getType() == env.t({4, 8, 32}));
    CHECK_COST(op, 2 * 4 * 8 * 32 * 16, (128 + 4 * 512) * 4, 4 * 256 * 4);
    CHECK(maps(op) == Strings{"(d0, d1, d2, d3) -> (0, d1, d3)",
                              "(d0, d1, d2, d3) -> (d0, d3, d2)",
                              "(d0, d1, d2, d3) -> (d0, d1, d2)"});
  }
}

TEST_CASE("bb.conv: grouped, strided, with bias", "[cost][sharding]") {
  TestEnv env;
  // [1, 4, 8, 8] * [6, 2, 3, 3], group 2, stride 2, pad 1 -> [1, 6, 4, 4]
  auto a = env.args({env.t({1, 4, 8, 8}), env.t({6, 2, 3, 3}), env.t({6})});
  auto op = verified(env.builder.create<ConvOp>(
      env.loc, a[0], a[1], a[2], ArrayRef<int64_t>{2, 2},
      ArrayRef<int64_t>{1, 1, 1, 1}, ArrayRef<int64_t>{1, 1}, 2));
  CHECK(op.getType() == env.t({1, 6, 4, 4}));
  // 96 outputs, each 2 * (2 channels * 3 * 3) FLOPs.
  CHECK_COST(op, 2 * 96 * 18, (256 + 108 + 6) * 4, 96 * 4);
  // Loops: n, f, o1, o2, then c (per group), k1, k2.
  CHECK(iterators(op) == "parallel, parallel, parallel, parallel, reduction, "
                         "reduction, reduction");
  CHECK(kinds(op) == "sum, sum, sum");
  CHECK(maps(op) ==
        Strings{"(d0, d1, d2, d3, d4, d5, d6) -> (d0, (d1 floordiv 3) * 2 + d4, "
                "d2 * 2 + d5, d3 * 2 + d6)",
                "(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)",
                "(d0, d1, d2, d3, d4, d5, d6) -> (d1)",
                "(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)"});
  // Filter 4 is in group 1, so its channel 1 is input channel 3.
  CHECK(at(op, 0, {0, 4, 1, 2, 1, 2, 0}) == std::vector<int64_t>{0, 3, 4, 4});
}

TEST_CASE("bb.conv: dilation, group 1, no bias", "[cost][sharding]") {
  TestEnv env;
  // [2, 3, 9, 9] * [5, 3, 3, 3], dilation 2 -> [2, 5, 5, 5]
  auto a = env.args({env.t({2, 3, 9, 9}), env.t({5, 3, 3, 3})});
  auto op = verified(env.builder.create<ConvOp>(
      env.loc, a[0], a[1], Value(), ArrayRef<int64_t>{1, 1},
      ArrayRef<int64_t>{0, 0, 0, 0}, ArrayRef<int64_t>{2, 2}, 1));
  CHECK(op.getType() == env.t({2, 5, 5, 5}));
  CHECK_COST(op, 2 * 250 * 27, (486 + 135) * 4, 250 * 4);
  CHECK(maps(op).size() == 3);
  // Output (1, 4, 3, 2), channel 2, kernel (1, 2): input (1, 2, 3 + 2, 2 + 4).
  CHECK(at(op, 0, {1, 4, 3, 2, 2, 1, 2}) == std::vector<int64_t>{1, 2, 5, 6});
  CHECK(at(op, 1, {1, 4, 3, 2, 2, 1, 2}) == std::vector<int64_t>{4, 2, 1, 2});
}

//===----------------------------------------------------------------------===//
// Pooling and normalization
//===----------------------------------------------------------------------===//

TEST_CASE("bb.max_pool: window loops are max reductions", "[cost][sharding]") {
  TestEnv env;
  // 8x8, kernel 3, stride 2, ceil_mode -> 4x4 (floor would give 3x3).
  auto a = env.args({env.t({1, 2, 8, 8})});
  auto op = verified(env.builder.create<MaxPoolOp>(
      env.loc, a[0], ArrayRef<int64_t>{3, 3}, ArrayRef<int64_t>{2, 2},
      ArrayRef<int64_t>{0, 0, 0, 0}, true));
  CHECK(op.getType() == env.t({1, 2, 4, 4}));
  CHECK_COST(op, 32 * 9, 128 * 4, 32 * 4);
  CHECK(iterators(op) ==
        "parallel, parallel, parallel, parallel, reduction, reduction");
  CHECK(kinds(op) == "max, max");
  CHECK(maps(op) ==
        Strings{"(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)",
                "(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)"});
}

TEST_CASE("bb.avg_pool: window loops are generic reductions", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({1, 2, 8, 8})});
  auto op = verified(env.builder.create<AvgPoolOp>(
      env.loc, a[0], ArrayRef<int64_t>{2, 2}, ArrayRef<int64_t>{2, 2},
      ArrayRef<int64_t>{0, 0, 0, 0}));
  CHECK(op.getType() == env.t({1, 2, 4, 4}));
  CHECK_COST(op, 32 * 4, 128 * 4, 32 * 4);
  CHECK(kinds(op) == "generic, generic");
  CHECK(maps(op) ==
        Strings{"(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)",
                "(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)"});
}

TEST_CASE("bb.batch_norm: per-channel operands map to d1", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3, 4, 4}), env.t({3}), env.t({3}), env.t({3}),
                     env.t({3})});
  auto op = verified(env.builder.create<BatchNormOp>(
      env.loc, a[0], a[1], a[2], a[3], a[4], APFloat(1e-5f)));
  CHECK(op.getType() == env.t({2, 3, 4, 4}));
  CHECK_COST(op, 96, (96 + 4 * 3) * 4, 96 * 4);
  CHECK(iterators(op) == "parallel, parallel, parallel, parallel");
  const std::string channel = "(d0, d1, d2, d3) -> (d1)";
  const std::string id = "(d0, d1, d2, d3) -> (d0, d1, d2, d3)";
  CHECK(maps(op) == Strings{id, channel, channel, channel, channel, id});
}

TEST_CASE("bb.layer_norm: normalized dims are generic reductions",
          "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 4, 8}), env.t({4, 8}), env.t({4, 8})});
  auto op = verified(env.builder.create<LayerNormOp>(
      env.loc, a[0], a[1], a[2], /*axis=*/1, APFloat(1e-5f)));
  CHECK(op.getNormalizedAxis() == 1);
  CHECK_COST(op, 8 * 64, (64 + 32 + 32) * 4, 64 * 4);
  CHECK(iterators(op) == "parallel, reduction, reduction");
  CHECK(kinds(op) == "generic, generic");
  CHECK(maps(op) == Strings{"(d0, d1, d2) -> (d0, d1, d2)",
                            "(d0, d1, d2) -> (d1, d2)",
                            "(d0, d1, d2) -> (d1, d2)",
                            "(d0, d1, d2) -> (d0, d1, d2)"});
}

TEST_CASE("bb.layer_norm: negative axis, no bias", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 4, 8}), env.t({8})});
  auto op = verified(env.builder.create<LayerNormOp>(
      env.loc, a[0], a[1], Value(), /*axis=*/-1, APFloat(1e-5f)));
  CHECK(op.getNormalizedAxis() == 2);
  CHECK_COST(op, 8 * 64, (64 + 8) * 4, 64 * 4);
  CHECK(iterators(op) == "parallel, parallel, reduction");
  CHECK(maps(op) == Strings{"(d0, d1, d2) -> (d0, d1, d2)",
                            "(d0, d1, d2) -> (d2)",
                            "(d0, d1, d2) -> (d0, d1, d2)"});
}

TEST_CASE("bb.softmax: the axis is a generic reduction", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 4, 8})});
  auto op = verified(env.builder.create<SoftmaxOp>(env.loc, a[0], uint64_t(1)));
  CHECK_COST(op, 5 * 64, 256, 256);
  CHECK(iterators(op) == "parallel, reduction, parallel");
  CHECK(kinds(op) == "generic");
  CHECK(maps(op) == Strings{"(d0, d1, d2) -> (d0, d1, d2)",
                            "(d0, d1, d2) -> (d0, d1, d2)"});
}

TEST_CASE("bb.log_softmax: default axis -1", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 4, 8})});
  auto op = verified(env.builder.create<LogSoftmaxOp>(env.loc, a[0]));
  CHECK(op.getNormalizedAxis() == 2);
  CHECK_COST(op, 5 * 64, 256, 256);
  CHECK(iterators(op) == "parallel, parallel, reduction");
  CHECK(kinds(op) == "generic");
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

TEST_CASE("bb.reduce_sum: keepdims keeps a constant-0 result dim",
          "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3, 4})});
  auto op = verified(env.builder.create<ReduceSumOp>(
      env.loc, a[0], ArrayRef<int64_t>{1}, true));
  CHECK(op.getType() == env.t({2, 1, 4}));
  // FLOPs: see the [!shouldfail] case below.
  CHECK(costOf(op).read == 96);
  CHECK(costOf(op).written == 32);
  CHECK(iterators(op) == "parallel, reduction, parallel");
  CHECK(kinds(op) == "sum");
  CHECK(maps(op) == Strings{"(d0, d1, d2) -> (d0, d1, d2)",
                            "(d0, d1, d2) -> (d0, 0, d2)"});
}

TEST_CASE("bb.reduce_mean: two axes dropped", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3, 4})});
  auto op = verified(env.builder.create<ReduceMeanOp>(
      env.loc, a[0], ArrayRef<int64_t>{0, 2}, false));
  CHECK(op.getType() == env.t({3}));
  CHECK(costOf(op).read == 96);
  CHECK(costOf(op).written == 12);
  CHECK(iterators(op) == "reduction, parallel, reduction");
  CHECK(kinds(op) == "average, average");
  CHECK(maps(op) ==
        Strings{"(d0, d1, d2) -> (d0, d1, d2)", "(d0, d1, d2) -> (d1)"});
}

TEST_CASE("bb.reduce_max: last axis", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3, 4}, env.builder.getI32Type())});
  auto op = verified(env.builder.create<ReduceMaxOp>(
      env.loc, a[0], ArrayRef<int64_t>{2}, false));
  CHECK(op.getType() == env.t({2, 3}, env.builder.getI32Type()));
  CHECK(costOf(op).read == 96);
  CHECK(costOf(op).written == 24);
  CHECK(iterators(op) == "parallel, parallel, reduction");
  CHECK(kinds(op) == "max");
  CHECK(maps(op) ==
        Strings{"(d0, d1, d2) -> (d0, d1, d2)", "(d0, d1, d2) -> (d0, d1)"});
}

// Regression: reductions once used the elementwise default (one FLOP per
// *result* element); a reduction performs at least (inputs - outputs).
TEST_CASE("reductions count a FLOP per reduced input element", "[cost]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3, 4})});
  auto sum = env.builder.create<ReduceSumOp>(env.loc, a[0],
                                             ArrayRef<int64_t>{1}, true);
  auto mean = env.builder.create<ReduceMeanOp>(env.loc, a[0],
                                               ArrayRef<int64_t>{0, 2}, false);
  auto max = env.builder.create<ReduceMaxOp>(env.loc, a[0],
                                             ArrayRef<int64_t>{2}, false);
  // 24 input elements each: one operation per input element.
  CHECK(costOf(sum).flops == 24);
  CHECK(costOf(mean).flops == 24);
  CHECK(costOf(max).flops == 24);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

TEST_CASE("bb.gather: a one-hot contraction over the gathered axis",
          "[cost][sharding]") {
  TestEnv env;
  Type i64 = env.builder.getI64Type();
  SECTION("axis 0 (embedding lookup)") {
    auto a = env.args({env.t({16, 8}), env.t({2, 3}, i64)});
    auto op = verified(env.builder.create<GatherOp>(env.loc, a[0], a[1], uint64_t(0)));
    CHECK(op.getType() == env.t({2, 3, 8}));
    CHECK_COST(op, 0, 512 + 48, 192); // data movement: no FLOPs
    CHECK(iterators(op) == "parallel, parallel, parallel, reduction");
    CHECK(kinds(op) == "sum");
    CHECK(maps(op) == Strings{"(d0, d1, d2, d3) -> (d3, d2)",
                              "(d0, d1, d2, d3) -> (d0, d1)",
                              "(d0, d1, d2, d3) -> (d0, d1, d2)"});
  }
  SECTION("axis 1") {
    auto a = env.args({env.t({4, 16, 8}), env.t({5}, env.builder.getI32Type())});
    auto op = verified(env.builder.create<GatherOp>(env.loc, a[0], a[1], uint64_t(1)));
    CHECK(op.getType() == env.t({4, 5, 8}));
    CHECK_COST(op, 0, 512 * 4 + 20, 160 * 4);
    CHECK(maps(op) == Strings{"(d0, d1, d2, d3) -> (d0, d3, d2)",
                              "(d0, d1, d2, d3) -> (d1)",
                              "(d0, d1, d2, d3) -> (d0, d1, d2)"});
  }
}

TEST_CASE("bb.reshape: moves bytes, no loops", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3, 4})});
  auto op = verified(env.builder.create<ReshapeOp>(env.loc, env.t({6, 4}), a[0]));
  CHECK_COST(op, 0, 96, 96);
  CHECK(iterators(op).empty());
  CHECK(maps(op).empty());
}

TEST_CASE("bb.transpose: the input map is the inverse permutation",
          "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3, 4})});
  auto op = verified(env.builder.create<TransposeOp>(env.loc, a[0],
                                                     ArrayRef<int64_t>{2, 0, 1}));
  CHECK(op.getType() == env.t({4, 2, 3}));
  CHECK_COST(op, 0, 96, 96);
  CHECK(iterators(op) == "parallel, parallel, parallel");
  CHECK(maps(op) == Strings{"(d0, d1, d2) -> (d1, d2, d0)",
                            "(d0, d1, d2) -> (d0, d1, d2)"});
}

TEST_CASE("bb.concat: moves bytes, no loops", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3}), env.t({2, 5})});
  auto op = verified(
      env.builder.create<ConcatOp>(env.loc, ValueRange{a[0], a[1]}, uint64_t(1)));
  CHECK(op.getType() == env.t({2, 8}));
  CHECK_COST(op, 0, 64, 64);
  CHECK(iterators(op).empty());
  CHECK(maps(op).empty());
}

TEST_CASE("bb.slice: strided and reversed", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({4, 6})});
  // rows 1, 3; columns 5, 3, 1
  auto op = verified(env.builder.create<SliceOp>(
      env.loc, a[0], ArrayRef<int64_t>{1, 5}, ArrayRef<int64_t>{4, -1},
      ArrayRef<int64_t>{2, -2}));
  CHECK(op.getType() == env.t({2, 3}));
  CHECK_COST(op, 0, 96, 24);
  CHECK(iterators(op) == "parallel, parallel");
  CHECK(maps(op).size() == 2);
  CHECK(maps(op)[1] == "(d0, d1) -> (d0, d1)");
  CHECK(at(op, 0, {0, 0}) == std::vector<int64_t>{1, 5});
  CHECK(at(op, 0, {1, 2}) == std::vector<int64_t>{3, 1});
}

TEST_CASE("bb.broadcast_to: stretched and new dims", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({1, 3})});
  auto op = verified(
      env.builder.create<BroadcastToOp>(env.loc, env.t({2, 4, 3}), a[0]));
  CHECK_COST(op, 0, 12, 96);
  CHECK(iterators(op) == "parallel, parallel, parallel");
  CHECK(maps(op) ==
        Strings{"(d0, d1, d2) -> (0, d2)", "(d0, d1, d2) -> (d0, d1, d2)"});
}

TEST_CASE("bb.trilu: elementwise over the matrix", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({3, 3}, env.builder.getI32Type())});
  auto op = verified(env.builder.create<TriluOp>(env.loc, a[0], true));
  CHECK_COST(op, 9, 36, 36);
  CHECK(iterators(op) == "parallel, parallel");
  CHECK(maps(op) == kIdentity2);
}

//===----------------------------------------------------------------------===//
// Gradient ops: the forward op's loops, with the tensors' maps swapped
//===----------------------------------------------------------------------===//

TEST_CASE("bb.conv_input_grad: the conv's loops; filters, outputs, taps are sums",
          "[cost][sharding]") {
  TestEnv env;
  // The conv of "bb.conv: grouped, strided, with bias", backwards:
  // dy [1, 6, 4, 4] and w [6, 2, 3, 3] -> dx [1, 4, 8, 8].
  auto a = env.args({env.t({1, 6, 4, 4}), env.t({6, 2, 3, 3})});
  auto op = verified(env.builder.create<ConvInputGradOp>(
      env.loc, env.t({1, 4, 8, 8}), a[0], a[1], ArrayRef<int64_t>{2, 2},
      ArrayRef<int64_t>{1, 1, 1, 1}, ArrayRef<int64_t>{1, 1}, 2));
  CHECK_COST(op, 2 * 96 * 18, (96 + 108) * 4, 256 * 4);
  // Loops n, f, o1, o2, c, k1, k2: dx is indexed by n and c directly.
  CHECK(iterators(op) == "parallel, reduction, reduction, reduction, parallel, "
                         "reduction, reduction");
  CHECK(kinds(op) == "sum, sum, sum, sum, sum");
  CHECK(maps(op) ==
        Strings{"(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)",
                "(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)",
                "(d0, d1, d2, d3, d4, d5, d6) -> (d0, (d1 floordiv 3) * 2 + d4, "
                "d2 * 2 + d5, d3 * 2 + d6)"});
}

TEST_CASE("bb.conv_weight_grad: images and outputs are sums", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({1, 4, 8, 8}), env.t({1, 6, 4, 4})});
  auto op = verified(env.builder.create<ConvWeightGradOp>(
      env.loc, env.t({6, 2, 3, 3}), a[0], a[1], ArrayRef<int64_t>{2, 2},
      ArrayRef<int64_t>{1, 1, 1, 1}, ArrayRef<int64_t>{1, 1}, 2));
  CHECK_COST(op, 2 * 96 * 18, (256 + 96) * 4, 108 * 4);
  CHECK(iterators(op) == "reduction, parallel, reduction, reduction, parallel, "
                         "parallel, parallel");
  CHECK(kinds(op) == "sum, sum, sum");
  CHECK(maps(op) ==
        Strings{"(d0, d1, d2, d3, d4, d5, d6) -> (d0, (d1 floordiv 3) * 2 + d4, "
                "d2 * 2 + d5, d3 * 2 + d6)",
                "(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)",
                "(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)"});
}

TEST_CASE("bb.max_pool_grad: the pool's loops; outputs and taps are sums",
          "[cost][sharding]") {
  TestEnv env;
  // 8x8, kernel 3, stride 2, ceil_mode -> 4x4, as "bb.max_pool: ...".
  auto a = env.args({env.t({1, 2, 8, 8}), env.t({1, 2, 4, 4})});
  auto op = verified(env.builder.create<MaxPoolGradOp>(
      env.loc, a[0], a[1], ArrayRef<int64_t>{3, 3}, ArrayRef<int64_t>{2, 2},
      ArrayRef<int64_t>{0, 0, 0, 0}, true));
  CHECK(op.getType() == env.t({1, 2, 8, 8}));
  CHECK_COST(op, 32 * 9, (128 + 32) * 4, 128 * 4);
  CHECK(iterators(op) ==
        "parallel, parallel, reduction, reduction, reduction, reduction");
  CHECK(kinds(op) == "sum, sum, sum, sum");
  CHECK(maps(op) ==
        Strings{"(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)",
                "(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)",
                "(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)"});
}

TEST_CASE("bb.avg_pool_grad: the pool's loops", "[cost][sharding]") {
  TestEnv env;
  auto a = env.args({env.t({1, 2, 4, 4})});
  auto op = verified(env.builder.create<AvgPoolGradOp>(
      env.loc, env.t({1, 2, 8, 8}), a[0], ArrayRef<int64_t>{2, 2},
      ArrayRef<int64_t>{2, 2}, ArrayRef<int64_t>{0, 0, 0, 0}, false, false));
  CHECK_COST(op, 32 * 4, 32 * 4, 128 * 4);
  CHECK(kinds(op) == "sum, sum, sum, sum");
  CHECK(maps(op) ==
        Strings{"(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)",
                "(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)"});
}

TEST_CASE("bb.slice_grad: loops over the slice, writes start + stride * i",
          "[cost][sharding]") {
  TestEnv env;
  // The slice of "bb.slice: strided and reversed", backwards.
  auto a = env.args({env.t({2, 3})});
  auto op = verified(env.builder.create<SliceGradOp>(
      env.loc, env.t({4, 6}), a[0], ArrayRef<int64_t>{1, 5},
      ArrayRef<int64_t>{4, -1}, ArrayRef<int64_t>{2, -2}));
  CHECK_COST(op, 0, 24, 96);
  CHECK(iterators(op) == "parallel, parallel");
  CHECK(maps(op)[0] == "(d0, d1) -> (d0, d1)");
  CHECK(at(op, 1, {0, 0}) == std::vector<int64_t>{1, 5});
  CHECK(at(op, 1, {1, 2}) == std::vector<int64_t>{3, 1});
}

// Known bug (reported): upstream mesh (MLIR 19) accepts an implementation only
// with at least one loop, one map per operand and result, and result maps
// that are projected permutations; sharding-propagation errors out on any op
// that fails this, so one bb.constant or bb.reshape in a function stops it.
// Remove [!shouldfail] once fixed.
TEST_CASE("bb.constant passes mesh's verifyShardingInterfaceImpl",
          "[sharding]") {
  TestEnv env;
  auto cst = env.builder.create<ConstantOp>(
      env.loc, DenseElementsAttr::get(env.t({2}), ArrayRef<float>{1.0f}));
  CHECK(succeeded(sharding(cst).verifyShardingInterfaceImpl()));
}

TEST_CASE("every bb op passes mesh's verifyShardingInterfaceImpl",
          "[sharding][!shouldfail]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3, 4})});
  OpBuilder &b = env.builder;
  Operation *ops[] = {
      b.create<ReshapeOp>(env.loc, env.t({6, 4}), a[0]),
      b.create<ConcatOp>(env.loc, ValueRange{a[0], a[0]}, uint64_t(0)),
      b.create<ReduceSumOp>(env.loc, a[0], ArrayRef<int64_t>{1}, true),
  };
  for (Operation *op : ops)
    CHECK(succeeded(sharding(op).verifyShardingInterfaceImpl()));
}
