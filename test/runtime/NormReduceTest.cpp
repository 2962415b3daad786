// batchNorm, layerNorm, softmax and reductions against naive loops.
#include "TestUtil.h"

#include <limits>

using namespace bbrt;
using namespace bbrt::test;

TEST_CASE("batchNorm", "[norm]") {
  HostTensor x = random(DType::F32, {2, 3, 4, 5}, -3, 3);
  HostTensor sc = random(DType::F32, {3}), bi = random(DType::F32, {3});
  HostTensor mu = random(DType::F32, {3}), var = random(DType::F32, {3}, 0.1, 2);
  HostTensor y = zeros(DType::F32, x.shape);
  batchNorm(x.view(), sc.view(), bi.view(), mu.view(), var.view(), y.view(), 1e-5f);
  std::vector<double> want;
  for (int64_t i = 0; i < x.shape.numel(); ++i) {
    int64_t c = (i / 20) % 3;
    want.push_back((at(x, i) - at(mu, c)) / std::sqrt(at(var, c) + double(1e-5f)) * at(sc, c) +
                   at(bi, c));
  }
  requireClose(y, want, 1e-5, 1e-5);
}

namespace {

void checkLayerNorm(const Dims &xs, int64_t axis, bool bias, double offset) {
  HostTensor x = random(DType::F32, xs, offset - 2, offset + 2);
  int64_t a = axis < 0 ? axis + xs.rank : axis;
  int64_t D = 1;
  for (int i = static_cast<int>(a); i < xs.rank; ++i)
    D *= xs.d[i];
  HostTensor sc = random(DType::F32, Dims(xs.d + a, xs.rank - static_cast<int>(a)));
  HostTensor bi = random(DType::F32, sc.shape);
  HostTensor y = zeros(DType::F32, xs);
  layerNorm(x.view(), sc.view(), bias ? bi.view() : none(), y.view(), axis, 1e-5f);
  std::vector<double> want;
  for (int64_t r = 0; r < xs.numel() / D; ++r) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < D; ++i)
      m += at(x, r * D + i);
    m /= double(D);
    for (int64_t i = 0; i < D; ++i)
      v += (at(x, r * D + i) - m) * (at(x, r * D + i) - m);
    v /= double(D);
    for (int64_t i = 0; i < D; ++i)
      want.push_back((at(x, r * D + i) - m) / std::sqrt(v + double(1e-5f)) * at(sc, i) +
                     (bias ? at(bi, i) : 0));
  }
  INFO("x " << formatDims(xs) << " axis " << axis << " offset " << offset);
  requireClose(y, want, 2e-4, 2e-4);
}

} // namespace

TEST_CASE("layerNorm over trailing dims", "[norm]") {
  checkLayerNorm({4, 16}, -1, true, 0);
  checkLayerNorm({2, 3, 8}, 2, false, 0);
  checkLayerNorm({2, 3, 8}, 1, true, 0);
  checkLayerNorm({64, 768}, -1, true, 0); // threads
  // a large common offset: a one-pass float variance would lose it all
  checkLayerNorm({4, 64}, -1, true, 1000.0);
  // row lengths around the 8-lane vectors
  for (int64_t d : {1, 7, 9, 13, 100})
    checkLayerNorm({5, d}, -1, d % 2 == 1, 0);
}

namespace {

void checkSoftmax(const Dims &xs, int64_t axis, bool log, double lo, double hi) {
  HostTensor x = random(DType::F32, xs, lo, hi);
  HostTensor y = zeros(DType::F32, xs);
  softmax(x.view(), y.view(), axis, log);
  int64_t a = axis < 0 ? axis + xs.rank : axis;
  int64_t outer = 1, inner = 1, A = xs.d[a];
  for (int i = 0; i < a; ++i)
    outer *= xs.d[i];
  for (int i = static_cast<int>(a) + 1; i < xs.rank; ++i)
    inner *= xs.d[i];
  std::vector<double> want(static_cast<size_t>(xs.numel()));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      double m = -1e300, s = 0;
      for (int64_t j = 0; j < A; ++j)
        m = std::max(m, at(x, (o * A + j) * inner + in));
      for (int64_t j = 0; j < A; ++j)
        s += std::exp(at(x, (o * A + j) * inner + in) - m);
      for (int64_t j = 0; j < A; ++j) {
        double v = at(x, (o * A + j) * inner + in) - m;
        want[(o * A + j) * inner + in] = log ? v - std::log(s) : std::exp(v) / s;
      }
    }
  INFO("x " << formatDims(xs) << " axis " << axis << " log " << log);
  requireClose(y, want, 1e-6, 1e-4);
  for (int64_t i = 0; i < xs.numel(); ++i)
    REQUIRE(std::isfinite(at(y, i)));
}

} // namespace

TEST_CASE("softmax and log-softmax are max-subtracted", "[softmax]") {
  for (bool log : {false, true}) {
    checkSoftmax({3, 10}, 1, log, -3, 3);
    checkSoftmax({3, 10}, -1, log, 1000, 1100); // exp would overflow
    checkSoftmax({3, 10}, 0, log, -1100, -1000);
    checkSoftmax({2, 5, 7, 3}, 1, log, -50, 50);
    checkSoftmax({2, 300, 600}, 1, log, -10, 10); // strided, chunked
    checkSoftmax({128, 512}, 1, log, 500, 600);   // threads
    for (int64_t a : {1, 7, 9, 16, 33})            // row lengths around 8 lanes
      checkSoftmax({3, a}, 1, log, -20, 20);
  }
  // a masked row: -inf entries get exactly zero probability
  float x[4] = {1.f, -std::numeric_limits<float>::infinity(), 2.f, -1e30f};
  float y[4];
  softmax(Tensor(x, DType::F32, {1, 4}), Tensor(y, DType::F32, {1, 4}), 1, false);
  CHECK(y[1] == 0.f);
  CHECK(y[3] == 0.f);
  CHECK(std::fabs(y[0] + y[2] - 1.f) < 1e-6f);
}

namespace {

double refReduce(ReduceKind k, const std::vector<double> &v) {
  double r = k == ReduceKind::Prod ? 1 : (k == ReduceKind::Max ? -1e300 : (k == ReduceKind::Min ? 1e300 : 0));
  for (double x : v) {
    if (k == ReduceKind::Sum || k == ReduceKind::Mean) r += x;
    else if (k == ReduceKind::Prod) r *= x;
    else if (k == ReduceKind::Max) r = std::max(r, x);
    else r = std::min(r, x);
  }
  if (k == ReduceKind::Mean)
    r /= double(v.size());
  return r;
}

void checkReduce(ReduceKind k, DType dt, const Dims &xs, const std::vector<int64_t> &axes) {
  HostTensor x = random(dt, xs, k == ReduceKind::Prod ? 0.5 : -5, k == ReduceKind::Prod ? 1.5 : 5);
  bool red[kMaxRank] = {};
  for (int64_t a : axes)
    red[a] = true;
  int64_t kd[kMaxRank];
  int nk = 0;
  for (int i = 0; i < xs.rank; ++i)
    kd[nk++] = red[i] ? 1 : xs.d[i]; // keepdims form
  Dims os(kd, nk);
  HostTensor y = zeros(dt, os);
  reduce(k, x.view(), y.view(), Dims(axes.data(), static_cast<int>(axes.size())));
  std::vector<std::vector<double>> groups(static_cast<size_t>(os.numel()));
  int64_t idx[kMaxRank], ost[kMaxRank];
  strides(os, ost);
  for (int64_t i = 0; i < xs.numel(); ++i) {
    unravel(xs, i, idx);
    int64_t o = 0;
    for (int d = 0; d < xs.rank; ++d)
      o += (red[d] ? 0 : idx[d]) * ost[d];
    groups[o].push_back(at(x, i));
  }
  std::vector<double> want;
  for (auto &g : groups) {
    double r = refReduce(k, g);
    if (dt == DType::I64 && k == ReduceKind::Mean)
      r = double(int64_t(refReduce(ReduceKind::Sum, g)) / int64_t(g.size()));
    want.push_back(r);
  }
  INFO("kind " << int(k) << " x " << formatDims(xs) << " axes " << axes.size());
  requireClose(y, want, 1e-4, 1e-5);
}

} // namespace

TEST_CASE("reduce over several axes", "[reduce]") {
  const std::vector<std::vector<int64_t>> axesList = {{0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1}, {0, 1, 2}, {}};
  for (ReduceKind k : {ReduceKind::Sum, ReduceKind::Mean, ReduceKind::Max, ReduceKind::Min,
                       ReduceKind::Prod})
    for (const auto &axes : axesList)
      checkReduce(k, DType::F32, {3, 4, 5}, axes);
  checkReduce(ReduceKind::Sum, DType::F32, {2, 3, 4, 5}, {1, 3});
  checkReduce(ReduceKind::Max, DType::F32, {2, 3, 4, 5}, {0, 2});
  checkReduce(ReduceKind::Mean, DType::F32, {2, 1, 4, 5}, {1, 2});
  checkReduce(ReduceKind::Mean, DType::F32, {8, 64, 32, 32}, {2, 3}); // global avg pool
  checkReduce(ReduceKind::Sum, DType::F32, {64, 300, 20}, {1});
  checkReduce(ReduceKind::Mean, DType::F32, {2, 96, 8, 8}, {2, 3});
  checkReduce(ReduceKind::Sum, DType::F32, {100, 13}, {1});
  checkReduce(ReduceKind::Sum, DType::F32, {300, 1000}, {1}); // threads
  checkReduce(ReduceKind::Sum, DType::F64, {3, 4, 5}, {0, 2});
  // per-channel (batch norm and conv bias gradients), also across threads
  checkReduce(ReduceKind::Sum, DType::F32, {8, 16, 32, 32}, {0, 2, 3});
  checkReduce(ReduceKind::Mean, DType::F32, {4, 5, 7}, {0, 2});
  checkReduce(ReduceKind::Sum, DType::F32, {64, 96, 8, 8}, {0, 2, 3});
  checkReduce(ReduceKind::Max, DType::F32, {2, 3, 4, 5}, {0, 2, 3});
  for (const auto &axes : axesList) {
    checkReduce(ReduceKind::Sum, DType::I64, {3, 4, 5}, axes);
    checkReduce(ReduceKind::Max, DType::I64, {3, 4, 5}, axes);
    checkReduce(ReduceKind::Max, DType::I32, {3, 4, 5}, axes);
    checkReduce(ReduceKind::Mean, DType::I64, {3, 4, 5}, axes);
  }
}

TEST_CASE("reduce Sum accumulates in double", "[reduce]") {
  HostTensor x = zeros(DType::F32, {1 << 20});
  for (int64_t i = 0; i < (1 << 20); ++i)
    ptr<float>(x)[i] = i == 0 ? 1e8f : 1.f;
  float out;
  reduce(ReduceKind::Sum, x.view(), Tensor(&out, DType::F32, {}), {0});
  CHECK(out == float(1e8 + (1 << 20) - 1));
}

TEST_CASE("reduce Bool any/all and errors", "[reduce]") {
  uint8_t b[6] = {0, 0, 1, 1, 1, 1}, o[2];
  reduce(ReduceKind::Max, Tensor(b, DType::Bool, {2, 3}), Tensor(o, DType::Bool, {2}), {1});
  CHECK(o[0] == 1);
  CHECK(o[1] == 1);
  reduce(ReduceKind::Min, Tensor(b, DType::Bool, {2, 3}), Tensor(o, DType::Bool, {2}), {1});
  CHECK(o[0] == 0);
  CHECK(o[1] == 1);
  float x[6] = {}, y[6] = {};
  REQUIRE_THROWS_WITH(reduce(ReduceKind::Sum, Tensor(x, DType::F32, {2, 3}), Tensor(y, DType::F32, {2}), {1, 0}),
                      Catch::Contains("axes must be sorted"));
  REQUIRE_THROWS_WITH(reduce(ReduceKind::Sum, Tensor(x, DType::F32, {2, 3}), Tensor(y, DType::F32, {3}), {1}),
                      Catch::Contains("does not hold the kept dims"));
}

namespace {

/// layerNormGrad against the formula in double (rows of D, `rows` of them),
/// and the same bits on 1 and 2 threads.
void checkLayerNormGrad(int64_t rows, int64_t D, double offset) {
  HostTensor x = random(DType::F32, {rows, D}, offset - 2, offset + 2);
  HostTensor sc = random(DType::F32, {D}, 0.5, 1.5), dy = random(DType::F32, {rows, D});
  const float eps = 1e-5f;
  std::vector<double> wantDx(rows * D), wantDs(D, 0.0), wantDb(D, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < D; ++i)
      mean += at(x, r * D + i);
    mean /= D;
    for (int64_t i = 0; i < D; ++i)
      var += (at(x, r * D + i) - mean) * (at(x, r * D + i) - mean);
    const double rstd = 1 / std::sqrt(var / D + eps);
    double m1 = 0, m2 = 0;
    for (int64_t i = 0; i < D; ++i) {
      const double xhat = (at(x, r * D + i) - mean) * rstd, g = at(dy, r * D + i) * at(sc, i);
      m1 += g / D;
      m2 += g * xhat / D;
      wantDs[i] += at(dy, r * D + i) * xhat;
      wantDb[i] += at(dy, r * D + i);
    }
    for (int64_t i = 0; i < D; ++i) {
      const double xhat = (at(x, r * D + i) - mean) * rstd;
      wantDx[r * D + i] = rstd * (at(dy, r * D + i) * at(sc, i) - m1 - xhat * m2);
    }
  }
  HostTensor dx[2], ds[2], db[2];
  for (int threads : {1, 2}) {
    Threads t(threads);
    HostTensor &a = dx[threads - 1], &b = ds[threads - 1], &c = db[threads - 1];
    a = zeros(DType::F32, {rows, D});
    b = zeros(DType::F32, {D});
    c = zeros(DType::F32, {D});
    layerNormGrad(x.view(), sc.view(), dy.view(), a.view(), b.view(), c.view(), -1, eps);
  }
  INFO("rows " << rows << " D " << D << " offset " << offset);
  requireClose(dx[0], wantDx, 1e-5, 1e-4);
  requireClose(ds[0], wantDs, 1e-4, 1e-5);
  requireClose(db[0], wantDb, 1e-4, 1e-5);
  for (int64_t i = 0; i < rows * D; ++i)
    REQUIRE(at(dx[0], i) == at(dx[1], i));
  for (int64_t i = 0; i < D; ++i) {
    REQUIRE(at(ds[0], i) == at(ds[1], i));
    REQUIRE(at(db[0], i) == at(db[1], i));
  }
}

} // namespace

TEST_CASE("layerNormGrad: the formula, the same on any thread count", "[norm]") {
  checkLayerNormGrad(5, 7, 0);        // one block, odd row length
  checkLayerNormGrad(200, 384, 0);    // several blocks of 64 rows, threads
  checkLayerNormGrad(70, 64, 1000.0); // a large common offset
  HostTensor x = random(DType::F32, {4, 8}), sc = random(DType::F32, {8});
  HostTensor dx = zeros(DType::F32, {4, 8}), ds = zeros(DType::F32, {7}),
             db = zeros(DType::F32, {8});
  REQUIRE_THROWS_WITH(layerNormGrad(x.view(), sc.view(), x.view(), dx.view(),
                                    ds.view(), db.view(), -1, 1e-5f),
                      "layerNormGrad: scale gradient has 7 elements, the "
                      "normalized dims 8");
}
