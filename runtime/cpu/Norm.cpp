//===- Norm.cpp - batchNorm, layerNorm, softmax ---------------------------===//
#include "runtime/core/KernelArgs.h"
#include "runtime/cpu/Common.h"
#include "runtime/cpu/Simd.h"

#include <cmath>
#include <limits>
#include <vector>

namespace bbrt {

using namespace cpu;

namespace {

/// y = (x - mean) * inv * scale (+ bias) over one row of D elements.
template <typename T>
inline void normalizeRow(const T *xs, T *ys, T m, T s, const T *sc,
                         const T *bi, int64_t D) {
  if (bi)
    for (int64_t i = 0; i < D; ++i)
      ys[i] = (xs[i] - m) * s * sc[i] + bi[i];
  else
    for (int64_t i = 0; i < D; ++i)
      ys[i] = (xs[i] - m) * s * sc[i];
}

/// A row of D floats: its mean and 1/sqrt(variance + epsilon), in double.
BBRT_INLINE void rowStats(const float *xs, int64_t D, float epsilon,
                          double &mean, double &inv) {
  mean = simd::sumToDouble(xs, D) / double(D);
  const double sq = simd::sqDevToDouble(xs, D, mean);
  inv = 1.0 / std::sqrt(sq / double(D) + double(epsilon));
}

/// f32 layerNorm of rows [r0, r1): statistics in double, vectorized.
BBRT_CLONES void layerNormRowsF32(const float *xp, float *yp, const float *sc,
                                  const float *bi, int64_t r0, int64_t r1,
                                  int64_t D, float epsilon) {
  for (int64_t r = r0; r < r1; ++r) {
    double mean, inv;
    rowStats(xp + r * D, D, epsilon, mean, inv);
    normalizeRow(xp + r * D, yp + r * D, float(mean), float(inv), sc, bi, D);
  }
}

/// f32 softmax (or log-softmax) of contiguous rows [r0, r1) of length A.
BBRT_CLONES void softmaxRowsF32(const float *xp, float *yp, int64_t r0,
                                int64_t r1, int64_t A, bool log) {
  for (int64_t r = r0; r < r1; ++r) {
    const float *xs = xp + r * A;
    float *ys = yp + r * A;
    const float mx = simd::maxOf(xs, A);
    for (int64_t i = 0; i < A; ++i)
      ys[i] = simd::expf(xs[i] - mx);
    const double sum = simd::sumToDouble(ys, A);
    if (log) {
      const float ls = float(std::log(sum));
      for (int64_t i = 0; i < A; ++i)
        ys[i] = xs[i] - mx - ls;
    } else {
      const float inv = float(1.0 / sum);
      for (int64_t i = 0; i < A; ++i)
        ys[i] *= inv;
    }
  }
}

template <typename T> inline T expT(T v) {
  if constexpr (std::is_same<T, float>::value)
    return simd::expf(v);
  else
    return std::exp(v);
}

template <typename F> void dispatchFloat(const char *k, DType d, F &&f) {
  if (d == DType::F32)
    return f(Tag<float>{});
  if (d == DType::F64)
    return f(Tag<double>{});
  unsupported(k, d);
}

} // namespace

void batchNorm(Tensor x, Tensor scale, Tensor bias, Tensor mean, Tensor var,
               Tensor out, float epsilon) {
  const char *k = "batchNorm";
  if (x.shape != out.shape || x.dtype != out.dtype)
    fail("%s: output %s %s differs from input %s %s", k,
         dtypeName(out.dtype), formatDims(out.shape).c_str(),
         dtypeName(x.dtype), formatDims(x.shape).c_str());
  if (x.shape.rank < 2)
    fail("%s: input must have rank >= 2, got %s", k,
         formatDims(x.shape).c_str());
  const int64_t N = x.shape.d[0], C = x.shape.d[1];
  const int64_t S = N * C == 0 ? 0 : x.numel() / (N * C);
  const Tensor *params[4] = {&scale, &bias, &mean, &var};
  const char *pnames[4] = {"scale", "bias", "mean", "var"};
  for (int i = 0; i < 4; ++i) {
    if (params[i]->numel() != C)
      fail("%s: %s has %lld elements for %lld channels", k, pnames[i],
           (long long)params[i]->numel(), (long long)C);
    checkDType(k, pnames[i], *params[i], x.dtype);
    checkData(k, pnames[i], *params[i]);
  }
  checkData(k, "input", x);
  checkData(k, "output", out);
  dispatchFloat(k, x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *sc = (const T *)scale.data, *bi = (const T *)bias.data,
            *mu = (const T *)mean.data, *va = (const T *)var.data;
    std::vector<T> a(C), b(C);
    for (int64_t c = 0; c < C; ++c) {
      double inv = 1.0 / std::sqrt(double(va[c]) + double(epsilon));
      a[c] = T(double(sc[c]) * inv);
      b[c] = T(double(bi[c]) - double(mu[c]) * double(sc[c]) * inv);
    }
    const T *xp = (const T *)x.data;
    T *yp = (T *)out.data;
    parallelFor(N * C, x.numel() >= kParallelMin, [&](int64_t p) {
      const T av = a[p % C], bv = b[p % C];
      const T *xs = xp + p * S;
      T *ys = yp + p * S;
      for (int64_t i = 0; i < S; ++i)
        ys[i] = xs[i] * av + bv;
    });
  });
}

void layerNorm(Tensor x, Tensor scale, Tensor bias, Tensor out, int64_t axis,
               float epsilon) {
  const char *k = "layerNorm";
  const NormRows nr = checkLayerNorm(x, scale, bias, out, axis);
  const int64_t D = nr.D, rows = nr.rows;
  checkData(k, "input", x);
  checkData(k, "output", out);
  checkData(k, "scale", scale);
  dispatchFloat(k, x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *xp = (const T *)x.data, *sc = (const T *)scale.data,
            *bi = (const T *)bias.data;
    T *yp = (T *)out.data;
    if constexpr (std::is_same<T, float>::value) {
      parallelRange(rows, x.numel() >= kParallelMin / 4,
                    [&](int64_t r0, int64_t r1) {
                      layerNormRowsF32(xp, yp, sc, bi, r0, r1, D, epsilon);
                    });
      return;
    }
    parallelFor(rows, x.numel() >= kParallelMin / 4, [&](int64_t r) {
      const T *xs = xp + r * D;
      T *ys = yp + r * D;
      double sum = 0;
      for (int64_t i = 0; i < D; ++i)
        sum += xs[i];
      const double mean = sum / double(D);
      double sq = 0;
      for (int64_t i = 0; i < D; ++i) {
        double dv = double(xs[i]) - mean;
        sq += dv * dv;
      }
      const double inv = 1.0 / std::sqrt(sq / double(D) + double(epsilon));
      normalizeRow(xs, ys, T(mean), T(inv), sc, bi, D);
    });
  });
}

namespace {

/// Rows per block of layerNormGrad's column sums (fixed, so the sums are
/// the same on any thread count).
constexpr int64_t kNormGradBlock = 64;

/// layerNormGrad over rows [r0, r1): dx, and the rows' sums of dy * xhat
/// and dy into colScale/colBias (double, D each).
BBRT_CLONES void layerNormGradRowsF32(const float *xp, const float *sc,
                                      const float *gp, float *dxp,
                                      int64_t r0, int64_t r1, int64_t D,
                                      float epsilon, double *colScale,
                                      double *colBias) {
  std::fill(colScale, colScale + D, 0.0);
  std::fill(colBias, colBias + D, 0.0);
  for (int64_t r = r0; r < r1; ++r) {
    const float *xs = xp + r * D, *gs = gp + r * D;
    float *dxs = dxp + r * D;
    double mean, inv;
    rowStats(xs, D, epsilon, mean, inv);
    const float rstd = float(inv);
    // x - m is exact for x near the mean m (rounded to float); dm is what
    // that rounding left out (a large common offset would shift xhat).
    const float m = float(mean), dm = float(mean - double(m));
    double s1 = 0, s2 = 0; // sums of g and g * xhat, g = dy * scale
    for (int64_t i = 0; i < D; ++i) {
      const float xhat = ((xs[i] - m) - dm) * rstd, g = gs[i] * sc[i];
      s1 += g;
      s2 += double(g) * xhat;
      colScale[i] += double(gs[i]) * xhat;
      colBias[i] += gs[i];
      dxs[i] = xhat; // until the row's sums are known
    }
    const float m1 = float(s1 / double(D)), m2 = float(s2 / double(D));
    for (int64_t i = 0; i < D; ++i)
      dxs[i] = rstd * (gs[i] * sc[i] - m1 - dxs[i] * m2);
  }
}

} // namespace

void layerNormGrad(Tensor x, Tensor scale, Tensor dy, Tensor dx, Tensor dscale,
                   Tensor dbias, int64_t axis, float epsilon) {
  const NormRows nr = checkLayerNormGrad(x, scale, dy, dx, dscale, dbias, axis);
  const int64_t D = nr.D, rows = nr.rows;
  const int64_t blocks = (rows + kNormGradBlock - 1) / kNormGradBlock;
  // Per block of rows: its column sums (scale's, then bias's), added in
  // block order at the end.
  double *cols = scratch<double>(0, std::max<int64_t>(1, blocks) * 2 * D);
  const float *xp = static_cast<const float *>(x.data),
              *sc = static_cast<const float *>(scale.data),
              *gp = static_cast<const float *>(dy.data);
  float *dxp = static_cast<float *>(dx.data);
  parallelFor(blocks, x.numel() >= kParallelMin / 4, [&](int64_t blk) {
    const int64_t r0 = blk * kNormGradBlock;
    layerNormGradRowsF32(xp, sc, gp, dxp, r0, std::min(rows, r0 + kNormGradBlock),
                         D, epsilon, cols + blk * 2 * D, cols + blk * 2 * D + D);
  });
  float *ds = static_cast<float *>(dscale.data), *db = static_cast<float *>(dbias.data);
  for (int64_t i = 0; i < D; ++i) {
    double a = 0, c = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      a += cols[blk * 2 * D + i];
      c += cols[blk * 2 * D + D + i];
    }
    ds[i] = float(a);
    db[i] = float(c);
  }
}

void softmax(Tensor x, Tensor out, int64_t axis, bool log) {
  const char *k = log ? "logSoftmax" : "softmax";
  if (x.shape != out.shape || x.dtype != out.dtype)
    fail("%s: output %s %s differs from input %s %s", k,
         dtypeName(out.dtype), formatDims(out.shape).c_str(),
         dtypeName(x.dtype), formatDims(x.shape).c_str());
  int64_t a = normAxis(k, axis, x.shape.rank);
  checkData(k, "input", x);
  checkData(k, "output", out);
  if (x.numel() == 0)
    return;
  int64_t outer = 1, inner = 1;
  const int64_t A = x.shape.rank ? x.shape.d[a] : 1;
  for (int i = 0; i < a; ++i)
    outer *= x.shape.d[i];
  for (int i = static_cast<int>(a) + 1; i < x.shape.rank; ++i)
    inner *= x.shape.d[i];
  dispatchFloat(k, x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *xp = (const T *)x.data;
    T *yp = (T *)out.data;
    if (inner == 1 && std::is_same<T, float>::value) {
      parallelRange(
          outer, x.numel() >= kParallelMinHeavy, [&](int64_t r0, int64_t r1) {
            softmaxRowsF32((const float *)xp, (float *)yp, r0, r1, A, log);
          });
      return;
    }
    if (inner == 1) {
      parallelFor(outer, x.numel() >= kParallelMinHeavy, [&](int64_t r) {
        const T *xs = xp + r * A;
        T *ys = yp + r * A;
        T mx = -std::numeric_limits<T>::infinity();
        for (int64_t i = 0; i < A; ++i)
          mx = xs[i] > mx ? xs[i] : mx;
        double sum = 0;
        if (log) {
          for (int64_t i = 0; i < A; ++i)
            sum += std::exp(double(xs[i] - mx));
          const T ls = T(std::log(sum));
          for (int64_t i = 0; i < A; ++i)
            ys[i] = xs[i] - mx - ls;
        } else {
          for (int64_t i = 0; i < A; ++i) {
            T e = std::exp(xs[i] - mx);
            ys[i] = e;
            sum += e;
          }
          const T inv = T(1.0 / sum);
          for (int64_t i = 0; i < A; ++i)
            ys[i] *= inv;
        }
      });
      return;
    }
    // Strided axis: work on [A, chunk] panels, vectorized along inner.
    const int64_t chunk = 256;
    const int64_t nc = (inner + chunk - 1) / chunk;
    parallelFor(outer * nc, x.numel() >= kParallelMinHeavy, [&](int64_t t) {
      const int64_t o = t / nc, c0 = (t % nc) * chunk;
      const int64_t w = std::min(chunk, inner - c0);
      const T *xs = xp + o * A * inner + c0;
      T *ys = yp + o * A * inner + c0;
      T mx[chunk];
      double sum[chunk];
      for (int64_t i = 0; i < w; ++i) {
        mx[i] = -std::numeric_limits<T>::infinity();
        sum[i] = 0;
      }
      for (int64_t j = 0; j < A; ++j)
        for (int64_t i = 0; i < w; ++i) {
          T v = xs[j * inner + i];
          mx[i] = v > mx[i] ? v : mx[i];
        }
      for (int64_t j = 0; j < A; ++j)
        for (int64_t i = 0; i < w; ++i) {
          T e = expT(xs[j * inner + i] - mx[i]);
          if (!log)
            ys[j * inner + i] = e;
          sum[i] += e;
        }
      if (log) {
        for (int64_t i = 0; i < w; ++i)
          sum[i] = std::log(sum[i]);
        for (int64_t j = 0; j < A; ++j)
          for (int64_t i = 0; i < w; ++i)
            ys[j * inner + i] = xs[j * inner + i] - mx[i] - T(sum[i]);
      } else {
        for (int64_t i = 0; i < w; ++i)
          sum[i] = 1.0 / sum[i];
        for (int64_t j = 0; j < A; ++j)
          for (int64_t i = 0; i < w; ++i)
            ys[j * inner + i] *= T(sum[i]);
      }
    });
  });
}

} // namespace bbrt
