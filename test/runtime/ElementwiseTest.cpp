// Unary, binary, select, convert against naive loops.
#include "TestUtil.h"

#include <functional>
#include <limits>

using namespace bbrt;
using namespace bbrt::test;

namespace {

double refUnary(UnaryKind k, double x, double alpha, double beta) {
  switch (k) {
  case UnaryKind::Neg: return -x;
  case UnaryKind::Abs: return std::fabs(x);
  case UnaryKind::Sqrt: return std::sqrt(x);
  case UnaryKind::Exp: return std::exp(x);
  case UnaryKind::Log: return std::log(x);
  case UnaryKind::Erf: return std::erf(x);
  case UnaryKind::Tanh: return std::tanh(x);
  case UnaryKind::Sigmoid: return 1 / (1 + std::exp(-x));
  case UnaryKind::Relu: return x > 0 ? x : 0;
  case UnaryKind::HardSigmoid: return std::min(1.0, std::max(0.0, alpha * x + beta));
  case UnaryKind::HardSwish: return x * std::min(1.0, std::max(0.0, x / 6 + 0.5));
  case UnaryKind::Gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  case UnaryKind::GeluTanh:
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  case UnaryKind::Reciprocal: return 1 / x;
  case UnaryKind::Floor: return std::floor(x);
  case UnaryKind::Ceil: return std::ceil(x);
  case UnaryKind::Round: return std::nearbyint(x);
  case UnaryKind::Sign: return x > 0 ? 1 : (x < 0 ? -1 : 0);
  case UnaryKind::Sin: return std::sin(x);
  case UnaryKind::Cos: return std::cos(x);
  case UnaryKind::LeakyRelu: return x < 0 ? alpha * x : x;
  case UnaryKind::Clip: return std::min(beta, std::max(alpha, x));
  case UnaryKind::Softplus: return std::log1p(std::exp(x));
  case UnaryKind::Not: return x == 0;
  }
  return 0;
}

const UnaryKind kFloatUnary[] = {
    UnaryKind::Neg,        UnaryKind::Abs,       UnaryKind::Sqrt,
    UnaryKind::Exp,        UnaryKind::Log,       UnaryKind::Erf,
    UnaryKind::Tanh,       UnaryKind::Sigmoid,   UnaryKind::Relu,
    UnaryKind::HardSigmoid, UnaryKind::HardSwish, UnaryKind::Gelu,
    UnaryKind::GeluTanh,   UnaryKind::Reciprocal, UnaryKind::Floor,
    UnaryKind::Ceil,       UnaryKind::Round,     UnaryKind::Sign,
    UnaryKind::Sin,        UnaryKind::Cos,       UnaryKind::LeakyRelu,
    UnaryKind::Clip,       UnaryKind::Softplus};

} // namespace

TEST_CASE("unary float kinds match reference", "[unary]") {
  for (DType dt : {DType::F32, DType::F64}) {
    for (UnaryKind k : kFloatUnary) {
      bool positive = k == UnaryKind::Sqrt || k == UnaryKind::Log;
      // 160000 elements: above the parallel thresholds.
      HostTensor x = random(dt, {400, 400}, positive ? 0.01 : -6, 6);
      if (!positive) { // exact half-integers exercise Round's ties
        if (dt == DType::F32) {
          ptr<float>(x)[0] = 2.5f;
          ptr<float>(x)[1] = -0.5f;
          ptr<float>(x)[2] = 0.f;
        } else {
          ptr<double>(x)[0] = 2.5;
          ptr<double>(x)[1] = -0.5;
          ptr<double>(x)[2] = 0.;
        }
      }
      HostTensor y = zeros(dt, x.shape);
      float alpha = k == UnaryKind::Clip ? -0.5f : 0.2f;
      float beta = k == UnaryKind::Clip ? 0.75f : 0.5f;
      unary(k, x.view(), y.view(), alpha, beta);
      std::vector<double> want;
      for (double v : values(x))
        want.push_back(refUnary(k, v, alpha, beta));
      INFO("kind " << int(k) << " dtype " << dtypeName(dt));
      double tol = dt == DType::F32 ? 2e-6 : 1e-12;
      requireClose(y, want, tol, tol * 4);
    }
  }
}

TEST_CASE("unary f32 vectorized transcendentals: accuracy and special values", "[unary]") {
  // A dense sweep, relative error against double libm (the negative tail of
  // Gelu through erfc, where 1 + erf(x) cancels in double too).
  const int64_t n = 200001;
  HostTensor x = zeros(DType::F32, {n});
  for (int64_t i = 0; i < n; ++i)
    ptr<float>(x)[i] = float(-20.0 + 40.0 * double(i) / double(n - 1));
  struct K {
    UnaryKind kind;
    double rtol;
    std::function<double(double)> ref;
  } kinds[] = {
      {UnaryKind::Exp, 4e-7, [](double v) { return std::exp(v); }},
      {UnaryKind::Erf, 4e-7, [](double v) { return std::erf(v); }},
      {UnaryKind::Tanh, 4e-7, [](double v) { return std::tanh(v); }},
      {UnaryKind::Sigmoid, 4e-7, [](double v) { return 1 / (1 + std::exp(-v)); }},
      {UnaryKind::Gelu, 2e-5, [](double v) { return 0.5 * v * std::erfc(-v / std::sqrt(2.0)); }},
  };
  for (const K &k : kinds) {
    HostTensor y = zeros(DType::F32, {n});
    unary(k.kind, x.view(), y.view());
    double worst = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double w = k.ref(at(x, i)), g = at(y, i);
      if (std::fabs(w) < 1e-30) // below the float range
        continue;
      worst = std::max(worst, std::fabs(g - w) / std::fabs(w));
    }
    INFO("kind " << int(k.kind));
    CHECK(worst <= k.rtol);
  }
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  float xs[8] = {-inf, inf, nan, -200.f, 100.f, 0.f, -0.f, 88.7f};
  float ys[8];
  unary(UnaryKind::Exp, Tensor(xs, DType::F32, {8}), Tensor(ys, DType::F32, {8}));
  CHECK(ys[0] == 0.f);
  CHECK(ys[1] == inf);
  CHECK(std::isnan(ys[2]));
  CHECK(ys[3] == 0.f);
  CHECK(ys[4] == inf);
  CHECK(ys[5] == 1.f);
  CHECK(ys[6] == 1.f);
  CHECK(std::isfinite(ys[7]));
  for (UnaryKind k : {UnaryKind::Erf, UnaryKind::Tanh}) {
    unary(k, Tensor(xs, DType::F32, {8}), Tensor(ys, DType::F32, {8}));
    CHECK(ys[0] == -1.f);
    CHECK(ys[1] == 1.f);
    CHECK(std::isnan(ys[2]));
    CHECK(ys[5] == 0.f);
  }
  unary(UnaryKind::Gelu, Tensor(xs, DType::F32, {8}), Tensor(ys, DType::F32, {8}));
  CHECK(ys[1] == inf);
  CHECK(std::isnan(ys[2]));
  CHECK(ys[3] == 0.f);
  CHECK(ys[4] == 100.f);
  CHECK(ys[5] == 0.f);
}

TEST_CASE("unary sigmoid and softplus stay finite for large inputs", "[unary]") {
  float xs[4] = {-100.f, 100.f, -1000.f, 80.f};
  float ys[4];
  unary(UnaryKind::Sigmoid, Tensor(xs, DType::F32, {4}), Tensor(ys, DType::F32, {4}));
  CHECK(ys[0] >= 0.f);
  CHECK(ys[0] < 1e-40f);
  CHECK(ys[1] == 1.f);
  CHECK(ys[2] == 0.f);
  unary(UnaryKind::Softplus, Tensor(xs, DType::F32, {4}), Tensor(ys, DType::F32, {4}));
  CHECK(ys[1] == 100.f);
  CHECK(std::isfinite(ys[3]));
}

TEST_CASE("unary integer and bool kinds", "[unary]") {
  int64_t x[5] = {-3, 0, 7, std::numeric_limits<int64_t>::min(), 2};
  int64_t y[5];
  unary(UnaryKind::Neg, Tensor(x, DType::I64, {5}), Tensor(y, DType::I64, {5}));
  CHECK(y[0] == 3);
  CHECK(y[2] == -7);
  CHECK(y[3] == std::numeric_limits<int64_t>::min()); // wraps, no trap
  unary(UnaryKind::Abs, Tensor(x, DType::I64, {5}), Tensor(y, DType::I64, {5}));
  CHECK(y[0] == 3);
  unary(UnaryKind::Relu, Tensor(x, DType::I64, {5}), Tensor(y, DType::I64, {5}));
  CHECK(y[0] == 0);
  CHECK(y[2] == 7);
  int32_t xi[3] = {-10, 5, 10};
  int32_t yi[3];
  unary(UnaryKind::Clip, Tensor(xi, DType::I32, {3}), Tensor(yi, DType::I32, {3}), -2.f, 6.f);
  CHECK(yi[0] == -2);
  CHECK(yi[1] == 5);
  CHECK(yi[2] == 6);
  // Float bounds round inwards (intClipBounds, shared with the CUDA
  // runtime): clip(1.5, 4.5) of 1, 2 and 5 is 2, 2 and 4; a bound beyond
  // the type's range is clamped to it.
  int32_t ci[3] = {1, 2, 5}, co[3];
  unary(UnaryKind::Clip, Tensor(ci, DType::I32, {3}), Tensor(co, DType::I32, {3}), 1.5f, 4.5f);
  CHECK(co[0] == 2);
  CHECK(co[1] == 2);
  CHECK(co[2] == 4);
  int8_t c8[2] = {-100, 100}, o8[2];
  unary(UnaryKind::Clip, Tensor(c8, DType::I8, {2}), Tensor(o8, DType::I8, {2}), -1000.f, 1000.f);
  CHECK(o8[0] == -100);
  CHECK(o8[1] == 100);
  uint8_t b[3] = {0, 1, 1}, nb[3];
  unary(UnaryKind::Not, Tensor(b, DType::Bool, {3}), Tensor(nb, DType::Bool, {3}));
  CHECK(nb[0] == 1);
  CHECK(nb[1] == 0);
}

TEST_CASE("unary rejects unsupported dtypes and shape mismatches", "[unary]") {
  uint16_t h[4] = {};
  REQUIRE_THROWS_WITH(unary(UnaryKind::Exp, Tensor(h, DType::F16, {4}), Tensor(h, DType::F16, {4})),
                      Catch::Contains("unsupported dtype f16"));
  int64_t i[4] = {};
  REQUIRE_THROWS_WITH(unary(UnaryKind::Exp, Tensor(i, DType::I64, {4}), Tensor(i, DType::I64, {4})),
                      Catch::Contains("unsupported dtype i64"));
  float f[4] = {};
  REQUIRE_THROWS_WITH(unary(UnaryKind::Exp, Tensor(f, DType::F32, {4}), Tensor(f, DType::F32, {2, 2})),
                      Catch::Contains("output shape 2x2 differs"));
}

namespace {

double refBinary(BinaryKind k, double a, double b) {
  switch (k) {
  case BinaryKind::Add: return a + b;
  case BinaryKind::Sub: return a - b;
  case BinaryKind::Mul: return a * b;
  case BinaryKind::Div: return a / b;
  case BinaryKind::Pow: return std::pow(a, b);
  case BinaryKind::Eq: return a == b;
  case BinaryKind::Ne: return a != b;
  case BinaryKind::Lt: return a < b;
  case BinaryKind::Le: return a <= b;
  case BinaryKind::Gt: return a > b;
  case BinaryKind::Ge: return a >= b;
  case BinaryKind::Max: return std::max(a, b);
  case BinaryKind::Min: return std::min(a, b);
  case BinaryKind::Mod: return std::fmod(a, b);
  default: return 0;
  }
}

bool isCmp(BinaryKind k) {
  return k >= BinaryKind::Eq && k <= BinaryKind::Ge;
}

Dims broadcastShape(const Dims &a, const Dims &b) {
  int r = std::max(a.rank, b.rank);
  int64_t d[kMaxRank];
  for (int i = 0; i < r; ++i) {
    int ai = i - (r - a.rank), bi = i - (r - b.rank);
    int64_t x = ai >= 0 ? a.d[ai] : 1, y = bi >= 0 ? b.d[bi] : 1;
    d[i] = x == 1 ? y : x;
  }
  return Dims(d, r);
}

void checkBinary(BinaryKind k, DType dt, const Dims &as, const Dims &bs) {
  bool positive = k == BinaryKind::Pow;
  HostTensor a = random(dt, as, positive ? 0.1 : -3, 3);
  HostTensor b = random(dt, bs, positive ? -2 : -3, 3);
  if (k == BinaryKind::Div || k == BinaryKind::Mod) // keep away from 0
    for (int64_t i = 0; i < b.shape.numel(); ++i)
      if (dt == DType::F32 && std::fabs(ptr<float>(b)[i]) < 0.1f)
        ptr<float>(b)[i] = 0.5f;
  if (isCmp(k) && dt == DType::F32) // make some elements equal
    for (int64_t i = 0; i < std::min(a.shape.numel(), b.shape.numel()); i += 3)
      ptr<float>(a)[i] = ptr<float>(b)[i];
  Dims os = broadcastShape(as, bs);
  HostTensor out = zeros(isCmp(k) ? DType::Bool : dt, os);
  binary(k, a.view(), b.view(), out.view());
  std::vector<double> want(static_cast<size_t>(os.numel()));
  int64_t idx[kMaxRank];
  for (int64_t i = 0; i < os.numel(); ++i) {
    unravel(os, i, idx);
    want[i] = refBinary(k, at(a, bcastOffset(as, idx, os.rank)),
                        at(b, bcastOffset(bs, idx, os.rank)));
  }
  INFO("kind " << int(k) << " a " << formatDims(as) << " b " << formatDims(bs));
  requireClose(out, want, 1e-6, 1e-5);
}

} // namespace

TEST_CASE("binary float kinds with broadcasting", "[binary]") {
  const std::vector<std::pair<Dims, Dims>> shapes = {
      {{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {4}},       {{2, 1, 4}, {3, 1}},
      {Dims(), {5, 6}},       {{5, 6}, Dims()},       {{4, 1, 3, 1}, {1, 5, 1, 2}},
      {{1}, {7}},             {{300, 500}, {500}},    {{300, 1}, {1, 500}},
      {{3, 400, 50}, {3, 1, 50}}};
  const BinaryKind kinds[] = {BinaryKind::Add, BinaryKind::Sub, BinaryKind::Mul,
                              BinaryKind::Div, BinaryKind::Pow, BinaryKind::Eq,
                              BinaryKind::Ne,  BinaryKind::Lt,  BinaryKind::Le,
                              BinaryKind::Gt,  BinaryKind::Ge,  BinaryKind::Max,
                              BinaryKind::Min, BinaryKind::Mod};
  for (BinaryKind k : kinds)
    for (const auto &s : shapes)
      checkBinary(k, DType::F32, s.first, s.second);
  for (const auto &s : shapes)
    checkBinary(BinaryKind::Mul, DType::F64, s.first, s.second);
}

TEST_CASE("binary pow with scalar exponents uses exact fast paths", "[binary]") {
  HostTensor a = random(DType::F32, {1000}, 0.1, 4);
  for (float e : {2.f, 3.f, 1.f, 0.5f, 1.7f}) {
    HostTensor out = zeros(DType::F32, a.shape);
    binary(BinaryKind::Pow, a.view(), Tensor(&e, DType::F32, {}), out.view());
    std::vector<double> want;
    for (double v : values(a))
      want.push_back(std::pow(v, double(e)));
    requireClose(out, want, 1e-5, 1e-5);
  }
}

TEST_CASE("binary integer arithmetic", "[binary]") {
  int64_t a[6] = {7, -7, 7, -7, 5, 3};
  int64_t b[6] = {2, 2, -2, -2, 0, -1};
  int64_t o[6];
  auto run = [&](BinaryKind k) {
    binary(k, Tensor(a, DType::I64, {6}), Tensor(b, DType::I64, {6}), Tensor(o, DType::I64, {6}));
  };
  run(BinaryKind::Div); // truncates toward zero, x/0 -> 0
  CHECK(std::vector<int64_t>(o, o + 6) == std::vector<int64_t>{3, -3, -3, 3, 0, -3});
  run(BinaryKind::Mod); // sign of the divisor
  CHECK(std::vector<int64_t>(o, o + 6) == std::vector<int64_t>{1, 1, -1, -1, 0, 0});
  run(BinaryKind::Pow);
  CHECK(std::vector<int64_t>(o, o + 6) == std::vector<int64_t>{49, 49, 0, 0, 1, 0});
  run(BinaryKind::Max);
  CHECK(std::vector<int64_t>(o, o + 6) == std::vector<int64_t>{7, 2, 7, -2, 5, 3});
  // broadcasting with I32 and comparisons
  HostTensor x = random(DType::I32, {4, 1, 5}, -10, 10);
  HostTensor y = random(DType::I32, {3, 1}, -10, 10);
  for (BinaryKind k : {BinaryKind::Add, BinaryKind::Sub, BinaryKind::Mul, BinaryKind::Lt,
                       BinaryKind::Eq, BinaryKind::Ge}) {
    HostTensor out = zeros(isCmp(k) ? DType::Bool : DType::I32, {4, 3, 5});
    binary(k, x.view(), y.view(), out.view());
    int64_t idx[kMaxRank];
    std::vector<double> want;
    for (int64_t i = 0; i < 60; ++i) {
      unravel(out.shape, i, idx);
      want.push_back(refBinary(k, at(x, bcastOffset(x.shape, idx, 3)),
                               at(y, bcastOffset(y.shape, idx, 3))));
    }
    requireClose(out, want, 0, 0);
  }
}

TEST_CASE("binary logic on Bool", "[binary]") {
  uint8_t a[4] = {0, 0, 1, 1}, b[4] = {0, 1, 0, 1}, o[4];
  binary(BinaryKind::And, Tensor(a, DType::Bool, {4}), Tensor(b, DType::Bool, {4}), Tensor(o, DType::Bool, {4}));
  CHECK(std::vector<int>(o, o + 4) == std::vector<int>{0, 0, 0, 1});
  binary(BinaryKind::Or, Tensor(a, DType::Bool, {4}), Tensor(b, DType::Bool, {4}), Tensor(o, DType::Bool, {4}));
  CHECK(std::vector<int>(o, o + 4) == std::vector<int>{0, 1, 1, 1});
  binary(BinaryKind::Xor, Tensor(a, DType::Bool, {4}), Tensor(b, DType::Bool, {4}), Tensor(o, DType::Bool, {4}));
  CHECK(std::vector<int>(o, o + 4) == std::vector<int>{0, 1, 1, 0});
  binary(BinaryKind::Eq, Tensor(a, DType::Bool, {4}), Tensor(b, DType::Bool, {4}), Tensor(o, DType::Bool, {4}));
  CHECK(std::vector<int>(o, o + 4) == std::vector<int>{1, 0, 0, 1});
}

TEST_CASE("binary errors", "[binary]") {
  float a[6] = {}, b[4] = {}, o[24] = {};
  REQUIRE_THROWS_WITH(binary(BinaryKind::Add, Tensor(a, DType::F32, {2, 3}), Tensor(b, DType::F32, {4}),
                             Tensor(o, DType::F32, {2, 3})),
                      Catch::Contains("cannot broadcast b of shape 4 to 2x3"));
  int64_t i[6] = {};
  REQUIRE_THROWS_WITH(binary(BinaryKind::Add, Tensor(a, DType::F32, {2, 3}), Tensor(i, DType::I64, {2, 3}),
                             Tensor(o, DType::F32, {2, 3})),
                      Catch::Contains("operand dtypes differ"));
  REQUIRE_THROWS_WITH(binary(BinaryKind::Lt, Tensor(a, DType::F32, {2, 3}), Tensor(a, DType::F32, {2, 3}),
                             Tensor(o, DType::F32, {2, 3})),
                      Catch::Contains("output has dtype f32, expected bool"));
}

TEST_CASE("select broadcasts all three operands", "[select]") {
  for (DType dt : {DType::F32, DType::I64, DType::U8, DType::F64}) {
    HostTensor c = random(DType::Bool, {3, 1, 4});
    HostTensor t = random(dt, {5, 1}, -50, 50);
    HostTensor f = random(dt, {}, -50, 50);
    HostTensor out = zeros(dt, {3, 5, 4});
    select(c.view(), t.view(), f.view(), out.view());
    int64_t idx[kMaxRank];
    std::vector<double> want;
    for (int64_t i = 0; i < out.shape.numel(); ++i) {
      unravel(out.shape, i, idx);
      want.push_back(at(c, bcastOffset(c.shape, idx, 3)) ? at(t, bcastOffset(t.shape, idx, 3))
                                                         : at(f, 0));
    }
    requireClose(out, want, 0, 0);
  }
  // large, same shapes (fast path, threads)
  HostTensor c = random(DType::Bool, {256, 256});
  HostTensor t = random(DType::F32, {256, 256});
  HostTensor f = random(DType::F32, {256, 256});
  HostTensor out = zeros(DType::F32, {256, 256});
  select(c.view(), t.view(), f.view(), out.view());
  std::vector<double> want;
  for (int64_t i = 0; i < 65536; ++i)
    want.push_back(at(c, i) ? at(t, i) : at(f, i));
  requireClose(out, want, 0, 0);
}

TEST_CASE("convert between dtypes", "[convert]") {
  float f[7] = {1.9f, -1.9f, 0.f, std::nanf(""), 3e9f, -3e9f, 0.5f};
  int32_t i[7];
  convert(Tensor(f, DType::F32, {7}), Tensor(i, DType::I32, {7}));
  CHECK(std::vector<int32_t>(i, i + 7) ==
        std::vector<int32_t>{1, -1, 0, 0, std::numeric_limits<int32_t>::max(),
                             std::numeric_limits<int32_t>::min(), 0});
  uint8_t b[7];
  convert(Tensor(f, DType::F32, {7}), Tensor(b, DType::Bool, {7}));
  CHECK(std::vector<int>(b, b + 7) == std::vector<int>{1, 1, 0, 1, 1, 1, 1});
  float back[7];
  convert(Tensor(b, DType::Bool, {7}), Tensor(back, DType::F32, {7}));
  CHECK(back[2] == 0.f);
  CHECK(back[0] == 1.f);
  int64_t big[3] = {1LL << 40, -5, 7};
  double d[3];
  convert(Tensor(big, DType::I64, {3}), Tensor(d, DType::F64, {3}));
  CHECK(d[0] == double(1LL << 40));
  CHECK(d[1] == -5.0);
  int8_t s8[3];
  convert(Tensor(big, DType::I64, {3}), Tensor(s8, DType::I8, {3}));
  CHECK(s8[1] == -5);
  // f16 / bf16 through float
  float hf[4] = {1.f, -2.5f, 65504.f, 1e-3f};
  uint16_t h[4], bf[4];
  convert(Tensor(hf, DType::F32, {4}), Tensor(h, DType::F16, {4}));
  CHECK(h[0] == 0x3C00);
  CHECK(h[1] == 0xC100);
  CHECK(h[2] == 0x7BFF);
  convert(Tensor(hf, DType::F32, {4}), Tensor(bf, DType::BF16, {4}));
  CHECK(bf[0] == 0x3F80);
  float rt[4];
  convert(Tensor(h, DType::F16, {4}), Tensor(rt, DType::F32, {4}));
  CHECK(rt[1] == -2.5f);
  CHECK(std::fabs(rt[3] - 1e-3f) < 1e-6f);
  int64_t hi[4];
  convert(Tensor(h, DType::F16, {4}), Tensor(hi, DType::I64, {4}));
  CHECK(hi[2] == 65504);
  // large (parallel)
  HostTensor x = random(DType::I64, {100000}, -1000, 1000);
  HostTensor y = zeros(DType::F32, x.shape);
  convert(x.view(), y.view());
  requireClose(y, values(x), 0, 0);
}
