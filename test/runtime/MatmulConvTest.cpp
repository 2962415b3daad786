// matmul, conv and pooling against naive loops.
#include "TestUtil.h"
#include "runtime/core/TF32.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace bbrt;
using namespace bbrt::test;

namespace {

/// Naive batched matmul with broadcasting; a/b given in their stored layout.
std::vector<double> refMatmul(const HostTensor &a, const HostTensor &b, const Dims &os,
                              bool ta, bool tb) {
  const int ra = a.shape.rank, rb = b.shape.rank;
  int64_t M = ra == 1 ? 1 : (ta ? a.shape.d[ra - 1] : a.shape.d[ra - 2]);
  int64_t K = ra == 1 ? a.shape.d[0] : (ta ? a.shape.d[ra - 2] : a.shape.d[ra - 1]);
  int64_t N = rb == 1 ? 1 : (tb ? b.shape.d[rb - 2] : b.shape.d[rb - 1]);
  int ob = os.rank - (ra > 1) - (rb > 1);
  Dims obatch(os.d, ob);
  Dims abatch(a.shape.d, std::max(0, ra - 2)), bbatch(b.shape.d, std::max(0, rb - 2));
  std::vector<double> out;
  int64_t idx[kMaxRank];
  for (int64_t bi = 0; bi < obatch.numel(); ++bi) {
    unravel(obatch, bi, idx);
    int64_t ao = bcastOffset(abatch, idx, ob) * M * K;
    int64_t bo = bcastOffset(bbatch, idx, ob) * K * N;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) {
          double av = at(a, ao + (ta ? k * M + m : m * K + k));
          double bv = at(b, bo + (tb ? n * K + k : k * N + n));
          s += av * bv;
        }
        out.push_back(s);
      }
  }
  return out;
}

void checkMatmul(DType dt, const Dims &as, const Dims &bs, const Dims &os, bool ta, bool tb) {
  HostTensor a = random(dt, as, -3, 3), b = random(dt, bs, -3, 3);
  HostTensor out = zeros(dt, os);
  matmul(a.view(), b.view(), out.view(), ta, tb);
  INFO("a " << formatDims(as) << (ta ? "^T" : "") << " b " << formatDims(bs) << (tb ? "^T" : ""));
  requireClose(out, refMatmul(a, b, os, ta, tb), 1e-4, 1e-5);
}

} // namespace

TEST_CASE("matmul plain, transposed and batched", "[matmul]") {
  checkMatmul(DType::F32, {5, 7}, {7, 3}, {5, 3}, false, false);
  checkMatmul(DType::F32, {7, 5}, {7, 3}, {5, 3}, true, false);
  checkMatmul(DType::F32, {5, 7}, {3, 7}, {5, 3}, false, true);
  checkMatmul(DType::F32, {7, 5}, {3, 7}, {5, 3}, true, true);
  // batch broadcast: [2,1,M,K] x [3,K,N] -> [2,3,M,N]
  checkMatmul(DType::F32, {2, 1, 4, 6}, {3, 6, 5}, {2, 3, 4, 5}, false, false);
  checkMatmul(DType::F32, {2, 1, 6, 4}, {3, 5, 6}, {2, 3, 4, 5}, true, true);
  // shared weight: one tall GEMM
  checkMatmul(DType::F32, {3, 8, 16}, {16, 12}, {3, 8, 12}, false, false);
  checkMatmul(DType::F32, {3, 8, 16}, {12, 16}, {3, 8, 12}, false, true);
  // b batched, a shared
  checkMatmul(DType::F32, {8, 16}, {3, 16, 12}, {3, 8, 12}, false, false);
  // many small matrices (batch-parallel path)
  checkMatmul(DType::F32, {2, 64, 8, 8}, {2, 64, 8, 8}, {2, 64, 8, 8}, false, true);
  // one big matrix (BLAS threads)
  checkMatmul(DType::F32, {2, 96, 80}, {2, 80, 100}, {2, 96, 100}, false, false);
  // above the split threshold: rows split (M >= N) and columns split (N > M),
  // with every transpose combination
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      checkMatmul(DType::F32, ta ? Dims{72, 300} : Dims{300, 72}, tb ? Dims{100, 72} : Dims{72, 100},
                  {300, 100}, ta, tb);
      checkMatmul(DType::F32, ta ? Dims{128, 41} : Dims{41, 128}, tb ? Dims{403, 128} : Dims{128, 403},
                  {41, 403}, ta, tb);
    }
  checkMatmul(DType::F64, {130, 90}, {90, 110}, {130, 110}, false, false);
  // rank-1 operands
  checkMatmul(DType::F32, {7}, {7, 3}, {3}, false, false);
  checkMatmul(DType::F32, {5, 7}, {7}, {5}, false, false);
  checkMatmul(DType::F32, {2, 5, 7}, {7}, {2, 5}, false, false);
  checkMatmul(DType::F32, {7}, {7}, Dims(), false, false);
  // other dtypes
  checkMatmul(DType::F64, {2, 5, 7}, {2, 3, 7}, {2, 5, 3}, false, true);
  checkMatmul(DType::I64, {2, 5, 7}, {7, 3}, {2, 5, 3}, false, false);
  checkMatmul(DType::I32, {7, 5}, {3, 7}, {5, 3}, true, true);
}

TEST_CASE("matmul of bf16 operands: f32 sums, an f32 or a rounded bf16 result",
          "[matmul][bf16]") {
  // The reference multiplies the bf16 values exactly (in double): an f32
  // result differs from it only by the f32 sums' rounding, a bf16 result
  // by one bf16 rounding of the sum (relative 2^-9).
  auto check = [](const Dims &as, const Dims &bs, const Dims &os, bool ta, bool tb) {
    HostTensor a = random(DType::BF16, as, -3, 3), b = random(DType::BF16, bs, -3, 3);
    std::vector<double> want = refMatmul(a, b, os, ta, tb);
    HostTensor wide = zeros(DType::F32, os), narrow = zeros(DType::BF16, os);
    matmul(a.view(), b.view(), wide.view(), ta, tb);
    matmul(a.view(), b.view(), narrow.view(), ta, tb);
    INFO("a " << formatDims(as) << (ta ? "^T" : "") << " b " << formatDims(bs)
              << (tb ? "^T" : ""));
    requireClose(wide, want, 1e-4, 1e-5);
    requireClose(narrow, want, 1e-3, 1.0 / 256);
  };
  check({5, 7}, {7, 3}, {5, 3}, false, false);
  check({7, 5}, {3, 7}, {5, 3}, true, true);
  check({2, 1, 4, 6}, {3, 6, 5}, {2, 3, 4, 5}, false, false);
  check({3, 8, 16}, {12, 16}, {3, 8, 12}, false, true);
  check({300, 72}, {72, 100}, {300, 100}, false, false);
  // Other mixes are refused.
  uint16_t h[12] = {};
  float f[12] = {};
  REQUIRE_THROWS_WITH(matmul(Tensor(h, DType::BF16, {3, 4}), Tensor(f, DType::F32, {4, 3}),
                             Tensor(f, DType::F32, {3, 3}), false, false),
                      Catch::Contains("dtypes differ"));
  REQUIRE_THROWS_WITH(matmul(Tensor(f, DType::F32, {3, 4}), Tensor(f, DType::F32, {4, 3}),
                             Tensor(h, DType::BF16, {3, 3}), false, false),
                      Catch::Contains("dtypes differ"));
}

TEST_CASE("TF32 rounding: 10 mantissa bits, to nearest, ties away from zero",
          "[matmul][tf32]") {
  auto bits = [](float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    return x;
  };
  auto of = [](uint32_t x) {
    float f;
    std::memcpy(&f, &x, 4);
    return f;
  };
  REQUIRE(roundToTf32(1.0f) == 1.0f);
  // 1 + 2^-11 is half a TF32 ulp above 1: away from zero, to 1 + 2^-10.
  REQUIRE(roundToTf32(1.0f + 0x1p-11f) == 1.0f + 0x1p-10f);
  REQUIRE(roundToTf32(-1.0f - 0x1p-11f) == -1.0f - 0x1p-10f);
  // Just below half: down.
  REQUIRE(roundToTf32(of(bits(1.0f + 0x1p-11f) - 1)) == 1.0f);
  REQUIRE((bits(roundToTf32(0.1f)) & 0x1FFFu) == 0);
  REQUIRE(std::fabs(roundToTf32(0.1f) - 0.1f) <= 0.1f * 0x1p-11f);
  // Infinities and NaNs pass through; the largest finite f32 rounds up to
  // infinity, as an f32 product that large would.
  REQUIRE(std::isinf(roundToTf32(std::numeric_limits<float>::infinity())));
  REQUIRE(std::isnan(roundToTf32(std::numeric_limits<float>::quiet_NaN())));
  REQUIRE(std::isinf(roundToTf32(std::numeric_limits<float>::max())));
}

TEST_CASE("matmul at TF32: the product of the rounded operands",
          "[matmul][tf32]") {
  HostTensor a = random(DType::F32, {2, 5, 70}, -3, 3), b = random(DType::F32, {70, 9}, -3, 3);
  HostTensor ra = zeros(DType::F32, {2, 5, 70}), rb = zeros(DType::F32, {70, 9});
  for (int64_t i = 0; i < a.view().numel(); ++i)
    static_cast<float *>(ra.data())[i] = roundToTf32(static_cast<float *>(a.data())[i]);
  for (int64_t i = 0; i < b.view().numel(); ++i)
    static_cast<float *>(rb.data())[i] = roundToTf32(static_cast<float *>(b.data())[i]);
  HostTensor got = zeros(DType::F32, {2, 5, 9}), want = zeros(DType::F32, {2, 5, 9}),
             full = zeros(DType::F32, {2, 5, 9});
  matmul(a.view(), b.view(), got.view(), false, false, /*tf32=*/true);
  matmul(ra.view(), rb.view(), want.view(), false, false);
  matmul(a.view(), b.view(), full.view(), false, false);
  REQUIRE(std::memcmp(got.data(), want.data(), 2 * 5 * 9 * sizeof(float)) == 0);
  REQUIRE(std::memcmp(got.data(), full.data(), 2 * 5 * 9 * sizeof(float)) != 0);
  // linear carries it too.
  HostTensor bias = random(DType::F32, {9}), lin = zeros(DType::F32, {2, 5, 9});
  linear(a.view(), b.view(), bias.view(), lin.view(), false, false, true);
  binary(BinaryKind::Add, want.view(), bias.view(), want.view());
  REQUIRE(std::memcmp(lin.data(), want.data(), 2 * 5 * 9 * sizeof(float)) == 0);
  // f32 only.
  double d[4] = {};
  REQUIRE_THROWS_WITH(matmul(Tensor(d, DType::F64, {2, 2}), Tensor(d, DType::F64, {2, 2}),
                             Tensor(d, DType::F64, {2, 2}), false, false, true),
                      Catch::Contains("tf32 needs f32 operands"));
}

TEST_CASE("linear: the product plus the bias, to the bit", "[matmul][linear]") {
  for (DType dt : {DType::F32, DType::F64}) {
    HostTensor a = random(dt, {2, 5, 7}, -3, 3), b = random(dt, {3, 7}, -3, 3),
               bias = random(dt, {3}, -3, 3);
    HostTensor got = zeros(dt, {2, 5, 3}), want = zeros(dt, {2, 5, 3});
    linear(a.view(), b.view(), bias.view(), got.view(), false, true);
    matmul(a.view(), b.view(), want.view(), false, true);
    binary(BinaryKind::Add, want.view(), bias.view(), want.view());
    REQUIRE(std::memcmp(got.data(), want.data(), static_cast<size_t>(got.view().nbytes())) == 0);
  }
  // bf16 operands, an f32 output and bias.
  HostTensor a = random(DType::BF16, {4, 6}), b = random(DType::BF16, {6, 5}),
             bias = random(DType::F32, {5});
  HostTensor got = zeros(DType::F32, {4, 5}), want = zeros(DType::F32, {4, 5});
  linear(a.view(), b.view(), bias.view(), got.view(), false, false);
  matmul(a.view(), b.view(), want.view(), false, false);
  binary(BinaryKind::Add, want.view(), bias.view(), want.view());
  REQUIRE(std::memcmp(got.data(), want.data(), 4 * 5 * sizeof(float)) == 0);
  // A bias that does not fit.
  HostTensor bad = random(DType::F32, {4});
  REQUIRE_THROWS_WITH(linear(a.view(), b.view(), bad.view(), got.view(), false, false),
                      Catch::Contains("does not fit output"));
}

TEST_CASE("linear with an addend: the GEMM adds into it, in place too", "[matmul][linear]") {
  // A pipeline's weight gradient added into its accumulator: out = acc +
  // a^T b, with acc the output itself (bb-accumulate-gradients).
  for (DType dt : {DType::F32, DType::F64}) {
    HostTensor a = random(dt, {6, 5}, -3, 3), b = random(dt, {6, 4}, -3, 3),
               acc = random(dt, {5, 4}, -3, 3);
    HostTensor product = zeros(dt, {5, 4}), want = zeros(dt, {5, 4}),
               got = zeros(dt, {5, 4});
    matmul(a.view(), b.view(), product.view(), true, false);
    binary(BinaryKind::Add, acc.view(), product.view(), want.view());
    linear(a.view(), b.view(), acc.view(), got.view(), true, false);
    const double tol = dt == DType::F32 ? 1e-5 : 1e-12;
    requireClose(got, values(want), tol, tol);
    HostTensor inPlace = zeros(dt, {5, 4});
    std::memcpy(inPlace.data(), acc.data(), static_cast<size_t>(acc.nbytes()));
    linear(a.view(), b.view(), inPlace.view(), inPlace.view(), true, false);
    CHECK(std::memcmp(inPlace.data(), got.data(),
                      static_cast<size_t>(got.view().nbytes())) == 0);
    // Twice: acc + 2 a^T b.
    linear(a.view(), b.view(), inPlace.view(), inPlace.view(), true, false);
    binary(BinaryKind::Add, want.view(), product.view(), want.view());
    requireClose(inPlace, values(want), tol, tol);
  }
  // bf16 operands into an f32 accumulator; a batched product.
  HostTensor a = random(DType::BF16, {3, 4, 6}), b = random(DType::BF16, {6, 5}),
             acc = random(DType::F32, {3, 4, 5});
  HostTensor want = zeros(DType::F32, {3, 4, 5});
  matmul(a.view(), b.view(), want.view(), false, false);
  binary(BinaryKind::Add, acc.view(), want.view(), want.view());
  linear(a.view(), b.view(), acc.view(), acc.view(), false, false);
  requireClose(acc, values(want), 1e-5, 1e-5);
}

TEST_CASE("matmul errors", "[matmul]") {
  float a[12] = {}, b[12] = {}, o[12] = {};
  REQUIRE_THROWS_WITH(matmul(Tensor(a, DType::F32, {3, 4}), Tensor(b, DType::F32, {3, 4}),
                             Tensor(o, DType::F32, {3, 4}), false, false),
                      Catch::Contains("inner dims differ"));
  REQUIRE_THROWS_WITH(matmul(Tensor(a, DType::F32, {3, 4}), Tensor(b, DType::F32, {4, 3}),
                             Tensor(o, DType::F32, {3, 4}), false, false),
                      Catch::Contains("output shape does not fit"));
  REQUIRE_THROWS_WITH(matmul(Tensor(a, DType::F32, {2, 3, 2}), Tensor(b, DType::F32, {3, 2, 2}),
                             Tensor(o, DType::F32, {3, 3, 2}), false, false),
                      Catch::Contains("batch dims do not broadcast"));
}

namespace {

struct ConvCase {
  Dims x, w;
  std::vector<int64_t> strides, pads, dil;
  int64_t group;
  bool bias;
};

/// Naive N-d convolution (1 to 3 spatial dims).
std::vector<double> refConv(const HostTensor &x, const HostTensor &w, const HostTensor *b,
                            const Dims &os, const ConvCase &c) {
  int sr = x.shape.rank - 2;
  int64_t C = x.shape.d[1], F = w.shape.d[0], Cg = C / c.group, Fg = F / c.group;
  std::vector<double> out(static_cast<size_t>(os.numel()));
  int64_t oidx[kMaxRank], xst[kMaxRank], wst[kMaxRank];
  strides(x.shape, xst);
  strides(w.shape, wst);
  Dims kshape(w.shape.d + 2, sr);
  for (int64_t o = 0; o < os.numel(); ++o) {
    unravel(os, o, oidx);
    int64_t n = oidx[0], f = oidx[1], g = f / Fg;
    double s = b ? at(*b, f) : 0;
    for (int64_t cc = 0; cc < Cg; ++cc) {
      int64_t ch = g * Cg + cc;
      int64_t kidx[kMaxRank];
      for (int64_t kk = 0; kk < kshape.numel(); ++kk) {
        unravel(kshape, kk, kidx);
        int64_t xoff = n * xst[0] + ch * xst[1];
        bool inside = true;
        for (int d = 0; d < sr; ++d) {
          int64_t p = oidx[2 + d] * c.strides[d] - c.pads[d] + kidx[d] * c.dil[d];
          if (p < 0 || p >= x.shape.d[2 + d])
            inside = false;
          xoff += p * xst[2 + d];
        }
        if (!inside)
          continue;
        int64_t woff = f * wst[0] + cc * wst[1];
        for (int d = 0; d < sr; ++d)
          woff += kidx[d] * wst[2 + d];
        s += at(x, xoff) * at(w, woff);
      }
    }
    out[o] = s;
  }
  return out;
}

void checkConv(const ConvCase &c, DType dt = DType::F32) {
  int sr = c.x.rank - 2;
  int64_t od[kMaxRank];
  od[0] = c.x.d[0];
  od[1] = c.w.d[0];
  for (int d = 0; d < sr; ++d) {
    int64_t span = c.dil[d] * (c.w.d[2 + d] - 1) + 1;
    od[2 + d] = (c.x.d[2 + d] + c.pads[d] + c.pads[sr + d] - span) / c.strides[d] + 1;
  }
  Dims os(od, c.x.rank);
  HostTensor x = random(dt, c.x), w = random(dt, c.w);
  HostTensor b = random(dt, {c.w.d[0]});
  HostTensor out = zeros(dt, os);
  conv(x.view(), w.view(), c.bias ? b.view() : none(), out.view(),
       Dims(c.strides.data(), sr), Dims(c.pads.data(), 2 * sr), Dims(c.dil.data(), sr), c.group);
  INFO("x " << formatDims(c.x) << " w " << formatDims(c.w) << " group " << c.group);
  std::vector<double> want = refConv(x, w, c.bias ? &b : nullptr, os, c);
  requireClose(out, want, 1e-4, 1e-4);
  // With relu (bb.conv {relu}): max(0, .) of the same, on every path
  // (implicit f32, im2col, pointwise, depthwise, f64).
  HostTensor fused = zeros(dt, os);
  conv(x.view(), w.view(), c.bias ? b.view() : none(), fused.view(),
       Dims(c.strides.data(), sr), Dims(c.pads.data(), 2 * sr), Dims(c.dil.data(), sr), c.group,
       /*relu=*/true);
  for (double &v : want)
    v = v > 0 ? v : 0;
  requireClose(fused, want, 1e-4, 1e-4);
}

} // namespace

TEST_CASE("conv 2-d: plain, strided, padded, dilated, grouped, depthwise", "[conv]") {
  checkConv({{2, 3, 7, 6}, {4, 3, 3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, true});
  checkConv({{1, 3, 9, 8}, {5, 3, 3, 2}, {2, 3}, {1, 0, 2, 1}, {1, 1}, 1, true});
  checkConv({{1, 2, 10, 9}, {3, 2, 3, 3}, {1, 2}, {2, 2, 2, 2}, {2, 3}, 1, false});
  checkConv({{2, 4, 6, 6}, {6, 2, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2, true});
  // depthwise, channel multiplier 1 and 2
  checkConv({{2, 4, 7, 7}, {4, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 4, true});
  checkConv({{1, 3, 6, 5}, {6, 1, 3, 3}, {1, 1}, {1, 2, 1, 0}, {2, 1}, 3, false});
  // pointwise 1x1
  checkConv({{2, 8, 5, 5}, {6, 8, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, true});
  // 1x1 with stride (not pointwise)
  checkConv({{1, 4, 6, 6}, {3, 4, 1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, true});
  // larger (threads, BLAS)
  checkConv({{2, 16, 20, 20}, {32, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true});
  checkConv({{1, 2, 5, 5}, {2, 2, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true}, DType::F64);
}

TEST_CASE("conv 1-d and 3-d", "[conv]") {
  checkConv({{2, 3, 11}, {4, 3, 3}, {2}, {1, 2}, {2}, 1, true});
  checkConv({{1, 4, 9}, {4, 2, 3}, {1}, {1, 1}, {1}, 2, false});
  checkConv({{1, 2, 4, 5, 6}, {3, 2, 2, 3, 2}, {1, 2, 1}, {0, 1, 1, 1, 0, 0}, {1, 1, 2}, 1, true});
}

TEST_CASE("conv errors", "[conv]") {
  float x[2 * 3 * 5 * 5] = {}, w[4 * 3 * 3 * 3] = {}, o[2 * 4 * 5 * 5] = {};
  REQUIRE_THROWS_WITH(conv(Tensor(x, DType::F32, {2, 3, 5, 5}), Tensor(w, DType::F32, {4, 3, 3, 3}), none(),
                           Tensor(o, DType::F32, {2, 4, 5, 5}), {1, 1}, {0, 0, 0, 0}, {1, 1}, 1),
                      Catch::Contains("does not match input 2x3x5x5"));
  REQUIRE_THROWS_WITH(conv(Tensor(x, DType::F32, {2, 3, 5, 5}), Tensor(w, DType::F32, {4, 3, 3, 3}), none(),
                           Tensor(o, DType::F32, {2, 4, 3, 3}), {1, 1}, {0, 0, 0, 0}, {1, 1}, 2),
                      Catch::Contains("group 2 does not fit"));
}

namespace {

std::vector<double> refPool(const HostTensor &x, const Dims &os, const std::vector<int64_t> &k,
                            const std::vector<int64_t> &s, const std::vector<int64_t> &p,
                            const std::vector<int64_t> &dil, bool isMax, bool includePad) {
  int sr = x.shape.rank - 2;
  std::vector<double> out(static_cast<size_t>(os.numel()));
  int64_t oidx[kMaxRank], xst[kMaxRank];
  strides(x.shape, xst);
  Dims kshape(k.data(), sr);
  for (int64_t o = 0; o < os.numel(); ++o) {
    unravel(os, o, oidx);
    double best = -1e300, sum = 0;
    int64_t count = 0, padCount = 0;
    int64_t kidx[kMaxRank];
    for (int64_t kk = 0; kk < kshape.numel(); ++kk) {
      unravel(kshape, kk, kidx);
      bool inside = true, inPad = true;
      int64_t off = oidx[0] * xst[0] + oidx[1] * xst[1];
      for (int d = 0; d < sr; ++d) {
        int64_t pos = oidx[2 + d] * s[d] - p[d] + kidx[d] * dil[d];
        if (pos < 0 || pos >= x.shape.d[2 + d])
          inside = false;
        if (pos < -p[d] || pos >= x.shape.d[2 + d] + p[sr + d])
          inPad = false;
        off += pos * xst[2 + d];
      }
      padCount += inPad;
      if (!inside)
        continue;
      ++count;
      best = std::max(best, at(x, off));
      sum += at(x, off);
    }
    out[o] = isMax ? best : sum / double(includePad ? padCount : count);
  }
  return out;
}

void checkPool(bool isMax, bool includePad, const Dims &xs, const std::vector<int64_t> &k,
               const std::vector<int64_t> &s, const std::vector<int64_t> &p, bool ceil,
               std::vector<int64_t> dil = {}) {
  int sr = xs.rank - 2;
  if (dil.empty())
    dil.assign(sr, 1);
  int64_t od[kMaxRank] = {xs.d[0], xs.d[1]};
  for (int d = 0; d < sr; ++d) {
    int64_t span = dil[d] * (k[d] - 1) + 1;
    int64_t num = xs.d[2 + d] + p[d] + p[sr + d] - span;
    int64_t o = (ceil ? (num + s[d] - 1) / s[d] : num / s[d]) + 1;
    if (ceil && (o - 1) * s[d] >= xs.d[2 + d] + p[d]) // PyTorch's rule
      --o;
    od[2 + d] = o;
  }
  Dims os(od, xs.rank);
  HostTensor x = random(DType::F32, xs, -5, 5);
  HostTensor out = zeros(DType::F32, os);
  if (isMax)
    maxPool(x.view(), out.view(), Dims(k.data(), sr), Dims(s.data(), sr), Dims(p.data(), 2 * sr),
            Dims(dil.data(), sr));
  else
    avgPool(x.view(), out.view(), Dims(k.data(), sr), Dims(s.data(), sr), Dims(p.data(), 2 * sr),
            includePad, Dims(dil.data(), sr));
  INFO((isMax ? "max" : "avg") << " x " << formatDims(xs) << " out " << formatDims(os)
                               << " includePad " << includePad);
  requireClose(out, refPool(x, os, k, s, p, dil, isMax, includePad), 1e-5, 1e-5);
}

} // namespace

TEST_CASE("maxPool with padding, strides, ceil mode, dilation", "[pool]") {
  checkPool(true, false, {2, 3, 8, 8}, {2, 2}, {2, 2}, {0, 0, 0, 0}, false);
  checkPool(true, false, {1, 2, 7, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false);
  checkPool(true, false, {1, 2, 7, 8}, {3, 2}, {2, 2}, {0, 0, 0, 0}, true);
  checkPool(true, false, {1, 2, 9, 9}, {2, 2}, {1, 1}, {1, 0, 0, 1}, false, {2, 3});
  checkPool(true, false, {2, 3, 11}, {3}, {2}, {1, 1}, true);
  checkPool(true, false, {4, 16, 32, 32}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false);
}

TEST_CASE("avgPool with and without count_include_pad", "[pool]") {
  for (bool inc : {true, false}) {
    checkPool(false, inc, {2, 3, 8, 8}, {2, 2}, {2, 2}, {0, 0, 0, 0}, false);
    checkPool(false, inc, {1, 2, 7, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false);
    checkPool(false, inc, {1, 2, 7, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}, true);
    checkPool(false, inc, {1, 2, 6, 7}, {2, 3}, {3, 2}, {0, 1, 1, 0}, true);
    checkPool(false, inc, {2, 3, 10}, {4}, {3}, {2, 1}, true);
    checkPool(false, inc, {1, 2, 4, 5, 6}, {2, 2, 3}, {2, 1, 2}, {1, 0, 1, 0, 1, 1}, false);
  }
  // global average pool as a pool
  checkPool(false, false, {2, 8, 7, 7}, {7, 7}, {1, 1}, {0, 0, 0, 0}, false);
}

TEST_CASE("pool errors", "[pool]") {
  float x[64] = {}, o[64] = {};
  REQUIRE_THROWS_WITH(maxPool(Tensor(x, DType::F32, {1, 1, 8, 8}), Tensor(o, DType::F32, {1, 1, 8, 8}),
                              {2, 2}, {2, 2}, {0, 0, 0, 0}),
                      Catch::Contains("too large"));
  REQUIRE_THROWS_WITH(maxPool(Tensor(x, DType::F32, {1, 1, 8, 8}), Tensor(o, DType::F32, {1, 1, 4, 4}),
                              {2}, {2, 2}, {0, 0, 0, 0}),
                      Catch::Contains("kernel has 1 dims for 2 spatial dims"));
}

TEST_CASE("matmul small-kernel edges: row/column/K tails, K blocks, packed panels", "[matmul]") {
  // M, N, K around the 4 x 16 (B row-major) and 4 x 2 x 8 (B transposed)
  // blocks, K past one 256 block, M past the packed-panel threshold.
  for (int64_t M : {1, 3, 4, 5, 9, 17})
    for (int64_t N : {1, 2, 15, 16, 17, 33})
      for (int64_t K : {1, 7, 8, 9, 300}) {
        checkMatmul(DType::F32, {M, K}, {K, N}, {M, N}, false, false);
        checkMatmul(DType::F32, {M, K}, {N, K}, {M, N}, false, true);
        checkMatmul(DType::F32, {K, M}, {K, N}, {M, N}, true, false);
      }
  // above the small-kernel limit (OpenBLAS) and above the split threshold
  checkMatmul(DType::F32, {160, 130}, {130, 120}, {160, 120}, false, false);
  checkMatmul(DType::F32, {32, 64}, {64, 200}, {32, 200}, false, false);
  checkMatmul(DType::F32, {32, 64}, {200, 64}, {32, 200}, false, true);
}

TEST_CASE("conv f32 implicit-GEMM edges", "[conv]") {
  // output widths not a multiple of 8, filter counts not a multiple of 4
  checkConv({{1, 3, 7, 7}, {5, 3, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true});
  checkConv({{2, 4, 13, 11}, {6, 4, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, false});
  // more than one 256-deep K block (C * kh * kw = 288)
  checkConv({{1, 32, 6, 9}, {7, 32, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true});
  // stride 2 with odd and even begin pads (both phase orders), stride 3
  checkConv({{2, 3, 15, 17}, {4, 3, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1, true});
  checkConv({{1, 3, 16, 18}, {4, 3, 5, 5}, {2, 2}, {2, 2, 2, 2}, {1, 1}, 1, true});
  checkConv({{1, 3, 16, 18}, {4, 3, 3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, true});
  checkConv({{1, 2, 14, 16}, {3, 2, 3, 3}, {3, 3}, {1, 2, 0, 1}, {1, 1}, 1, true});
  // dilation with stride, asymmetric pads
  checkConv({{1, 3, 17, 19}, {4, 3, 3, 3}, {2, 2}, {2, 1, 0, 3}, {2, 2}, 1, true});
  // groups with several channels each
  checkConv({{2, 6, 9, 10}, {9, 2, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 3, true});
  // one image: output rows split across threads
  checkConv({{1, 16, 24, 24}, {16, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true});
  // 1x1 with stride and 1x1 pointwise with odd sizes
  checkConv({{2, 5, 9, 7}, {6, 5, 1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, true});
  checkConv({{2, 5, 3, 7}, {6, 5, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, true});
  // 3-d with stride 2
  checkConv({{1, 2, 5, 6, 9}, {3, 2, 3, 3, 3}, {2, 1, 2}, {1, 1, 1, 1, 1, 1}, {1, 1, 1}, 1, true});
}

TEST_CASE("depthwise conv edges", "[conv]") {
  // stride 2 with odd/even pads, 5x5, multiplier 2, large enough for threads
  checkConv({{2, 32, 16, 16}, {32, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 32, true});
  checkConv({{2, 8, 15, 13}, {8, 1, 5, 5}, {2, 2}, {2, 2, 2, 2}, {1, 1}, 8, true});
  checkConv({{1, 4, 12, 12}, {8, 1, 3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 4, false});
  checkConv({{2, 96, 8, 8}, {96, 1, 5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}, 96, true});
  // tall and wide planes (several row and column tiles), stride 3, dilation
  checkConv({{1, 3, 21, 29}, {3, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 3, true});
  checkConv({{1, 3, 20, 20}, {3, 1, 3, 3}, {3, 3}, {1, 1, 1, 1}, {2, 2}, 3, true});
  checkConv({{1, 2, 9}, {2, 1, 3}, {1}, {1, 1}, {1}, 2, true}, DType::F64);
  checkConv({{1, 2, 9, 9}, {4, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 2, true}, DType::F64);
}

TEST_CASE("pool edges: strides, pads, threads, NaN", "[pool]") {
  for (bool isMax : {true, false}) {
    checkPool(isMax, false, {2, 16, 32, 32}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false);
    checkPool(isMax, true, {2, 3, 17, 19}, {3, 3}, {2, 2}, {0, 0, 0, 0}, true);
    checkPool(isMax, true, {1, 2, 16, 21}, {3, 3}, {3, 3}, {1, 1, 1, 1}, true);
    checkPool(isMax, false, {1, 2, 10, 11}, {2, 2}, {1, 1}, {0, 1, 1, 0}, false);
    checkPool(isMax, false, {1, 2, 19, 23}, {5, 5}, {1, 1}, {2, 2, 2, 2}, false);
  }
  checkPool(true, false, {1, 2, 13, 13}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false, {2, 2});
  // a window that only covers padding yields 0, NaN wins a max
  float x[9] = {1, 2, 3, 4, std::nanf(""), 6, 7, 8, 9}, y[16];
  maxPool(Tensor(x, DType::F32, {1, 1, 3, 3}), Tensor(y, DType::F32, {1, 1, 3, 3}), {2, 2},
          {1, 1}, {0, 0, 1, 1});
  CHECK(std::isnan(y[0]));
  CHECK(std::isnan(y[1]));
  CHECK(y[2] == 6.f);
  CHECK(std::isnan(y[3]));
  CHECK(y[5] == 9.f);
  CHECK(y[6] == 8.f);
  CHECK(y[8] == 9.f);
  maxPool(Tensor(x, DType::F32, {1, 1, 3, 3}), Tensor(y, DType::F32, {1, 1, 4, 4}), {2, 2},
          {1, 1}, {2, 2, 0, 0});
  CHECK(y[0] == 0.f); // only padding
  CHECK(y[5] == 1.f);
  CHECK(y[6] == 2.f);
  CHECK(y[7] == 3.f);
  CHECK(std::isnan(y[10]));
  avgPool(Tensor(x, DType::F32, {1, 1, 3, 3}), Tensor(y, DType::F32, {1, 1, 4, 4}), {2, 2},
          {1, 1}, {1, 1, 1, 1}, true);
  CHECK(y[0] == 0.25f);
  CHECK(y[15] == 2.25f);
}
