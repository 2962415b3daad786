//===- Conv.cu - convolution, pooling and their gradients on the GPU -------===//
//
// Semantics of runtime/cpu/Conv.cpp and ConvGrad.cpp, geometry and checks
// from core/Window.h. Ungrouped convolutions are im2col + cuBLASLt (through
// bbrt::matmul) over chunks of images, the gradients col2im (a gather per
// input element, deterministic) and a GEMM summed over images; grouped ones
// (depthwise) run one thread per output element. Pools run one thread per
// output; the max-pool gradient adds at each window's argmax with atomics
// (the first maximum on ties, NaN wins, padding never does).
//
//===----------------------------------------------------------------------===//
#include "runtime/core/KernelArgs.h"
#include "runtime/core/Window.h"
#include "runtime/cuda/Common.cuh"

namespace bbrt {
namespace cuda {
namespace {

/// Floats of im2col scratch per chunk of images (256 MiB).
constexpr int64_t kColBudget = int64_t(64) << 20;

__device__ void outCoords(const Geom &g, int64_t p, int64_t o[3]) {
  o[2] = p % g.out[2];
  o[1] = (p / g.out[2]) % g.out[1];
  o[0] = p / (g.out[2] * g.out[1]);
}

__device__ void tapCoords(const Geom &g, int64_t t, int64_t k[3]) {
  k[2] = t % g.k[2];
  k[1] = (t / g.k[2]) % g.k[1];
  k[0] = t / (g.k[2] * g.k[1]);
}

/// The input offset within one channel plane of tap k of output o, or -1
/// when it falls in the padding.
__device__ int64_t inputAt(const Geom &g, const int64_t o[3],
                           const int64_t k[3]) {
  int64_t off = 0;
  for (int i = 0; i < 3; ++i) {
    const int64_t pos = o[i] * g.s[i] - g.pb[i] + k[i] * g.d[i];
    if (pos < 0 || pos >= g.in[i])
      return -1;
    off = off * g.in[i] + pos;
  }
  return off;
}

/// The spatial coordinates of input offset i within a channel plane.
__device__ void inputCoords(const Geom &g, int64_t i, int64_t pos[3]) {
  pos[0] = i / (g.in[1] * g.in[2]);
  pos[1] = (i / g.in[2]) % g.in[1];
  pos[2] = i % g.in[2];
}

/// The output whose tap k reads input position pos: its coordinates in o
/// and false when no output does (the gradients' gather direction).
__device__ bool outputReading(const Geom &g, const int64_t pos[3],
                              const int64_t k[3], int64_t o[3]) {
  for (int d = 0; d < 3; ++d) {
    const int64_t q = pos[d] + g.pb[d] - k[d] * g.d[d];
    if (q < 0 || q % g.s[d] != 0 || q / g.s[d] >= g.out[d])
      return false;
    o[d] = q / g.s[d];
  }
  return true;
}

__device__ int64_t outputOffset(const Geom &g, const int64_t o[3]) {
  return (o[0] * g.out[1] + o[1]) * g.out[2] + o[2];
}

/// col[n][c * K + t][p] = x[n0 + n][c] at tap t of output p (0 in padding).
__global__ void im2colKernel(const float *x, float *col, Geom g, int64_t C,
                             int64_t images) {
  const int64_t K = g.kSize(), P = g.outSize(), I = g.inSize();
  BBRT_GRID_LOOP(e, images * C * K * P) {
    const int64_t p = e % P, t = (e / P) % K, c = (e / (P * K)) % C,
                  n = e / (P * K * C);
    int64_t o[3], k[3];
    outCoords(g, p, o);
    tapCoords(g, t, k);
    const int64_t at = inputAt(g, o, k);
    col[e] = at < 0 ? 0.f : x[(n * C + c) * I + at];
  }
}

/// dx[n][c][i] = sum over taps t and outputs p that read i of
/// colGrad[n][c * K + t][p].
__global__ void col2imKernel(const float *colGrad, float *dx, Geom g,
                             int64_t C, int64_t images) {
  const int64_t K = g.kSize(), P = g.outSize(), I = g.inSize();
  BBRT_GRID_LOOP(e, images * C * I) {
    const int64_t i = e % I, c = (e / I) % C, n = e / (I * C);
    int64_t pos[3], k[3], o[3];
    inputCoords(g, i, pos);
    float sum = 0.f;
    for (int64_t t = 0; t < K; ++t) {
      tapCoords(g, t, k);
      if (outputReading(g, pos, k, o))
        sum += colGrad[((n * C + c) * K + t) * P + outputOffset(g, o)];
    }
    dx[e] = sum;
  }
}

/// Grouped convolution, one thread per output element.
__global__ void groupedConvKernel(const float *x, const float *w,
                                  const float *bias, float *y, Geom g,
                                  int64_t F, int64_t group) {
  const int64_t K = g.kSize(), P = g.outSize(), I = g.inSize();
  const int64_t Cg = g.C / group, Fg = F / group;
  BBRT_GRID_LOOP(e, g.N * F * P) {
    const int64_t p = e % P, f = (e / P) % F, n = e / (P * F);
    const int64_t grp = f / Fg;
    int64_t o[3];
    outCoords(g, p, o);
    float sum = bias ? bias[f] : 0.f;
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t t = 0; t < K; ++t) {
        int64_t k[3];
        tapCoords(g, t, k);
        const int64_t at = inputAt(g, o, k);
        if (at >= 0)
          sum += x[(n * g.C + grp * Cg + c) * I + at] * w[(f * Cg + c) * K + t];
      }
    y[e] = sum;
  }
}

/// Grouped input gradient, one thread per input element.
__global__ void groupedInputGradKernel(const float *dy, const float *w,
                                       float *dx, Geom g, int64_t F,
                                       int64_t group) {
  const int64_t K = g.kSize(), P = g.outSize(), I = g.inSize();
  const int64_t Cg = g.C / group, Fg = F / group;
  BBRT_GRID_LOOP(e, g.N * g.C * I) {
    const int64_t i = e % I, c = (e / I) % g.C, n = e / (I * g.C);
    const int64_t grp = c / Cg, cl = c % Cg;
    int64_t pos[3], k[3], o[3];
    inputCoords(g, i, pos);
    float sum = 0.f;
    for (int64_t t = 0; t < K; ++t) {
      tapCoords(g, t, k);
      if (!outputReading(g, pos, k, o))
        continue;
      const int64_t p = outputOffset(g, o);
      for (int64_t fl = 0; fl < Fg; ++fl) {
        const int64_t f = grp * Fg + fl;
        sum += dy[(n * F + f) * P + p] * w[(f * Cg + cl) * K + t];
      }
    }
    dx[e] = sum;
  }
}

/// Grouped weight gradient, one thread per weight element (sums over
/// images and outputs in a fixed order).
__global__ void groupedWeightGradKernel(const float *x, const float *dy,
                                        float *dw, Geom g, int64_t F,
                                        int64_t group) {
  const int64_t K = g.kSize(), P = g.outSize(), I = g.inSize();
  const int64_t Cg = g.C / group, Fg = F / group;
  BBRT_GRID_LOOP(e, F * Cg * K) {
    const int64_t t = e % K, cl = (e / K) % Cg, f = e / (K * Cg);
    const int64_t c = (f / Fg) * Cg + cl;
    int64_t k[3];
    tapCoords(g, t, k);
    double sum = 0;
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t p = 0; p < P; ++p) {
        int64_t o[3];
        outCoords(g, p, o);
        const int64_t at = inputAt(g, o, k);
        if (at >= 0)
          sum += double(x[(n * g.C + c) * I + at]) * dy[(n * F + f) * P + p];
      }
    dw[e] = float(sum);
  }
}

/// Taps of output o along dim i inside the input and inside the padded
/// input (as core/Window.h's pooling rules count them).
__device__ void tapCounts(const Geom &g, const int64_t o[3], int64_t &real,
                          int64_t &padded) {
  real = padded = 1;
  for (int i = 0; i < 3; ++i) {
    int64_t r = 0, pd = 0;
    for (int64_t kk = 0; kk < g.k[i]; ++kk) {
      const int64_t pos = o[i] * g.s[i] - g.pb[i] + kk * g.d[i];
      r += pos >= 0 && pos < g.in[i];
      pd += pos >= -g.pb[i] && pos < g.in[i] + g.pe[i];
    }
    real *= r;
    padded *= pd;
  }
}

template <typename T>
__global__ void poolKernel(const T *x, T *y, Geom g, bool isMax,
                           bool countIncludePad) {
  const int64_t K = g.kSize(), P = g.outSize(), I = g.inSize();
  BBRT_GRID_LOOP(e, g.N * g.C * P) {
    const int64_t p = e % P, plane = e / P;
    int64_t o[3];
    outCoords(g, p, o);
    int64_t real, padded;
    tapCounts(g, o, real, padded);
    if (real == 0) {
      y[e] = T(0);
      continue;
    }
    double acc = 0;
    T m = -INFINITY;
    for (int64_t t = 0; t < K; ++t) {
      int64_t k[3];
      tapCoords(g, t, k);
      const int64_t at = inputAt(g, o, k);
      if (at < 0)
        continue;
      const T v = x[plane * I + at];
      if (isMax)
        m = (v > m || isnan(v)) ? v : m;
      else
        acc += double(v);
    }
    y[e] = isMax ? m : T(acc / double(countIncludePad ? padded : real));
  }
}

/// The input offset of window o's first maximum (NaN counts as the
/// largest), -1 for a window wholly in the padding.
__device__ int64_t maxAt(const Geom &g, const float *xp, const int64_t o[3]) {
  int64_t best = -1;
  float m = -INFINITY;
  for (int64_t t = 0; t < g.kSize(); ++t) {
    int64_t k[3];
    tapCoords(g, t, k);
    const int64_t at = inputAt(g, o, k);
    if (at < 0)
      continue;
    const float v = xp[at];
    if (best < 0 || v > m || (isnan(v) && !isnan(m))) {
      m = v;
      best = at;
    }
  }
  return best;
}

/// One thread per input element, no atomics: the sum of dy over the
/// windows whose first maximum it is, in increasing output order (taps
/// from the last: the CPU runtime's order), so every run gives the same
/// bits.
__global__ void maxPoolGradKernel(const float *x, const float *dy, float *dx,
                                  Geom g) {
  const int64_t K = g.kSize(), P = g.outSize(), I = g.inSize();
  BBRT_GRID_LOOP(e, g.N * g.C * I) {
    const int64_t i = e % I, plane = e / I;
    int64_t pos[3], k[3], o[3];
    inputCoords(g, i, pos);
    float sum = 0.f;
    for (int64_t t = K - 1; t >= 0; --t) {
      tapCoords(g, t, k);
      if (outputReading(g, pos, k, o) && maxAt(g, x + plane * I, o) == i)
        sum += dy[plane * P + outputOffset(g, o)];
    }
    dx[e] = sum;
  }
}

__global__ void avgPoolGradKernel(const float *dy, float *dx, Geom g,
                                  bool countIncludePad) {
  const int64_t K = g.kSize(), P = g.outSize(), I = g.inSize();
  BBRT_GRID_LOOP(e, g.N * g.C * I) {
    const int64_t i = e % I, plane = e / I;
    int64_t pos[3], k[3], o[3];
    inputCoords(g, i, pos);
    double sum = 0;
    for (int64_t t = 0; t < K; ++t) {
      tapCoords(g, t, k);
      if (!outputReading(g, pos, k, o))
        continue;
      int64_t real, padded;
      tapCounts(g, o, real, padded);
      const int64_t n = countIncludePad ? padded : real;
      if (n > 0)
        sum += double(dy[plane * P + outputOffset(g, o)]) / double(n);
    }
    dx[e] = float(sum);
  }
}

void checkF32(const char *k, std::initializer_list<const Tensor *> ts) {
  for (const Tensor *t : ts)
    if (!t->empty() && t->dtype != DType::F32)
      fail("%s: dtype %s is not supported by the CUDA runtime (f32)", k,
           dtypeName(t->dtype));
}

/// Images per im2col chunk.
int64_t chunkOf(const Geom &g) {
  const int64_t perImage = g.C * g.kSize() * g.outSize();
  return std::max<int64_t>(1, std::min<int64_t>(g.N, kColBudget / std::max<int64_t>(perImage, 1)));
}

} // namespace
} // namespace cuda

using namespace cuda;

void conv(Tensor x, Tensor w, Tensor bias, Tensor out, Dims strides, Dims pads,
          Dims dilations, int64_t group, bool relu) {
  const char *k = "conv";
  checkF32(k, {&x, &w, &bias, &out});
  Geom g = checkedConvGeom(k, "output", x, w, out, strides, pads, dilations,
                           group);
  const int64_t F = w.shape.d[0];
  if (!bias.empty() && bias.numel() != F)
    fail("%s: bias has %lld elements for %lld output channels", k,
         (long long)bias.numel(), (long long)F);
  if (out.numel() == 0)
    return;
  const float *bp = bias.empty() ? nullptr : static_cast<const float *>(bias.data);
  if (group > 1) {
    groupedConvKernel<<<blocksFor(out.numel()), kThreads, 0, stream()>>>(
        static_cast<const float *>(x.data), static_cast<const float *>(w.data),
        bp, static_cast<float *>(out.data), g, F, group);
    checkLaunch(k);
    if (relu) // bb.conv {relu}: a pass over the output (not yet an epilogue)
      unary(UnaryKind::Relu, out, out);
    return;
  }
  const int64_t K = g.C * g.kSize(), P = g.outSize(), chunk = chunkOf(g);
  float *col = static_cast<float *>(scratch(sizeof(float) * chunk * K * P, 1));
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    im2colKernel<<<blocksFor(nb * K * P), kThreads, 0, stream()>>>(
        static_cast<const float *>(x.data) + n0 * g.C * g.inSize(), col, g,
        g.C, nb);
    checkLaunch(k);
    float *y = static_cast<float *>(out.data) + n0 * F * P;
    matmul(Tensor(w.data, DType::F32, {F, K}), Tensor(col, DType::F32, {nb, K, P}),
           Tensor(y, DType::F32, {nb, F, P}), false, false);
  }
  if (bp) {
    const Tensor y(out.data, DType::F32, {g.N, F, P});
    binary(BinaryKind::Add, y, Tensor(bias.data, DType::F32, {F, 1}), y);
  }
  if (relu) // bb.conv {relu}: a pass over the output (not yet an epilogue)
    unary(UnaryKind::Relu, out, out);
}

void convInputGrad(Tensor dy, Tensor w, Tensor dx, Dims strides, Dims pads,
                   Dims dilations, int64_t group) {
  const char *k = "convInputGrad";
  const Geom g =
      checkConvInputGrad(dy, w, dx, strides, pads, dilations, group);
  const int64_t F = w.shape.d[0];
  if (dx.numel() == 0)
    return;
  if (group > 1) {
    groupedInputGradKernel<<<blocksFor(dx.numel()), kThreads, 0, stream()>>>(
        static_cast<const float *>(dy.data), static_cast<const float *>(w.data),
        static_cast<float *>(dx.data), g, F, group);
    checkLaunch(k);
    return;
  }
  const int64_t K = g.C * g.kSize(), P = g.outSize(), chunk = chunkOf(g);
  float *col = static_cast<float *>(scratch(sizeof(float) * chunk * K * P, 1));
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    // colGrad [nb, K, P] = w^T [K, F] x dy [nb, F, P]
    matmul(Tensor(w.data, DType::F32, {F, K}),
           Tensor(static_cast<const float *>(dy.data) + n0 * F * P, DType::F32,
                  {nb, F, P}),
           Tensor(col, DType::F32, {nb, K, P}), true, false);
    col2imKernel<<<blocksFor(nb * g.C * g.inSize()), kThreads, 0, stream()>>>(
        col, static_cast<float *>(dx.data) + n0 * g.C * g.inSize(), g, g.C, nb);
    checkLaunch(k);
  }
}

void convWeightGrad(Tensor x, Tensor dy, Tensor dw, Dims strides, Dims pads,
                    Dims dilations, int64_t group) {
  const char *k = "convWeightGrad";
  const Geom g =
      checkConvWeightGrad(x, dy, dw, strides, pads, dilations, group);
  const int64_t F = dw.shape.d[0];
  if (dw.numel() == 0)
    return;
  if (group > 1 || g.N == 0) {
    groupedWeightGradKernel<<<blocksFor(dw.numel()), kThreads, 0, stream()>>>(
        static_cast<const float *>(x.data), static_cast<const float *>(dy.data),
        static_cast<float *>(dw.data), g, F, group);
    checkLaunch(k);
    return;
  }
  // dw [F, K] = sum over images of dy_n [F, P] x col_n^T [P, K]: per chunk,
  // [nb, F, K] products reduced over the chunk, chunks added up.
  // The chunk's [nb, F, K] products are within the same budget as its
  // columns (a ResNet-50 3x3 layer of 512 filters at batch 256 would
  // otherwise take 2.4 GB of scratch, kept for the run).
  const int64_t K = g.C * g.kSize(), P = g.outSize();
  const int64_t chunk = std::max<int64_t>(
      1, std::min<int64_t>(chunkOf(g), kColBudget / std::max<int64_t>(F * K, 1)));
  float *col = static_cast<float *>(scratch(sizeof(float) * chunk * K * P, 1));
  float *parts = static_cast<float *>(scratch(sizeof(float) * (chunk + 1) * F * K, 0));
  float *sum = parts + chunk * F * K;
  const Tensor dwT(dw.data, DType::F32, {F, K});
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    im2colKernel<<<blocksFor(nb * K * P), kThreads, 0, stream()>>>(
        static_cast<const float *>(x.data) + n0 * g.C * g.inSize(), col, g,
        g.C, nb);
    checkLaunch(k);
    const Tensor part(parts, DType::F32, {nb, F, K});
    matmul(Tensor(static_cast<const float *>(dy.data) + n0 * F * P, DType::F32,
                  {nb, F, P}),
           Tensor(col, DType::F32, {nb, K, P}), part, false, true);
    const Tensor target = n0 == 0 ? dwT : Tensor(sum, DType::F32, {F, K});
    reduce(ReduceKind::Sum, part, target, Dims({0}));
    if (n0 > 0)
      binary(BinaryKind::Add, dwT, target, dwT);
  }
}

namespace {

void pool(const char *k, Tensor x, Tensor out, const Dims &kernel,
          const Dims &strides, const Dims &pads, const Dims &dilations,
          bool isMax, bool countIncludePad) {
  const Geom g = checkPool(k, x, out, kernel, strides, pads, dilations);
  const int64_t n = out.numel();
  if (n == 0)
    return;
  if (x.dtype == DType::F32)
    poolKernel<float><<<blocksFor(n), kThreads, 0, stream()>>>(
        static_cast<const float *>(x.data), static_cast<float *>(out.data), g,
        isMax, countIncludePad);
  else if (x.dtype == DType::F64)
    poolKernel<double><<<blocksFor(n), kThreads, 0, stream()>>>(
        static_cast<const double *>(x.data), static_cast<double *>(out.data),
        g, isMax, countIncludePad);
  else
    fail("%s: dtype %s is not supported (f32, f64)", k, dtypeName(x.dtype));
  checkLaunch(k);
}

} // namespace

void maxPool(Tensor x, Tensor out, Dims kernel, Dims strides, Dims pads,
             Dims dilations) {
  pool("maxPool", x, out, kernel, strides, pads, dilations, true, false);
}

void avgPool(Tensor x, Tensor out, Dims kernel, Dims strides, Dims pads,
             bool countIncludePad, Dims dilations) {
  pool("avgPool", x, out, kernel, strides, pads, dilations, false,
       countIncludePad);
}

void maxPoolGrad(Tensor x, Tensor dy, Tensor dx, Dims kernel, Dims strides,
                 Dims pads) {
  const char *k = "maxPoolGrad";
  const Geom g = checkMaxPoolGrad(x, dy, dx, kernel, strides, pads);
  if (dx.numel() == 0)
    return;
  if (dy.numel() == 0) {
    check(cudaMemsetAsync(dx.data, 0, static_cast<size_t>(dx.nbytes()), stream()), k);
    return;
  }
  maxPoolGradKernel<<<blocksFor(dx.numel()), kThreads, 0, stream()>>>(
      static_cast<const float *>(x.data), static_cast<const float *>(dy.data),
      static_cast<float *>(dx.data), g);
  checkLaunch(k);
}

void avgPoolGrad(Tensor dy, Tensor dx, Dims kernel, Dims strides, Dims pads,
                 bool countIncludePad) {
  const char *k = "avgPoolGrad";
  const Geom g = checkAvgPoolGrad(dy, dx, kernel, strides, pads);
  if (dx.numel() == 0)
    return;
  avgPoolGradKernel<<<blocksFor(dx.numel()), kThreads, 0, stream()>>>(
      static_cast<const float *>(dy.data), static_cast<float *>(dx.data), g,
      countIncludePad);
  checkLaunch(k);
}

} // namespace bbrt
