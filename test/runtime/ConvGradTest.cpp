// Gradient kernels (convInputGrad, convWeightGrad, maxPoolGrad, avgPoolGrad,
// sliceGrad) against naive loops, and against their forward kernels through
// the adjoint identity <forward(x), dy> = <x, backward(dy)>. The larger cases
// take the parallel paths; they run with 1, 2 and 3 threads.
#include "TestUtil.h"

#include <algorithm>

using namespace bbrt;
using namespace bbrt::test;

namespace {

/// A tensor full of NaN: kernels must overwrite every element.
HostTensor garbage(const Dims &shape) {
  HostTensor t(DType::F32, shape);
  std::fill(ptr<float>(t), ptr<float>(t) + shape.numel(), std::nanf(""));
  return t;
}

double dot(const HostTensor &a, const HostTensor &b) {
  REQUIRE(a.shape.numel() == b.shape.numel());
  double s = 0;
  for (int64_t i = 0; i < a.shape.numel(); ++i)
    s += at(a, i) * at(b, i);
  return s;
}

/// |a - b| small against the sum of the magnitudes that made them.
void checkAdjoint(double a, double b, double scale) {
  INFO("<forward(x), dy> = " << a << ", <x, backward(dy)> = " << b);
  CHECK(std::fabs(a - b) <= 1e-5 * scale + 1e-6);
}

//===--- convolution
//--------------------------------------------------------===//

struct ConvCase {
  Dims x, w;
  std::vector<int64_t> strides, pads, dil;
  int64_t group;
};

Dims convOut(const ConvCase &c) {
  const int sr = c.x.rank - 2;
  int64_t od[kMaxRank] = {c.x.d[0], c.w.d[0]};
  for (int d = 0; d < sr; ++d) {
    int64_t span = c.dil[d] * (c.w.d[2 + d] - 1) + 1;
    od[2 + d] =
        (c.x.d[2 + d] + c.pads[d] + c.pads[sr + d] - span) / c.strides[d] + 1;
  }
  return Dims(od, c.x.rank);
}

/// Naive gradients of y = conv(x, w): every (output, channel, tap) term
/// x * w adds dy * w to dx and dy * x to dw.
void refConvGrads(const HostTensor &x, const HostTensor &w,
                  const HostTensor &dy, const ConvCase &c,
                  std::vector<double> &dx, std::vector<double> &dw) {
  const int sr = x.shape.rank - 2;
  const int64_t C = x.shape.d[1], F = w.shape.d[0], Cg = C / c.group,
                Fg = F / c.group;
  dx.assign(size_t(x.shape.numel()), 0.0);
  dw.assign(size_t(w.shape.numel()), 0.0);
  int64_t oidx[kMaxRank], kidx[kMaxRank], xst[kMaxRank], wst[kMaxRank];
  strides(x.shape, xst);
  strides(w.shape, wst);
  Dims kshape(w.shape.d + 2, sr);
  for (int64_t o = 0; o < dy.shape.numel(); ++o) {
    unravel(dy.shape, o, oidx);
    const int64_t n = oidx[0], f = oidx[1], g = f / Fg;
    const double gy = at(dy, o);
    for (int64_t cc = 0; cc < Cg; ++cc)
      for (int64_t kk = 0; kk < kshape.numel(); ++kk) {
        unravel(kshape, kk, kidx);
        int64_t xoff = n * xst[0] + (g * Cg + cc) * xst[1];
        int64_t woff = f * wst[0] + cc * wst[1];
        bool inside = true;
        for (int d = 0; d < sr; ++d) {
          int64_t p =
              oidx[2 + d] * c.strides[d] - c.pads[d] + kidx[d] * c.dil[d];
          inside &= p >= 0 && p < x.shape.d[2 + d];
          xoff += p * xst[2 + d];
          woff += kidx[d] * wst[2 + d];
        }
        if (!inside)
          continue;
        dx[size_t(xoff)] += gy * at(w, woff);
        dw[size_t(woff)] += gy * at(x, xoff);
      }
  }
}

void checkConvGrads(const ConvCase &c) {
  const int sr = c.x.rank - 2;
  const Dims os = convOut(c);
  const Dims st(c.strides.data(), sr), pads(c.pads.data(), 2 * sr),
      dil(c.dil.data(), sr);
  HostTensor x = random(DType::F32, c.x), w = random(DType::F32, c.w);
  HostTensor dy = random(DType::F32, os);
  std::vector<double> wantDx, wantDw;
  refConvGrads(x, w, dy, c, wantDx, wantDw);
  for (int threads : {1, 2, 3}) {
    Threads t(threads);
    INFO("x " << formatDims(c.x) << " w " << formatDims(c.w) << " group "
              << c.group << ", " << threads << " threads");
    HostTensor dx = garbage(c.x), dw = garbage(c.w);
    convInputGrad(dy.view(), w.view(), dx.view(), st, pads, dil, c.group);
    convWeightGrad(x.view(), dy.view(), dw.view(), st, pads, dil, c.group);
    requireClose(dx, wantDx, 1e-4, 1e-4);
    requireClose(dw, wantDw, 1e-4, 1e-4);
    // The forward kernel's adjoints.
    HostTensor y = zeros(DType::F32, os);
    conv(x.view(), w.view(), none(), y.view(), st, pads, dil, c.group);
    const double ydy = dot(y, dy),
                 scale = double(os.numel()) * c.w.numel() / c.w.d[0];
    checkAdjoint(ydy, dot(x, dx), scale);
    checkAdjoint(ydy, dot(w, dw), scale);
  }
}

//===--- pooling
//------------------------------------------------------------===//

struct PoolCase {
  Dims x;
  std::vector<int64_t> kernel, strides, pads;
  bool ceil;
};

Dims poolOut(const PoolCase &c) {
  const int sr = c.x.rank - 2;
  int64_t od[kMaxRank] = {c.x.d[0], c.x.d[1]};
  for (int d = 0; d < sr; ++d) {
    int64_t span = c.x.d[2 + d] + c.pads[d] + c.pads[sr + d] - c.kernel[d];
    int64_t o = (c.ceil ? (span + c.strides[d] - 1) / c.strides[d]
                        : span / c.strides[d]) +
                1;
    if (c.ceil && (o - 1) * c.strides[d] >= c.x.d[2 + d] + c.pads[d])
      --o;
    od[2 + d] = o;
  }
  return Dims(od, c.x.rank);
}

/// Naive pool gradients: for each output window (taps in row-major order),
/// the max's gradient goes to the first maximum among the input positions;
/// the average's is spread over them, divided by the window's size within
/// the padded input (countIncludePad) or by the number of input positions.
void refPoolGrads(const HostTensor &x, const HostTensor &dy, const PoolCase &c,
                  bool countIncludePad, std::vector<double> &dxMax,
                  std::vector<double> &dxAvg) {
  const int sr = x.shape.rank - 2;
  dxMax.assign(size_t(x.shape.numel()), 0.0);
  dxAvg.assign(size_t(x.shape.numel()), 0.0);
  int64_t oidx[kMaxRank], kidx[kMaxRank], xst[kMaxRank];
  strides(x.shape, xst);
  Dims kshape(c.kernel.data(), sr);
  for (int64_t o = 0; o < dy.shape.numel(); ++o) {
    unravel(dy.shape, o, oidx);
    std::vector<int64_t> inside;
    int64_t padded = 1;
    for (int d = 0; d < sr; ++d) {
      int64_t cnt = 0;
      for (int64_t k = 0; k < c.kernel[d]; ++k) {
        int64_t p = oidx[2 + d] * c.strides[d] - c.pads[d] + k;
        cnt += p >= -c.pads[d] && p < x.shape.d[2 + d] + c.pads[sr + d];
      }
      padded *= cnt;
    }
    for (int64_t kk = 0; kk < kshape.numel(); ++kk) {
      unravel(kshape, kk, kidx);
      int64_t off = oidx[0] * xst[0] + oidx[1] * xst[1];
      bool in = true;
      for (int d = 0; d < sr; ++d) {
        int64_t p = oidx[2 + d] * c.strides[d] - c.pads[d] + kidx[d];
        in &= p >= 0 && p < x.shape.d[2 + d];
        off += p * xst[2 + d];
      }
      if (in)
        inside.push_back(off);
    }
    if (inside.empty())
      continue;
    int64_t best = inside[0];
    for (int64_t off : inside)
      if (at(x, off) > at(x, best))
        best = off;
    dxMax[size_t(best)] += at(dy, o);
    const double div = countIncludePad ? double(padded) : double(inside.size());
    for (int64_t off : inside)
      dxAvg[size_t(off)] += at(dy, o) / div;
  }
}

void checkPoolGrads(const PoolCase &c) {
  const int sr = c.x.rank - 2;
  const Dims os = poolOut(c);
  const Dims k(c.kernel.data(), sr), st(c.strides.data(), sr),
      pads(c.pads.data(), 2 * sr);
  HostTensor x = random(DType::F32, c.x), dy = random(DType::F32, os);
  for (bool includePad : {false, true}) {
    std::vector<double> wantMax, wantAvg;
    refPoolGrads(x, dy, c, includePad, wantMax, wantAvg);
    for (int threads : {1, 2, 3}) {
      Threads t(threads);
      INFO("x " << formatDims(c.x) << " out " << formatDims(os)
                << " count_include_pad " << includePad << ", " << threads
                << " threads");
      HostTensor dxMax = garbage(c.x), dxAvg = garbage(c.x);
      maxPoolGrad(x.view(), dy.view(), dxMax.view(), k, st, pads);
      avgPoolGrad(dy.view(), dxAvg.view(), k, st, pads, includePad);
      requireClose(dxMax, wantMax, 1e-6, 1e-6);
      requireClose(dxAvg, wantAvg, 1e-6, 1e-5);
      HostTensor yMax = zeros(DType::F32, os), yAvg = zeros(DType::F32, os);
      maxPool(x.view(), yMax.view(), k, st, pads);
      avgPool(x.view(), yAvg.view(), k, st, pads, includePad);
      checkAdjoint(dot(yMax, dy), dot(x, dxMax), double(os.numel()));
      checkAdjoint(dot(yAvg, dy), dot(x, dxAvg), double(os.numel()));
    }
  }
}

//===--- slice
//--------------------------------------------------------------===//

void checkSliceGrad(DType dt, const Dims &xs, const Dims &ys,
                    std::vector<int64_t> starts, std::vector<int64_t> steps) {
  const int r = xs.rank;
  HostTensor dy = random(dt, ys, -100, 100);
  HostTensor dx = random(dt, xs, -100, 100); // overwritten
  sliceGrad(dy.view(), dx.view(), Dims(starts.data(), r),
            Dims(steps.data(), r));
  std::vector<double> want(size_t(xs.numel()), 0.0);
  int64_t idx[kMaxRank], xst[kMaxRank];
  strides(xs, xst);
  for (int64_t i = 0; i < ys.numel(); ++i) {
    unravel(ys, i, idx);
    int64_t off = 0;
    for (int d = 0; d < r; ++d) {
      int64_t s = starts[d] < 0 ? starts[d] + xs.d[d] : starts[d];
      off += (s + idx[d] * steps[d]) * xst[d];
    }
    want[size_t(off)] = at(dy, i);
  }
  INFO("slice " << formatDims(ys) << " of " << formatDims(xs));
  requireClose(dx, want, 0, 0);
  // The adjoint of the forward slice.
  HostTensor y = zeros(dt, ys);
  slice(dx.view(), y.view(), Dims(starts.data(), r), Dims(steps.data(), r));
  requireClose(y, values(dy), 0, 0);
}

} // namespace

TEST_CASE(
    "convInputGrad and convWeightGrad: 2-d plain, strided, padded, dilated",
    "[convgrad]") {
  checkConvGrads({{2, 3, 7, 6}, {4, 3, 3, 3}, {2, 2}, {1, 1, 1, 0}, {1, 1}, 1});
  checkConvGrads({{1, 3, 9, 9}, {4, 3, 3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1});
  // input rows and columns no window reads (their gradient is 0)
  checkConvGrads({{1, 2, 8, 9}, {3, 2, 3, 3}, {2, 3}, {0, 0, 0, 0}, {1, 1}, 1});
  // stride 3 with pads on one side, dilation with stride
  checkConvGrads(
      {{1, 2, 14, 16}, {3, 2, 3, 3}, {3, 3}, {1, 2, 0, 1}, {1, 1}, 1});
  checkConvGrads(
      {{1, 3, 17, 19}, {4, 3, 3, 3}, {2, 2}, {2, 1, 0, 3}, {2, 2}, 1});
}

TEST_CASE("convInputGrad and convWeightGrad: groups, depthwise, 1x1",
          "[convgrad]") {
  checkConvGrads(
      {{2, 6, 9, 10}, {9, 2, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 3});
  checkConvGrads({{2, 4, 5, 5}, {6, 2, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2});
  // depthwise: multiplier 1 and 2, 5x5, stride 2 and 3, dilation
  checkConvGrads(
      {{2, 8, 15, 13}, {8, 1, 5, 5}, {2, 2}, {2, 2, 2, 2}, {1, 1}, 8});
  checkConvGrads(
      {{1, 4, 12, 12}, {8, 1, 3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 4});
  checkConvGrads(
      {{1, 3, 20, 20}, {3, 1, 3, 3}, {3, 3}, {1, 1, 1, 1}, {2, 2}, 3});
  // pointwise (no im2col) and 1x1 with stride 2
  checkConvGrads({{2, 5, 3, 7}, {6, 5, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1});
  checkConvGrads({{2, 5, 9, 7}, {6, 5, 1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1});
}

TEST_CASE("convInputGrad and convWeightGrad: 1-d and 3-d", "[convgrad]") {
  checkConvGrads({{2, 3, 9}, {4, 3, 3}, {2}, {1, 1}, {2}, 1});
  checkConvGrads({{2, 4, 11}, {4, 1, 3}, {1}, {1, 1}, {1}, 4});
  checkConvGrads({{1, 2, 5, 6, 9},
                  {3, 2, 3, 3, 3},
                  {2, 1, 2},
                  {1, 1, 1, 1, 1, 1},
                  {1, 1, 1},
                  1});
}

TEST_CASE("convInputGrad and convWeightGrad: sizes that split across threads",
          "[convgrad]") {
  // one image: row blocks (288 x 48 columns per output row), GEMMs split
  checkConvGrads(
      {{1, 32, 48, 48}, {16, 32, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1});
  // images across threads, private weight-gradient sums
  checkConvGrads(
      {{4, 16, 24, 24}, {16, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1});
  checkConvGrads(
      {{3, 16, 20, 20}, {32, 16, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1});
  checkConvGrads(
      {{2, 32, 16, 16}, {32, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 32});
}

TEST_CASE("convInputGrad and convWeightGrad errors", "[convgrad]") {
  HostTensor x = random(DType::F32, {1, 3, 8, 8}),
             w = random(DType::F32, {4, 3, 3, 3});
  HostTensor dy = random(DType::F32, {1, 4, 6, 6}),
             bad = random(DType::F32, {1, 4, 5, 6});
  HostTensor dx = zeros(DType::F32, {1, 3, 8, 8}),
             dw = zeros(DType::F32, {4, 3, 3, 3});
  HostTensor x64 = random(DType::F64, {1, 3, 8, 8});
  CHECK_THROWS_WITH(
      convInputGrad(bad.view(), w.view(), dx.view(), {1, 1}, {0, 0, 0, 0},
                    {1, 1}, 1),
      Catch::Contains("convInputGrad: output gradient 1x4x5x6 does not match"));
  CHECK_THROWS_WITH(convWeightGrad(x.view(), dy.view(), dw.view(), {1, 1},
                                   {0, 0, 0, 0}, {1, 1}, 2),
                    Catch::Contains("convWeightGrad: group 2 does not fit"));
  CHECK_THROWS_WITH(
      convWeightGrad(x64.view(), dy.view(), dw.view(), {1, 1}, {0, 0, 0, 0},
                     {1, 1}, 1),
      Catch::Contains("convWeightGrad: input has dtype f64, expected f32"));
  CHECK_THROWS_WITH(convInputGrad(dy.view(), w.view(), dx.view(), {1},
                                  {0, 0, 0, 0}, {1, 1}, 1),
                    Catch::Contains("1 strides for 2 spatial dims"));
}

TEST_CASE("maxPoolGrad and avgPoolGrad: pads, strides, ceil mode, 1-d to 3-d",
          "[poolgrad]") {
  checkPoolGrads({{2, 2, 5, 5}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false});
  checkPoolGrads({{1, 2, 6, 6}, {3, 3}, {2, 2}, {1, 1, 1, 1}, true});
  checkPoolGrads({{2, 3, 17, 19}, {3, 3}, {2, 2}, {0, 0, 0, 0}, true});
  checkPoolGrads({{1, 2, 10, 11}, {2, 2}, {1, 1}, {0, 1, 1, 0}, false});
  checkPoolGrads({{1, 2, 16, 21}, {3, 3}, {3, 3}, {1, 1, 1, 1}, true});
  checkPoolGrads({{2, 3, 9}, {3}, {2}, {1, 1}, true});
  checkPoolGrads(
      {{1, 2, 4, 5, 6}, {2, 3, 2}, {2, 1, 2}, {0, 1, 1, 1, 1, 0}, true});
  // large enough to split planes across threads
  checkPoolGrads({{2, 16, 32, 32}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false});
}

TEST_CASE("maxPoolGrad: ties, NaN, windows of padding only; errors",
          "[poolgrad]") {
  // Ties go to the first maximum; a NaN wins; an all-padding window passes
  // nothing.
  float x[9] = {1, 5, 5, 5, std::nanf(""), 2, 3, 3, 0};
  float dy[16], dx[9];
  std::fill(dy, dy + 16, 1.f);
  maxPoolGrad(
      Tensor(x, DType::F32, {1, 1, 3, 3}), Tensor(dy, DType::F32, {1, 1, 2, 2}),
      Tensor(dx, DType::F32, {1, 1, 3, 3}), {2, 2}, {1, 1}, {0, 0, 0, 0});
  // windows: {1,5,5,NaN} -> NaN at 4; {5,5,NaN,2} -> 4; {5,NaN,3,3} -> 4;
  // {NaN,2,3,0} -> 4
  CHECK(dx[4] == 4.f);
  x[4] = 0;
  maxPoolGrad(
      Tensor(x, DType::F32, {1, 1, 3, 3}), Tensor(dy, DType::F32, {1, 1, 2, 2}),
      Tensor(dx, DType::F32, {1, 1, 3, 3}), {2, 2}, {1, 1}, {0, 0, 0, 0});
  // {1,5,5,0} -> 1; {5,5,0,2} -> 1; {5,0,3,3} -> 3; {0,2,3,0} -> 7
  const float want[9] = {0, 2, 0, 1, 0, 0, 0, 1, 0};
  for (int i = 0; i < 9; ++i)
    CHECK(dx[i] == want[i]);
  // pads 2 before: the first window holds only padding
  maxPoolGrad(
      Tensor(x, DType::F32, {1, 1, 3, 3}), Tensor(dy, DType::F32, {1, 1, 4, 4}),
      Tensor(dx, DType::F32, {1, 1, 3, 3}), {2, 2}, {1, 1}, {2, 2, 0, 0});
  float sum = 0;
  for (float v : dx)
    sum += v;
  CHECK(sum == 9.f); // 16 windows, 7 of them only padding
  float dx6[6];
  CHECK_THROWS_WITH(
      maxPoolGrad(Tensor(x, DType::F32, {1, 1, 3, 3}),
                  Tensor(dy, DType::F32, {1, 1, 2, 2}),
                  Tensor(dx6, DType::F32, {1, 1, 2, 3}), {2, 2}, {1, 1},
                  {0, 0, 0, 0}),
      Catch::Contains("input gradient 1x1x2x3 differs from input 1x1x3x3"));
  CHECK_THROWS_WITH(
      avgPoolGrad(Tensor(dy, DType::F32, {1, 1, 4, 4}),
                  Tensor(dx, DType::F32, {1, 1, 3, 3}), {2, 2}, {1, 1},
                  {0, 0, 0, 0}, false),
      Catch::Contains("avgPoolGrad: output gradient 1x1x4x4 does not fit"));
}

TEST_CASE("sliceGrad: strided, reversed, merged dims, any dtype",
          "[slicegrad]") {
  checkSliceGrad(DType::F32, {5, 7}, {3, 2}, {0, 1}, {2, 3});
  checkSliceGrad(DType::F32, {3, 4, 7}, {3, 2, 4}, {0, 2, 6}, {1, -1, -2});
  checkSliceGrad(DType::F32, {4, 6}, {2, 5}, {1, -5}, {1, 1});
  checkSliceGrad(DType::F32, {2, 3, 4}, {2, 3, 4}, {0, 0, 0}, {1, 1, 1});
  checkSliceGrad(DType::F64, {6, 5}, {2, 5}, {5, 4}, {-3, -1});
  checkSliceGrad(DType::I64, {8}, {3}, {7}, {-3});
  checkSliceGrad(DType::F32, {1200, 500}, {600, 250}, {1, 499},
                 {2, -2}); // parallel rows
  checkSliceGrad(DType::F32, {4, 6}, {4, 0}, {0, 0},
                 {1, 1}); // empty: all zeros
  float dy[3] = {1, 2, 3}, dx[4];
  CHECK_THROWS_WITH(
      sliceGrad(Tensor(dy, DType::F32, {3}), Tensor(dx, DType::F32, {4}), {2},
                {1}),
      Catch::Contains("sliceGrad: dim 0 reads [2, 4] step 1 outside size 4"));
  CHECK_THROWS_WITH(sliceGrad(Tensor(dy, DType::F32, {3}),
                              Tensor(dx, DType::F32, {2, 2}), {0}, {1}),
                    Catch::Contains("differ in rank"));
}
