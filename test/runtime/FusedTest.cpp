// The fused elementwise kernel (bbrt/fused.h) against naive loops: inputs of
// the output's shape, broadcast along the last dimension, along the rows,
// scalars; the merged dimensions of its plan; and its errors.
#include "TestUtil.h"

#include "bbrt/fused.h"

using namespace bbrt;
using namespace bbrt::test;

namespace {

BBRT_FUSED float body(float a, float b, float c) {
  return bbrt::fused::exp(a) * b - c;
}

/// body(a, b, c) at every element of `out`'s shape, inputs broadcast.
std::vector<double> reference(const HostTensor &a, const HostTensor &b,
                              const HostTensor &c, const Dims &out) {
  int64_t idx[kMaxRank];
  std::vector<double> want;
  for (int64_t i = 0; i < out.numel(); ++i) {
    unravel(out, i, idx);
    auto v = [&](const HostTensor &t) {
      return at(t, bcastOffset(t.shape, idx, out.rank));
    };
    want.push_back(body(float(v(a)), float(v(b)), float(v(c))));
  }
  return want;
}

void check(const Dims &out, const Dims &a, const Dims &b, const Dims &c) {
  HostTensor x = random(DType::F32, a), y = random(DType::F32, b),
             z = random(DType::F32, c);
  HostTensor got = zeros(DType::F32, out);
  fusedElementwise<body>(got.view(), x.view(), y.view(), z.view());
  // The same function; the kernel's AVX2 clone may contract a * b + c into
  // an FMA where this file's baseline code does not: last bits only, but of
  // the product exp(a) * b (up to e), so up to an ulp of e (2.4e-7) apart
  // where the result cancels towards 0 (atol 1e-7 failed once the inputs
  // drawn changed: -0.00466497 against -0.00466508).
  requireClose(got, reference(x, y, z, out), 5e-7, 1e-6);
}

} // namespace

TEST_CASE("fusedElementwise broadcasts its inputs", "[fused]") {
  check({4, 33, 40}, {4, 33, 40}, {4, 33, 40}, {4, 33, 40}); // same shapes
  check({4, 33, 40}, {4, 33, 40}, {40}, {4, 33, 1});         // bias, row value
  check({4, 33, 40}, {}, {1, 33, 1}, {4, 1, 40});            // scalar, mixed
  check({2, 300, 700}, {2, 300, 700}, {700}, {2, 300, 1});   // parallel
  check({5}, {5}, {1}, {});
  check({}, {}, {}, {});
}

TEST_CASE("planFused merges dimensions every input allows", "[fused]") {
  HostTensor out = zeros(DType::F32, {4, 8, 16}), same = zeros(DType::F32, {4, 8, 16});
  HostTensor bias = zeros(DType::F32, {16}), row = zeros(DType::F32, {4, 8, 1});
  const Tensor both[] = {same.view(), same.view()};
  FusedPlan p = planFused(out.view(), both, 2);
  REQUIRE(p.rank == 1);
  CHECK(p.dims[0] == 512);
  const Tensor mixed[] = {same.view(), bias.view(), row.view()};
  p = planFused(out.view(), mixed, 3);
  REQUIRE(p.rank == 2);
  CHECK(p.dims[0] == 32);
  CHECK(p.dims[1] == 16);
  CHECK(p.strides[0][0] == 16);
  CHECK(p.strides[1][0] == 0);
  CHECK(p.strides[1][1] == 1);
  CHECK(p.strides[2][0] == 1);
  CHECK(p.strides[2][1] == 0);
}

TEST_CASE("fusedElementwise rejects inputs that do not broadcast", "[fused]") {
  HostTensor out = zeros(DType::F32, {4, 8}), bad = zeros(DType::F32, {3, 8});
  HostTensor ints = zeros(DType::I32, {4, 8});
  const Tensor in[] = {bad.view()};
  REQUIRE_THROWS_WITH(planFused(out.view(), in, 1),
                      "fusedElementwise: input 0 of shape 3x8 does not "
                      "broadcast to 4x8");
  const Tensor wrong[] = {ints.view()};
  REQUIRE_THROWS_WITH(planFused(out.view(), wrong, 1),
                      "fusedElementwise: input has dtype i32, expected f32");
}

namespace {

BBRT_FUSED float product(float a, float b) { return a * b; }

/// The sum (or mean) over `axes` of a * b on `shape`, by naive loops.
std::vector<double> reduceReference(const HostTensor &a, const HostTensor &b,
                                    const Dims &shape, const Dims &axes,
                                    bool mean, int64_t kept) {
  std::vector<double> want(static_cast<size_t>(kept), 0.0);
  int64_t idx[kMaxRank], reduced = 1;
  for (int i = 0; i < axes.rank; ++i)
    reduced *= shape.d[axes.d[i]];
  for (int64_t i = 0; i < shape.numel(); ++i) {
    unravel(shape, i, idx);
    int64_t o = 0;
    for (int d = 0; d < shape.rank; ++d) {
      bool summed = false;
      for (int j = 0; j < axes.rank; ++j)
        summed = summed || axes.d[j] == d;
      if (!summed)
        o = o * shape.d[d] + idx[d];
    }
    want[o] += at(a, bcastOffset(a.shape, idx, shape.rank)) *
               at(b, bcastOffset(b.shape, idx, shape.rank));
  }
  if (mean)
    for (double &w : want)
      w /= double(reduced);
  return want;
}

void checkReduce(const Dims &shape, const Dims &a, const Dims &b,
                 const Dims &axes, bool mean) {
  HostTensor x = random(DType::F32, a), y = random(DType::F32, b);
  int64_t kept = 1;
  for (int d = 0; d < shape.rank; ++d) {
    bool summed = false;
    for (int j = 0; j < axes.rank; ++j)
      summed = summed || axes.d[j] == d;
    kept *= summed ? 1 : shape.d[d];
  }
  HostTensor got = zeros(DType::F32, {kept});
  fusedReduce<product>(got.view(), shape, axes, mean, x.view(), y.view());
  requireClose(got, reduceReference(x, y, shape, axes, mean, kept), 1e-6, 1e-5);
}

} // namespace

TEST_CASE("fusedReduce sums over trailing, leading or all axes", "[fused]") {
  checkReduce({4, 33, 40}, {4, 33, 40}, {40}, {2}, false);       // rows
  checkReduce({4, 33, 40}, {4, 33, 40}, {4, 33, 1}, {1, 2}, true); // rows, mean
  checkReduce({4, 33, 40}, {4, 33, 40}, {40}, {0, 1}, false);    // columns
  checkReduce({4, 700, 300}, {4, 700, 300}, {300}, {0, 1}, true); // parallel
  checkReduce({3, 5000, 40}, {3, 5000, 40}, {}, {0, 1, 2}, false); // all
  checkReduce({7}, {7}, {1}, {0}, false);
}

TEST_CASE("fusedReduce rejects axes in the middle", "[fused]") {
  HostTensor x = zeros(DType::F32, {4, 8, 16}), out = zeros(DType::F32, {64});
  REQUIRE_THROWS_WITH(
      fusedReduce<product>(out.view(), Dims{4, 8, 16}, Dims{1}, false, x.view(),
                           x.view()),
      "fusedReduce: axes 1 of shape 4x8x16 are neither leading nor trailing");
}
