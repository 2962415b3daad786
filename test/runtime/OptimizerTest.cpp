// sgdUpdate and adamwUpdate against naive loops, out of place and in place.
#include "TestUtil.h"

#include <cmath>

using namespace bbrt;
using namespace bbrt::test;

namespace {

HostTensor scalar(float v) {
  HostTensor t(DType::F32, Dims());
  *ptr<float>(t) = v;
  return t;
}

HostTensor copyOf(const HostTensor &t) {
  HostTensor c(t.dtype, t.shape);
  std::memcpy(c.data(), t.data(), static_cast<size_t>(t.nbytes()));
  return c;
}

bool sameBits(const HostTensor &a, const HostTensor &b) {
  return std::memcmp(a.data(), b.data(), static_cast<size_t>(a.nbytes())) == 0;
}

struct SgdCase {
  float momentum, weightDecay;
  bool nesterov;
};

} // namespace

TEST_CASE("sgdUpdate", "[optimizer]") {
  // 37: vector tails; 140001: above the parallel threshold.
  for (int64_t n : {int64_t(37), int64_t(140001)})
    for (SgdCase c : {SgdCase{0.9f, 0.f, false}, SgdCase{0.9f, 0.01f, true},
                      SgdCase{0.f, 0.1f, false}}) {
      INFO("n " << n << " momentum " << c.momentum << " wd " << c.weightDecay
                << " nesterov " << c.nesterov);
      HostTensor p = random(DType::F32, {n}), b = random(DType::F32, {n});
      HostTensor lr = scalar(0.05f), gs = scalar(0.5f);
      HostTensor p0 = copyOf(p), b0 = copyOf(b);
      std::vector<double> wantP, wantB;
      // Three steps in place (as the compiler updates states), checked against
      // a naive double loop and against the same steps out of place.
      HostTensor po(DType::F32, p.shape), bo(DType::F32, p.shape);
      for (int step = 0; step < 3; ++step) {
        HostTensor g = random(DType::F32, {n});
        wantP.assign(static_cast<size_t>(n), 0);
        wantB.assign(static_cast<size_t>(n), 0);
        for (int64_t i = 0; i < n; ++i) {
          double gi = at(g, i) * 0.5 + double(c.weightDecay) * at(p, i);
          double bi = double(c.momentum) * at(b, i) + gi;
          wantB[i] = bi;
          wantP[i] = at(p, i) - double(0.05f) * (c.nesterov ? gi + double(c.momentum) * bi : bi);
        }
        sgdUpdate(p0.view(), g.view(), b0.view(), lr.view(), gs.view(), po.view(), bo.view(),
                  c.momentum, c.weightDecay, c.nesterov);
        sgdUpdate(p.view(), g.view(), b.view(), lr.view(), gs.view(), p.view(), b.view(), c.momentum,
                  c.weightDecay, c.nesterov);
        requireClose(p, wantP, 1e-6, 1e-5);
        requireClose(b, wantB, 1e-6, 1e-5);
        CHECK(sameBits(p, po));
        CHECK(sameBits(b, bo));
        p0 = copyOf(p);
        b0 = copyOf(b);
      }
    }
}

TEST_CASE("adamwUpdate", "[optimizer]") {
  const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, wd = 0.01f;
  for (int64_t n : {int64_t(37), int64_t(5003)}) {
    INFO("n " << n);
    HostTensor p = random(DType::F32, {n}, -2, 2);
    HostTensor m(DType::F32, p.shape), v(DType::F32, p.shape); // zeros, as created
    HostTensor lr = scalar(1e-2f), gs = scalar(0.25f);
    HostTensor po(DType::F32, p.shape), mo(DType::F32, p.shape), vo(DType::F32, p.shape);
    for (int t = 1; t <= 4; ++t) {
      HostTensor g = random(DType::F32, {n}, -3, 3);
      HostTensor step = scalar(float(t));
      std::vector<double> wantP(n), wantM(n), wantV(n);
      const double bc1 = 1 - std::pow(double(beta1), t), bc2 = 1 - std::pow(double(beta2), t);
      for (int64_t i = 0; i < n; ++i) {
        double gi = at(g, i) * 0.25;
        double mi = double(beta1) * at(m, i) + (1 - double(beta1)) * gi;
        double vi = double(beta2) * at(v, i) + (1 - double(beta2)) * gi * gi;
        double pi = at(p, i) * (1 - double(1e-2f) * wd);
        wantP[i] = pi - double(1e-2f) / bc1 * mi / (std::sqrt(vi) / std::sqrt(bc2) + double(eps));
        wantM[i] = mi;
        wantV[i] = vi;
      }
      adamwUpdate(p.view(), g.view(), m.view(), v.view(), lr.view(), step.view(), gs.view(), po.view(),
                  mo.view(), vo.view(), beta1, beta2, eps, wd);
      adamwUpdate(p.view(), g.view(), m.view(), v.view(), lr.view(), step.view(), gs.view(), p.view(),
                  m.view(), v.view(), beta1, beta2, eps, wd);
      CHECK(sameBits(p, po));
      CHECK(sameBits(m, mo));
      CHECK(sameBits(v, vo));
      requireClose(p, wantP, 1e-6, 1e-5);
      requireClose(m, wantM, 1e-7, 1e-5);
      requireClose(v, wantV, 1e-9, 1e-5);
    }
  }
}

TEST_CASE("optimizer kernels check their operands", "[optimizer]") {
  HostTensor p = random(DType::F32, {4}), g = random(DType::F32, {4}), b = random(DType::F32, {4});
  HostTensor lr = scalar(0.1f), one = scalar(1.f), step0 = scalar(0.f);
  HostTensor wrong = random(DType::F32, {5}), vec = random(DType::F32, {2});
  HostTensor ints(DType::I32, {4});
  REQUIRE_THROWS_WITH(sgdUpdate(p.view(), wrong.view(), b.view(), lr.view(), one.view(), p.view(), b.view(),
                                0.9f, 0, false),
                      Catch::Contains("sgdUpdate: grad has shape 5, the parameter 4"));
  REQUIRE_THROWS_WITH(sgdUpdate(p.view(), g.view(), b.view(), vec.view(), one.view(), p.view(), b.view(),
                                0.9f, 0, false),
                      Catch::Contains("sgdUpdate: lr must be an f32 scalar, got 2"));
  REQUIRE_THROWS_WITH(sgdUpdate(ints.view(), g.view(), b.view(), lr.view(), one.view(), p.view(), b.view(),
                                0.9f, 0, false),
                      Catch::Contains("sgdUpdate: param has dtype i32, expected f32"));
  REQUIRE_THROWS_WITH(adamwUpdate(p.view(), g.view(), b.view(), b.view(), lr.view(), step0.view(), one.view(),
                                  p.view(), b.view(), b.view(), 0.9f, 0.999f, 1e-8f, 0),
                      Catch::Contains("adamwUpdate: step 0 is not a 1-based step number"));
}
