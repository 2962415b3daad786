//===- bb_shape_inference_test.cpp - inferReturnTypes of bb ops ------------===//
//
// Calls each op's InferTypeOpInterface::inferReturnTypes on operands and
// attributes directly (the op is created with a placeholder result type, so
// only inference decides) and checks the inferred type, or the numbered
// constraint named by the error when inference must fail.
//
//===----------------------------------------------------------------------===//
#include "TestEnv.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#include <catch2/catch.hpp>

#include <string>

using namespace mlir;
using namespace mlir::bb;
using bbtest::TestEnv;

namespace {

struct Inferred {
  bool ok = false;
  Type type;
  std::string error;
};

Inferred infer(TestEnv &env, StringRef opName, ValueRange operands,
               ArrayRef<NamedAttribute> attributes = {}) {
  OperationState state(env.loc, opName);
  state.addOperands(operands);
  state.addAttributes(attributes);
  state.addTypes(env.t({1})); // a placeholder; only the inference counts
  Operation *op = env.builder.create(state);
  auto iface = dyn_cast<InferTypeOpInterface>(op);
  REQUIRE(iface);
  Inferred result;
  SmallVector<Type> types;
  {
    ScopedDiagnosticHandler handler(&env.ctx, [&](Diagnostic &diag) {
      result.error += diag.str();
      return success();
    });
    result.ok = succeeded(iface.inferReturnTypes(
        &env.ctx, op->getLoc(), op->getOperands(), op->getRawDictionaryAttrs(),
        op->getPropertiesStorage(), op->getRegions(), types));
  }
  if (result.ok) {
    REQUIRE(types.size() == 1);
    result.type = types.front();
  }
  op->erase();
  return result;
}

/// Infers and requires success; returns the shape.
std::vector<int64_t> shapeOf(const Inferred &r) {
  INFO(r.error);
  REQUIRE(r.ok);
  auto t = cast<RankedTensorType>(r.type);
  return std::vector<int64_t>(t.getShape().begin(), t.getShape().end());
}

/// Requires failure with an error mentioning `constraint`.
void requireError(const Inferred &r, const std::string &constraint) {
  REQUIRE_FALSE(r.ok);
  INFO(r.error);
  CHECK(r.error.find(constraint) != std::string::npos);
}

using Shape = std::vector<int64_t>;

NamedAttribute arr(TestEnv &env, StringRef name, ArrayRef<int64_t> values) {
  return env.builder.getNamedAttr(name, env.builder.getDenseI64ArrayAttr(values));
}
NamedAttribute i64(TestEnv &env, StringRef name, int64_t value) {
  return env.builder.getNamedAttr(name, env.builder.getI64IntegerAttr(value));
}
NamedAttribute unit(TestEnv &env, StringRef name) {
  return env.builder.getNamedAttr(name, env.builder.getUnitAttr());
}

} // namespace

//===----------------------------------------------------------------------===//
// Broadcasting
//===----------------------------------------------------------------------===//

TEST_CASE("broadcasting binary ops follow NumPy rules", "[infer][broadcast]") {
  TestEnv env;
  auto a = env.args({env.t({4, 1, 3}), env.t({5, 1}), env.t({}), env.t({3}),
                     env.t({4}), env.t({1}), env.t({0}),
                     env.t({3}, env.builder.getF16Type())});
  // Right-aligned, size-1 dims stretch, missing dims are prepended.
  CHECK(shapeOf(infer(env, "bb.add", {a[0], a[1]})) == Shape{4, 5, 3});
  CHECK(shapeOf(infer(env, "bb.sub", {a[1], a[0]})) == Shape{4, 5, 3});
  // A scalar broadcasts to anything.
  CHECK(shapeOf(infer(env, "bb.mul", {a[2], a[0]})) == Shape{4, 1, 3});
  CHECK(shapeOf(infer(env, "bb.div", {a[0], a[3]})) == Shape{4, 1, 3});
  // Size 1 stretches to size 0.
  CHECK(shapeOf(infer(env, "bb.pow", {a[5], a[6]})) == Shape{0});
  // The element type is kept.
  CHECK(infer(env, "bb.add", {a[7], a[7]}).type ==
        env.t({3}, env.builder.getF16Type()));

  requireError(infer(env, "bb.add", {a[3], a[4]}), "(C2)");
  requireError(infer(env, "bb.add", {a[0], a[4]}), "(C2)");
  requireError(infer(env, "bb.mul", {a[3], a[7]}), "(C1)");
}

TEST_CASE("compare broadcasts to an i1 tensor", "[infer][broadcast]") {
  TestEnv env;
  Type i64t = env.builder.getI64Type();
  auto a = env.args({env.t({2, 1}, i64t), env.t({3}, i64t), env.t({2}, i64t)});
  auto pred = env.builder.getNamedAttr(
      "predicate", ComparePredicateAttr::get(&env.ctx, ComparePredicate::eq));
  Inferred r = infer(env, "bb.compare", {a[0], a[1]}, {pred});
  CHECK(r.type == env.t({2, 3}, env.builder.getI1Type()));
  requireError(infer(env, "bb.compare", {a[1], a[2]}, {pred}), "(C2)");
}

TEST_CASE("select broadcasts all three operands", "[infer][broadcast]") {
  TestEnv env;
  Type i1 = env.builder.getI1Type();
  auto a = env.args({env.t({2, 1, 1}, i1), env.t({1, 3, 1}), env.t({4}),
                     env.t({4}, env.builder.getF16Type()), env.t({5})});
  CHECK(shapeOf(infer(env, "bb.select", {a[0], a[1], a[2]})) ==
        Shape{2, 3, 4});
  requireError(infer(env, "bb.select", {a[0], a[1], a[3]}), "(C1)");
  requireError(infer(env, "bb.select", {a[0], a[2], a[4]}), "(C2)");
}

TEST_CASE("matmul broadcasts batch dimensions", "[infer][broadcast]") {
  TestEnv env;
  auto a = env.args({env.t({2, 1, 8, 16}), env.t({5, 16, 4}), env.t({4, 16}),
                     env.t({3, 8, 16}), env.t({2, 16, 4})});
  CHECK(shapeOf(infer(env, "bb.matmul", {a[0], a[1]})) == Shape{2, 5, 8, 4});
  // [2,1,8,16] x [4,16]^T -> [2,1,8,4]
  CHECK(shapeOf(infer(env, "bb.matmul", {a[0], a[2]},
                      {unit(env, "transpose_rhs")})) == Shape{2, 1, 8, 4});
  // [5,16,4]^T x [4,16]^T -> [5,4,4]
  CHECK(shapeOf(infer(env, "bb.matmul", {a[1], a[2]},
                      {unit(env, "transpose_lhs"), unit(env, "transpose_rhs")})) ==
        Shape{5, 4, 4});
  requireError(infer(env, "bb.matmul", {a[0], a[2]}), "(C2)");
  requireError(infer(env, "bb.matmul", {a[3], a[4]}), "(C3)");
}

//===----------------------------------------------------------------------===//
// Convolution and pooling output sizes
//===----------------------------------------------------------------------===//

namespace {
Inferred conv(TestEnv &env, Value x, Value w, ArrayRef<int64_t> strides,
              ArrayRef<int64_t> pads, ArrayRef<int64_t> dilations,
              int64_t group = 1) {
  return infer(env, "bb.conv", {x, w},
               {arr(env, "strides", strides), arr(env, "pads", pads),
                arr(env, "dilations", dilations), i64(env, "group", group)});
}
} // namespace

TEST_CASE("conv output sizes", "[infer][conv]") {
  TestEnv env;
  auto a = env.args({env.t({1, 3, 32, 32}), env.t({16, 3, 3, 3}),
                     env.t({1, 3, 10, 10}), env.t({1, 8, 9, 9}),
                     env.t({8, 1, 3, 3}), env.t({1, 4, 10}), env.t({8, 4, 3}),
                     env.t({2, 4, 6, 6}), env.t({6, 2, 3, 3}),
                     env.t({1, 2, 5, 6, 7}), env.t({3, 2, 3, 3, 3})});
  SECTION("same padding, stride 1") {
    CHECK(shapeOf(conv(env, a[0], a[1], {1, 1}, {1, 1, 1, 1}, {1, 1})) ==
          Shape{1, 16, 32, 32});
  }
  SECTION("stride 2: floor((32 + 2 - 3) / 2) + 1 = 16") {
    CHECK(shapeOf(conv(env, a[0], a[1], {2, 2}, {1, 1, 1, 1}, {1, 1})) ==
          Shape{1, 16, 16, 16});
  }
  SECTION("stride 3 without padding: floor(29 / 3) + 1 = 10") {
    CHECK(shapeOf(conv(env, a[0], a[1], {3, 3}, {0, 0, 0, 0}, {1, 1})) ==
          Shape{1, 16, 10, 10});
  }
  SECTION("dilation 2: the kernel spans 5, 32 - 5 + 1 = 28") {
    CHECK(shapeOf(conv(env, a[0], a[1], {1, 1}, {0, 0, 0, 0}, {2, 2})) ==
          Shape{1, 16, 28, 28});
  }
  SECTION("asymmetric pads: begins then ends") {
    // H: 10 + 0 + 2 - 3 + 1 = 10, W: 10 + 1 + 3 - 3 + 1 = 12
    CHECK(shapeOf(conv(env, a[2], a[1], {1, 1}, {0, 1, 2, 3}, {1, 1})) ==
          Shape{1, 16, 10, 12});
  }
  SECTION("depthwise: group = C") {
    CHECK(shapeOf(conv(env, a[3], a[4], {1, 1}, {0, 0, 0, 0}, {1, 1}, 8)) ==
          Shape{1, 8, 7, 7});
    requireError(conv(env, a[3], a[4], {1, 1}, {0, 0, 0, 0}, {1, 1}, 1),
                 "(C3)");
  }
  SECTION("two groups: F from the weight, C / group from its dim 1") {
    CHECK(shapeOf(conv(env, a[7], a[8], {2, 2}, {1, 1, 1, 1}, {1, 1}, 2)) ==
          Shape{2, 6, 3, 3});
    requireError(conv(env, a[7], a[8], {2, 2}, {1, 1, 1, 1}, {1, 1}, 4),
                 "(C3)");
  }
  SECTION("1-d: floor((10 - 3) / 3) + 1 = 3") {
    CHECK(shapeOf(conv(env, a[5], a[6], {3}, {0, 0}, {1})) == Shape{1, 8, 3});
  }
  SECTION("3-d, mixed strides and dilations") {
    // D: 5 - 3 + 1 = 3; H: 6 + 2 - 3 = 5, /2 -> 2 + 1 = 3; W: 7 - 5 + 1 = 3
    CHECK(shapeOf(conv(env, a[9], a[10], {1, 2, 1}, {0, 1, 0, 0, 1, 0},
                       {1, 1, 2})) == Shape{1, 3, 3, 3, 3});
  }
  SECTION("errors") {
    requireError(conv(env, a[0], a[1], {1}, {0, 0, 0, 0}, {1, 1}), "(C2)");
    requireError(conv(env, a[0], a[1], {1, 1}, {0, 0, 0, 0}, {0, 1}), "(C2)");
    requireError(conv(env, a[5], a[1], {1}, {0, 0}, {1}), "(C1)");
    // dilation 20: the kernel spans 41 > 32 + 2
    requireError(conv(env, a[0], a[1], {1, 1}, {1, 1, 1, 1}, {20, 20}), "(C5)");
  }
}

namespace {
Inferred pool(TestEnv &env, StringRef name, Value x, ArrayRef<int64_t> kernel,
              ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
              bool ceilMode = false) {
  SmallVector<NamedAttribute> attrs = {arr(env, "kernel_shape", kernel),
                                       arr(env, "strides", strides),
                                       arr(env, "pads", pads)};
  if (ceilMode)
    attrs.push_back(unit(env, "ceil_mode"));
  return infer(env, name, {x}, attrs);
}
} // namespace

TEST_CASE("pooling output sizes and ceil_mode", "[infer][pool]") {
  TestEnv env;
  auto a = env.args({env.t({1, 1, 7, 7}), env.t({1, 1, 6, 6}),
                     env.t({1, 1, 5, 5}), env.t({1, 64, 112, 112}),
                     env.t({2, 3, 9})});
  SECTION("floor versus ceil") {
    // floor((7 - 2) / 2) + 1 = 3; ceil gives 4 (last window starts at 6).
    CHECK(shapeOf(pool(env, "bb.max_pool", a[0], {2, 2}, {2, 2},
                       {0, 0, 0, 0})) == Shape{1, 1, 3, 3});
    CHECK(shapeOf(pool(env, "bb.max_pool", a[0], {2, 2}, {2, 2},
                       {0, 0, 0, 0}, true)) == Shape{1, 1, 4, 4});
    CHECK(shapeOf(pool(env, "bb.avg_pool", a[2], {2, 2}, {2, 2},
                       {0, 0, 0, 0}, true)) == Shape{1, 1, 3, 3});
  }
  SECTION("ceil_mode drops a window that starts in the end padding") {
    // 6 + 1 end pad: ceil((7 - 2) / 2) + 1 = 4, but the 4th window would
    // start at 6, in the padding; so 3 in H. W has no padding: 3.
    CHECK(shapeOf(pool(env, "bb.max_pool", a[1], {2, 2}, {2, 2},
                       {0, 0, 1, 0}, true)) == Shape{1, 1, 3, 3});
  }
  SECTION("ResNet stem: 112, kernel 3, stride 2, pad 1 -> 56") {
    CHECK(shapeOf(pool(env, "bb.max_pool", a[3], {3, 3}, {2, 2},
                       {1, 1, 1, 1})) == Shape{1, 64, 56, 56});
  }
  SECTION("global average pool") {
    CHECK(shapeOf(pool(env, "bb.avg_pool", a[0], {7, 7}, {1, 1},
                       {0, 0, 0, 0})) == Shape{1, 1, 1, 1});
  }
  SECTION("1-d") {
    CHECK(shapeOf(pool(env, "bb.avg_pool", a[4], {3}, {3}, {0, 0})) ==
          Shape{2, 3, 3});
  }
  SECTION("errors") {
    requireError(pool(env, "bb.max_pool", a[0], {8, 8}, {1, 1}, {0, 0, 0, 0}),
                 "(C3)");
    requireError(pool(env, "bb.max_pool", a[0], {2, 2}, {1, 1}, {2, 0, 0, 0}),
                 "(C2)");
    requireError(pool(env, "bb.avg_pool", a[0], {2}, {1, 1}, {0, 0, 0, 0}),
                 "(C2)");
  }
}

//===----------------------------------------------------------------------===//
// Reductions, gather, slice
//===----------------------------------------------------------------------===//

TEST_CASE("reductions with and without keepdims", "[infer][reduce]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3, 4, 5})});
  auto reduce = [&](StringRef name, ArrayRef<int64_t> axes, bool keep) {
    SmallVector<NamedAttribute> attrs = {arr(env, "axes", axes)};
    if (keep)
      attrs.push_back(unit(env, "keepdims"));
    return infer(env, name, {a[0]}, attrs);
  };
  CHECK(shapeOf(reduce("bb.reduce_sum", {1, 3}, true)) == Shape{2, 1, 4, 1});
  CHECK(shapeOf(reduce("bb.reduce_sum", {1, 3}, false)) == Shape{2, 4});
  CHECK(shapeOf(reduce("bb.reduce_mean", {0}, false)) == Shape{3, 4, 5});
  CHECK(shapeOf(reduce("bb.reduce_max", {3}, true)) == Shape{2, 3, 4, 1});
  // All axes: a rank-0 result, or all ones.
  CHECK(shapeOf(reduce("bb.reduce_max", {0, 1, 2, 3}, false)) == Shape{});
  CHECK(shapeOf(reduce("bb.reduce_mean", {0, 1, 2, 3}, true)) ==
        Shape{1, 1, 1, 1});
  // No axes: nothing reduced.
  CHECK(shapeOf(reduce("bb.reduce_sum", {}, false)) == Shape{2, 3, 4, 5});
  requireError(reduce("bb.reduce_sum", {3, 1}, false), "(C1)");
  requireError(reduce("bb.reduce_sum", {4}, false), "(C1)");
  requireError(reduce("bb.reduce_sum", {-1}, true), "(C1)");
}

TEST_CASE("gather replaces the axis by the indices' shape", "[infer][gather]") {
  TestEnv env;
  Type idx64 = env.builder.getI64Type(), idx32 = env.builder.getI32Type();
  auto a = env.args({env.t({256, 64}), env.t({2, 16}, idx64),
                     env.t({4, 5, 6}), env.t({}, idx32), env.t({3}, idx32)});
  auto gather = [&](Value data, Value indices, int64_t axis) {
    return infer(env, "bb.gather", {data, indices}, {i64(env, "axis", axis)});
  };
  CHECK(shapeOf(gather(a[0], a[1], 0)) == Shape{2, 16, 64});
  // A scalar index removes the axis.
  CHECK(shapeOf(gather(a[2], a[3], 1)) == Shape{4, 6});
  CHECK(shapeOf(gather(a[2], a[4], 2)) == Shape{4, 5, 3});
  CHECK(shapeOf(gather(a[2], a[1], 1)) == Shape{4, 2, 16, 6});
  // The default axis is 0.
  CHECK(shapeOf(infer(env, "bb.gather", {a[0], a[4]})) == Shape{3, 64});
  requireError(gather(a[0], a[1], 2), "(C1)");
  requireError(gather(a[0], a[1], -1), "(C1)");
}

TEST_CASE("slice sizes, including negative strides", "[infer][slice]") {
  TestEnv env;
  auto a = env.args({env.t({10}), env.t({4, 6})});
  auto slice = [&](Value x, ArrayRef<int64_t> starts, ArrayRef<int64_t> limits,
                   ArrayRef<int64_t> strides) {
    return infer(env, "bb.slice", {x},
                 {arr(env, "starts", starts), arr(env, "limits", limits),
                  arr(env, "strides", strides)});
  };
  // Reverse all: 9, 8, ..., 0.
  CHECK(shapeOf(slice(a[0], {9}, {-1}, {-1})) == Shape{10});
  // 9, 6, 3, 0
  CHECK(shapeOf(slice(a[0], {9}, {-1}, {-3})) == Shape{4});
  // 8, 6, 4 (2 excluded)
  CHECK(shapeOf(slice(a[0], {8}, {2}, {-2})) == Shape{3});
  // 1, 4, 7
  CHECK(shapeOf(slice(a[0], {1}, {10}, {3})) == Shape{3});
  // 1, 4, 7 with limit 8: still 3; limit 7: 2
  CHECK(shapeOf(slice(a[0], {1}, {8}, {3})) == Shape{3});
  CHECK(shapeOf(slice(a[0], {1}, {7}, {3})) == Shape{2});
  // Empty.
  CHECK(shapeOf(slice(a[0], {5}, {5}, {1})) == Shape{0});
  CHECK(shapeOf(slice(a[0], {5}, {5}, {-1})) == Shape{0});
  CHECK(shapeOf(slice(a[1], {3, 0}, {-1, 6}, {-2, 4})) == Shape{2, 2});
  requireError(slice(a[0], {0}, {11}, {1}), "(C2)");
  requireError(slice(a[0], {10}, {0}, {-1}), "(C2)");
  requireError(slice(a[0], {0}, {10}, {0}), "(C2)");
  requireError(slice(a[1], {0}, {4}, {1}), "(C1)");
}

//===----------------------------------------------------------------------===//
// Other shape-computing ops
//===----------------------------------------------------------------------===//

TEST_CASE("transpose, concat, normalization", "[infer]") {
  TestEnv env;
  auto a = env.args({env.t({2, 3, 4}), env.t({2, 5, 4}), env.t({2, 1, 4}),
                     env.t({3, 4}), env.t({3})});
  CHECK(shapeOf(infer(env, "bb.transpose", {a[0]},
                      {arr(env, "permutation", {2, 0, 1})})) == Shape{4, 2, 3});
  CHECK(shapeOf(infer(env, "bb.concat", {a[0], a[1], a[2]},
                      {i64(env, "axis", 1)})) == Shape{2, 9, 4});
  requireError(infer(env, "bb.concat", {a[0], a[1]}, {i64(env, "axis", 0)}),
               "(C3)");
  CHECK(shapeOf(infer(env, "bb.layer_norm", {a[0], a[3]},
                      {i64(env, "axis", -2)})) == Shape{2, 3, 4});
  requireError(infer(env, "bb.layer_norm", {a[0], a[4]}, {i64(env, "axis", -2)}),
               "(C2)");
  CHECK(shapeOf(infer(env, "bb.batch_norm", {a[0], a[4], a[4], a[4], a[4]})) ==
        Shape{2, 3, 4});
}
