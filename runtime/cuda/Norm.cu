//===- Norm.cu - layerNorm, softmax, batchNorm on the GPU ------------------===//
//
// Semantics of runtime/cpu/Norm.cpp: layer-norm statistics and softmax sums
// in double; softmax subtracts the row maximum. Rows along the last dims
// run one block per row; softmax over an inner axis runs one thread per
// (outer, inner) column; layerNormGrad's column sums one thread per column,
// its rows in order.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/KernelArgs.h"
#include "runtime/cuda/Common.cuh"
#include "runtime/cuda/Reduce.cuh"

namespace bbrt {
namespace cuda {
namespace {

/// The block's row of D values: its mean and 1/sqrt(variance + epsilon),
/// in double (every thread gets them).
template <typename T>
__device__ void rowStats(const T *xs, int64_t D, float epsilon, double *shared,
                         double &mean, double &inv) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x)
    s += double(xs[i]);
  mean = blockSum(s, shared) / double(D);
  double q = 0;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
    const double d = double(xs[i]) - mean;
    q += d * d;
  }
  inv = 1.0 / sqrt(blockSum(q, shared) / double(D) + double(epsilon));
}

template <typename T>
__global__ void layerNormKernel(const T *x, T *y, const T *scale,
                                const T *bias, int64_t D, float epsilon) {
  __shared__ double shared[32];
  const T *xs = x + blockIdx.x * D;
  T *ys = y + blockIdx.x * D;
  double mean, inv;
  rowStats(xs, D, epsilon, shared, mean, inv);
  const T m = T(mean), iv = T(inv);
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
    T v = (xs[i] - m) * iv * scale[i];
    ys[i] = bias ? v + bias[i] : v;
  }
}

/// layerNormGrad's dx, a block per row; the row's mean (as a float and
/// what rounding left out) and 1/std into stats[3 row ..] for the column
/// sums.
__global__ void layerNormGradKernel(const float *x, const float *scale,
                                    const float *dy, float *dx, float *stats,
                                    int64_t D, float epsilon) {
  __shared__ double shared[32];
  const float *xs = x + blockIdx.x * D, *gs = dy + blockIdx.x * D;
  float *dxs = dx + blockIdx.x * D;
  double mean, inv;
  rowStats(xs, D, epsilon, shared, mean, inv);
  const float rstd = float(inv);
  // x - m is exact near the mean; dm is what rounding m left out.
  const float m = float(mean), dm = float(mean - double(m));
  double s1 = 0, s2 = 0;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
    const float xhat = ((xs[i] - m) - dm) * rstd, g = gs[i] * scale[i];
    s1 += g;
    s2 += double(g) * xhat;
  }
  const float m1 = float(blockSum(s1, shared) / double(D));
  const float m2 = float(blockSum(s2, shared) / double(D));
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
    const float xhat = ((xs[i] - m) - dm) * rstd;
    dxs[i] = rstd * (gs[i] * scale[i] - m1 - xhat * m2);
  }
  if (threadIdx.x == 0) {
    stats[3 * blockIdx.x] = m;
    stats[3 * blockIdx.x + 1] = dm;
    stats[3 * blockIdx.x + 2] = rstd;
  }
}

/// layerNormGrad's dscale and dbias: a thread per column, the rows summed
/// in order in double.
__global__ void layerNormGradColumnsKernel(const float *x, const float *dy,
                                           const float *stats, float *dscale,
                                           float *dbias, int64_t rows,
                                           int64_t D) {
  BBRT_GRID_LOOP(j, D) {
    double a = 0, c = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const float xhat =
          ((x[r * D + j] - stats[3 * r]) - stats[3 * r + 1]) * stats[3 * r + 2];
      a += double(dy[r * D + j]) * xhat;
      c += dy[r * D + j];
    }
    dscale[j] = float(a);
    dbias[j] = float(c);
  }
}

template <typename T>
__global__ void softmaxRowsKernel(const T *x, T *y, int64_t A, bool log) {
  __shared__ double shared[32];
  __shared__ T sharedT[32];
  const T *xs = x + blockIdx.x * A;
  T *ys = y + blockIdx.x * A;
  T m = -INFINITY;
  for (int64_t i = threadIdx.x; i < A; i += blockDim.x)
    m = (xs[i] > m || isnan(xs[i])) ? xs[i] : m;
  m = blockMax(m, sharedT);
  double s = 0;
  for (int64_t i = threadIdx.x; i < A; i += blockDim.x)
    s += exp(double(xs[i] - m));
  s = blockSum(s, shared);
  if (log) {
    const T ls = T(::log(s));
    for (int64_t i = threadIdx.x; i < A; i += blockDim.x)
      ys[i] = xs[i] - m - ls;
  } else {
    for (int64_t i = threadIdx.x; i < A; i += blockDim.x)
      ys[i] = T(exp(double(xs[i] - m)) / s);
  }
}

template <typename T>
__global__ void softmaxColumnsKernel(const T *x, T *y, int64_t outer,
                                     int64_t A, int64_t inner, bool log) {
  BBRT_GRID_LOOP(c, outer * inner) {
    const int64_t o = c / inner, in = c % inner;
    const T *xs = x + o * A * inner + in;
    T *ys = y + o * A * inner + in;
    T m = -INFINITY;
    for (int64_t i = 0; i < A; ++i)
      m = (xs[i * inner] > m || isnan(xs[i * inner])) ? xs[i * inner] : m;
    double s = 0;
    for (int64_t i = 0; i < A; ++i)
      s += exp(double(xs[i * inner] - m));
    for (int64_t i = 0; i < A; ++i)
      ys[i * inner] = log ? T(double(xs[i * inner] - m) - ::log(s))
                          : T(exp(double(xs[i * inner] - m)) / s);
  }
}

template <typename T>
__global__ void batchNormKernel(const T *x, T *y, const T *scale,
                                const T *bias, const T *mean, const T *var,
                                int64_t n, int64_t C, int64_t inner,
                                float epsilon) {
  BBRT_GRID_LOOP(i, n) {
    const int64_t c = (i / inner) % C;
    const double inv = 1.0 / sqrt(double(var[c]) + double(epsilon));
    const T a = T(double(scale[c]) * inv);
    const T b = T(double(bias[c]) - double(mean[c]) * double(scale[c]) * inv);
    y[i] = x[i] * a + b;
  }
}

template <typename F> void byFloat(DType t, const char *what, F &&f) {
  if (t == DType::F32)
    return f(float{});
  if (t == DType::F64)
    return f(double{});
  fail("%s: dtype %s is not supported (f32, f64)", what, dtypeName(t));
}

} // namespace
} // namespace cuda

using namespace cuda;

void layerNorm(Tensor x, Tensor scale, Tensor bias, Tensor out, int64_t axis,
               float epsilon) {
  const char *k = "layerNorm";
  const NormRows nr = checkLayerNorm(x, scale, bias, out, axis);
  const int64_t D = nr.D, rows = nr.rows;
  if (rows == 0)
    return;
  byFloat(x.dtype, k, [&](auto tag) {
    using T = decltype(tag);
    layerNormKernel<T><<<static_cast<unsigned>(rows), kThreads, 0, stream()>>>(
        static_cast<const T *>(x.data), static_cast<T *>(out.data),
        static_cast<const T *>(scale.data), static_cast<const T *>(bias.data),
        D, epsilon);
  });
  checkLaunch(k);
}

void layerNormGrad(Tensor x, Tensor scale, Tensor dy, Tensor dx, Tensor dscale,
                   Tensor dbias, int64_t axis, float epsilon) {
  const char *k = "layerNormGrad";
  const NormRows nr = checkLayerNormGrad(x, scale, dy, dx, dscale, dbias, axis);
  const int64_t D = nr.D, rows = nr.rows;
  if (D == 0)
    return;
  float *stats = static_cast<float *>(
      cuda::scratch(sizeof(float) * 3 * std::max<int64_t>(1, rows), 0));
  if (rows > 0) {
    layerNormGradKernel<<<static_cast<unsigned>(rows), kThreads, 0, stream()>>>(
        static_cast<const float *>(x.data), static_cast<const float *>(scale.data),
        static_cast<const float *>(dy.data), static_cast<float *>(dx.data), stats,
        D, epsilon);
    checkLaunch(k);
  }
  layerNormGradColumnsKernel<<<blocksFor(D), kThreads, 0, stream()>>>(
      static_cast<const float *>(x.data), static_cast<const float *>(dy.data),
      stats, static_cast<float *>(dscale.data), static_cast<float *>(dbias.data),
      rows, D);
  checkLaunch(k);
}

void softmax(Tensor x, Tensor out, int64_t axis, bool log) {
  const char *k = log ? "logSoftmax" : "softmax";
  if (x.shape != out.shape || x.dtype != out.dtype)
    fail("%s: output %s differs from input %s", k,
         formatDims(out.shape).c_str(), formatDims(x.shape).c_str());
  const int a = static_cast<int>(normAxis(k, axis, x.shape.rank));
  // A rank-0 tensor is one row of one element (as the CPU runtime has it).
  const int64_t outer = product(x.shape, 0, a),
                A = x.shape.rank ? x.shape.d[a] : 1,
                inner = product(x.shape, a + 1, x.shape.rank);
  if (x.numel() == 0)
    return;
  byFloat(x.dtype, k, [&](auto tag) {
    using T = decltype(tag);
    const T *xp = static_cast<const T *>(x.data);
    T *yp = static_cast<T *>(out.data);
    if (inner == 1)
      softmaxRowsKernel<T><<<static_cast<unsigned>(outer), kThreads, 0, stream()>>>(
          xp, yp, A, log);
    else
      softmaxColumnsKernel<T><<<blocksFor(outer * inner), kThreads, 0, stream()>>>(
          xp, yp, outer, A, inner, log);
  });
  checkLaunch(k);
}

void batchNorm(Tensor x, Tensor scale, Tensor bias, Tensor mean, Tensor var,
               Tensor out, float epsilon) {
  const char *k = "batchNorm";
  if (x.shape.rank < 2 || x.shape != out.shape || x.dtype != out.dtype)
    fail("%s: input %s and output %s must match, rank >= 2", k,
         formatDims(x.shape).c_str(), formatDims(out.shape).c_str());
  const int64_t C = x.shape.d[1];
  for (const Tensor *t : {&scale, &bias, &mean, &var})
    if (t->numel() != C || t->dtype != x.dtype)
      fail("%s: scale, bias, mean and var must be %lld elements of %s", k,
           (long long)C, dtypeName(x.dtype));
  const int64_t n = x.numel();
  if (n == 0)
    return;
  const int64_t inner = product(x.shape, 2, x.shape.rank);
  byFloat(x.dtype, k, [&](auto tag) {
    using T = decltype(tag);
    batchNormKernel<T><<<blocksFor(n), kThreads, 0, stream()>>>(
        static_cast<const T *>(x.data), static_cast<T *>(out.data),
        static_cast<const T *>(scale.data), static_cast<const T *>(bias.data),
        static_cast<const T *>(mean.data), static_cast<const T *>(var.data), n,
        C, inner, epsilon);
  });
  checkLaunch(k);
}

} // namespace bbrt
