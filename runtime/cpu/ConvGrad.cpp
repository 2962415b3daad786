//===- ConvGrad.cpp - gradients of convolution and pooling ----------------===//
//
// Convolution gradients run through GEMM, as the forward im2col does:
// - input: per image and group, for a block of output rows, col = W_g^T dy_g
//   (one GEMM), then col2im adds every column entry back at the input
//   position its window tap read. A 1x1, stride-1, unpadded convolution
//   needs no col2im: dx_g = W_g^T dy_g.
// - weight: dW_g += dy_g col^T per image and block of output rows, col being
//   the forward im2col of that block. Threads accumulate into private copies
//   of dW (a static split of the tasks, so the sum is deterministic for a
//   given thread count), added up at the end.
// Depthwise convolutions (one input channel per group) use direct loops over
// each plane. Pooling gradients go tap by tap over all outputs of a plane,
// so that the inner loops run along output rows. Images (or planes, or
// filters) go to the OpenMP pool; with fewer images than threads, the GEMMs
// are split instead. All F32.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/KernelArgs.h"
#include "runtime/cpu/Common.h"
#include "runtime/cpu/Gemm.h"
#include "runtime/cpu/Simd.h"
#include "runtime/cpu/Window.h"

#include <cmath>
#include <limits>
#include <vector>

namespace bbrt {
namespace cpu {
namespace {

/// Lambdas called in the hot loops of a BBRT_CLONES function are inlined
/// there, so that they are compiled for the clone's ISA.
#define INLINE_LAMBDA __attribute__((always_inline))

/// Floats of one im2col block (a few MB at most; GEMMs stay efficient).
constexpr int64_t kColBlockFloats = int64_t(1) << 18;

/// Output positions [lo, hi) along dim i whose tap `kk` reads inside the
/// input: 0 <= o * s - pb + kk * d < in.
BBRT_INLINE void validRange(const Geom &g, int i, int64_t kk, int64_t &lo,
                            int64_t &hi) {
  const int64_t a = g.pb[i] - kk * g.d[i];
  lo = a <= 0 ? 0 : (a + g.s[i] - 1) / g.s[i];
  const int64_t b = g.in[i] - 1 + g.pb[i] - kk * g.d[i];
  hi = b < 0 ? 0 : std::min(g.out[i], b / g.s[i] + 1);
  lo = std::min(lo, hi);
}

/// Input index along dim i read by output o and tap kk (may be outside).
BBRT_INLINE int64_t inPos(const Geom &g, int i, int64_t o, int64_t kk) {
  return o * g.s[i] - g.pb[i] + kk * g.d[i];
}

/// Calls f(kd, kh, kw, tap) for every window tap, in weight order.
template <typename F> BBRT_INLINE void forEachTap(const Geom &g, F &&f) {
  int64_t tap = 0;
  for (int64_t kd = 0; kd < g.k[0]; ++kd)
    for (int64_t kh = 0; kh < g.k[1]; ++kh)
      for (int64_t kw = 0; kw < g.k[2]; ++kw, ++tap)
        f(kd, kh, kw, tap);
}

/// Calls f(r, id, ih) for output rows r in [r0, r1) (a row is an (od, oh)
/// pair) whose tap (kd, kh) reads input row (id, ih) inside the input.
template <typename F>
BBRT_INLINE void forEachRow(const Geom &g, int64_t r0, int64_t r1, int64_t kd,
                            int64_t kh, F &&f) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t id = inPos(g, 0, r / g.out[1], kd);
    const int64_t ih = inPos(g, 1, r % g.out[1], kh);
    if (id >= 0 && id < g.in[0] && ih >= 0 && ih < g.in[1])
      f(r, id, ih);
  }
}

/// col[(c, tap), (r - r0) * W + ow] = x[c] at the position output (r, ow)
/// reads with that tap (0 in the padding), for channels [0, cn).
BBRT_CLONES void im2col(const Geom &g, const float *x, int64_t cn, int64_t r0,
                        int64_t r1, float *col) {
  const int64_t W = g.out[2], I = g.inSize(), cols = (r1 - r0) * W;
  std::fill(col, col + cn * g.kSize() * cols, 0.f);
  for (int64_t c = 0; c < cn; ++c)
    forEachTap(g, [&](int64_t kd, int64_t kh, int64_t kw,
                      int64_t tap) INLINE_LAMBDA {
      int64_t lo, hi;
      validRange(g, 2, kw, lo, hi);
      if (lo == hi)
        return;
      float *dst = col + (c * g.kSize() + tap) * cols;
      forEachRow(
          g, r0, r1, kd, kh,
          [&](int64_t r, int64_t id, int64_t ih) INLINE_LAMBDA {
            const float *src =
                x + c * I + (id * g.in[1] + ih) * g.in[2] + inPos(g, 2, lo, kw);
            float *row = dst + (r - r0) * W;
            if (g.s[2] == 1)
              std::memcpy(row + lo, src, sizeof(float) * size_t(hi - lo));
            else
              for (int64_t ow = lo; ow < hi; ++ow)
                row[ow] = src[(ow - lo) * g.s[2]];
          });
    });
}

/// The transpose of im2col for one channel: dx (one input plane) += each
/// column entry at the position it was read from.
BBRT_CLONES void col2imChannel(const Geom &g, const float *colc, int64_t r0,
                               int64_t r1, float *dx) {
  const int64_t W = g.out[2], cols = (r1 - r0) * W;
  forEachTap(g, [&](int64_t kd, int64_t kh, int64_t kw,
                    int64_t tap) INLINE_LAMBDA {
    int64_t lo, hi;
    validRange(g, 2, kw, lo, hi);
    if (lo == hi)
      return;
    const float *src = colc + tap * cols;
    forEachRow(g, r0, r1, kd, kh,
               [&](int64_t r, int64_t id, int64_t ih) INLINE_LAMBDA {
                 const float *row = src + (r - r0) * W + lo;
                 float *dst =
                     dx + (id * g.in[1] + ih) * g.in[2] + inPos(g, 2, lo, kw);
                 const int64_t n = hi - lo;
                 if (g.s[2] == 1)
                   for (int64_t j = 0; j < n; ++j)
                     dst[j] += row[j];
                 else
                   for (int64_t j = 0; j < n; ++j)
                     dst[j * g.s[2]] += row[j];
               });
  });
}

/// A 1x1 convolution with stride 1 and no padding: its im2col is the input.
inline bool isPointwise(const Geom &g) {
  for (int i = 0; i < 3; ++i)
    if (g.k[i] != 1 || g.s[i] != 1 || g.pb[i] != 0 || g.pe[i] != 0)
      return false;
  return true;
}

/// Output rows per im2col block.
inline int64_t rowsPerBlock(const Geom &g, int64_t CK) {
  const int64_t rows = g.out[0] * g.out[1];
  return std::max<int64_t>(
      1, std::min(rows, kColBlockFloats / std::max<int64_t>(1, CK * g.out[2])));
}

/// sum_j a[j] * b[j * sb] with 8 float accumulators.
BBRT_INLINE float dot(const float *a, const float *b, int64_t n, int64_t sb) {
  float acc[8] = {};
  int64_t j = 0;
  if (sb == 1)
    for (; j + 8 <= n; j += 8)
      for (int e = 0; e < 8; ++e)
        acc[e] += a[j + e] * b[j + e];
  for (; j < n; ++j)
    acc[j & 7] += a[j] * b[j * sb];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
         ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

//===--- input gradient ---------------------------------------------------===//

/// Depthwise, one input plane: dxp += the transposed correlation of filter
/// f's output gradient dyp with its weights wf.
BBRT_CLONES void depthwiseInputPlane(const Geom &g, const float *dyp,
                                     const float *wf, float *dxp) {
  const int64_t W = g.out[2], rows = g.out[0] * g.out[1];
  forEachTap(g, [&](int64_t kd, int64_t kh, int64_t kw,
                    int64_t tap) INLINE_LAMBDA {
    const float wv = wf[tap];
    int64_t lo, hi;
    validRange(g, 2, kw, lo, hi);
    if (lo == hi)
      return;
    forEachRow(g, 0, rows, kd, kh,
               [&](int64_t r, int64_t id, int64_t ih) INLINE_LAMBDA {
                 const float *src = dyp + r * W + lo;
                 float *dst =
                     dxp + (id * g.in[1] + ih) * g.in[2] + inPos(g, 2, lo, kw);
                 const int64_t len = hi - lo;
                 if (g.s[2] == 1)
                   for (int64_t q = 0; q < len; ++q)
                     dst[q] += wv * src[q];
                 else
                   for (int64_t q = 0; q < len; ++q)
                     dst[q * g.s[2]] += wv * src[q];
               });
  });
}

/// Depthwise: each input plane gathers from its channel's filters.
void depthwiseInputGrad(const Geom &g, int64_t F, const float *dy,
                        const float *w, float *dx) {
  const int64_t mult = F / g.C, K = g.kSize(), O = g.outSize(), I = g.inSize();
  const int64_t planes = g.N * g.C;
  const bool par = planes * (O * K * mult + I) >= kWindowParallelMin;
  parallelFor(planes, par, [&](int64_t p) {
    const int64_t n = p / g.C, c = p % g.C;
    float *dxp = dx + p * I;
    std::fill(dxp, dxp + I, 0.f);
    for (int64_t j = 0; j < mult; ++j) {
      const int64_t f = c * mult + j;
      depthwiseInputPlane(g, dy + (n * F + f) * O, w + f * K, dxp);
    }
  });
}

void convInputGradF32(const Geom &g, int64_t F, int64_t group, const float *dy,
                      const float *w, float *dx) {
  const int64_t Cg = g.C / group, Fg = F / group;
  if (Cg == 1 && group > 1)
    return depthwiseInputGrad(g, F, dy, w, dx);
  const int64_t K = g.kSize(), O = g.outSize(), I = g.inSize(), CK = Cg * K;
  const int64_t W = g.out[2], rows = g.out[0] * g.out[1];
  const bool pointwise = isPointwise(g);
  const int64_t rpb = rowsPerBlock(g, CK);
  const int64_t images = g.N * group;
  const int threads = maxThreads();
  const bool par = threads > 1 && g.N * F * O * CK >= kConvParallelMin;
  // inner: this image is the only work running (col2im over channels and the
  // GEMMs split across the pool).
  auto image = [&](int64_t img, bool inner) {
    const int64_t n = img / group, gi = img % group;
    const float *dyg = dy + (n * F + gi * Fg) * O;
    const float *wg = w + gi * Fg * CK;
    float *dxg = dx + (n * g.C + gi * Cg) * I;
    if (pointwise) {
      gemm(true, false, Cg, O, Fg, wg, Cg, dyg, O, 0.f, dxg, I);
      return;
    }
    std::fill(dxg, dxg + Cg * I, 0.f);
    float *col = scratch<float>(2, CK * rpb * W);
    for (int64_t r0 = 0; r0 < rows; r0 += rpb) {
      const int64_t r1 = std::min(rows, r0 + rpb), cols = (r1 - r0) * W;
      gemm(true, false, CK, cols, Fg, wg, CK, dyg + r0 * W, O, 0.f, col, cols);
      parallelFor(Cg, inner, [&](int64_t c) {
        col2imChannel(g, col + c * K * cols, r0, r1, dxg + c * I);
      });
    }
  };
  if (par && images >= threads)
    parallelForDynamic(images, true, [&](int64_t i) { image(i, false); });
  else
    for (int64_t i = 0; i < images; ++i)
      image(i, par);
}

//===--- weight gradient --------------------------------------------------===//

/// Depthwise, filter f (of channel c): dwf[tap] = sum over images and
/// outputs of dy[n, f] times the input that tap reads.
BBRT_CLONES void depthwiseFilterGrad(const Geom &g, int64_t F, int64_t f,
                                     int64_t c, const float *x, const float *dy,
                                     float *dwf) {
  const int64_t O = g.outSize(), I = g.inSize(), W = g.out[2];
  const int64_t rows = g.out[0] * g.out[1];
  forEachTap(
      g, [&](int64_t kd, int64_t kh, int64_t kw, int64_t tap) INLINE_LAMBDA {
        int64_t lo, hi;
        validRange(g, 2, kw, lo, hi);
        double acc = 0;
        for (int64_t n = 0; n < g.N && lo < hi; ++n) {
          const float *dyp = dy + (n * F + f) * O, *xp = x + (n * g.C + c) * I;
          forEachRow(g, 0, rows, kd, kh,
                     [&](int64_t r, int64_t id, int64_t ih) INLINE_LAMBDA {
                       acc += dot(dyp + r * W + lo,
                                  xp + (id * g.in[1] + ih) * g.in[2] +
                                      inPos(g, 2, lo, kw),
                                  hi - lo, g.s[2]);
                     });
        }
        dwf[tap] = float(acc);
      });
}

/// Depthwise: filter f correlates dy[f] with its channel's input planes.
void depthwiseWeightGrad(const Geom &g, int64_t F, const float *x,
                         const float *dy, float *dw) {
  const int64_t mult = F / g.C, K = g.kSize();
  const bool par =
      g.N * F * (g.outSize() * K + g.inSize()) >= kWindowParallelMin;
  parallelFor(F, par, [&](int64_t f) {
    depthwiseFilterGrad(g, F, f, f / mult, x, dy, dw + f * K);
  });
}

void convWeightGradF32(const Geom &g, int64_t F, int64_t group, const float *x,
                       const float *dy, float *dw) {
  const int64_t Cg = g.C / group, Fg = F / group;
  if (Cg == 1 && group > 1)
    return depthwiseWeightGrad(g, F, x, dy, dw);
  const int64_t K = g.kSize(), O = g.outSize(), I = g.inSize(), CK = Cg * K;
  const int64_t W = g.out[2], rows = g.out[0] * g.out[1];
  const bool pointwise = isPointwise(g);
  const int64_t rpb = pointwise ? rows : rowsPerBlock(g, CK);
  const int64_t nb = (rows + rpb - 1) / rpb;
  const int64_t tasks = g.N * group * nb, size = F * CK;
  // Task t: image t / (group * nb), group (t / nb) % group, row block t % nb;
  // adds its product into acc ([F, CK], zeroed by the caller).
  auto task = [&](int64_t t, float *acc) {
    const int64_t img = t / nb, b = t % nb;
    const int64_t n = img / group, gi = img % group;
    const int64_t r0 = b * rpb, r1 = std::min(rows, r0 + rpb);
    const int64_t cols = (r1 - r0) * W;
    const float *xg = x + (n * g.C + gi * Cg) * I;
    const float *dyg = dy + (n * F + gi * Fg) * O + r0 * W;
    float *accg = acc + gi * Fg * CK;
    if (pointwise) {
      gemm(false, true, Fg, Cg, O, dyg, O, xg, I, 1.f, accg, Cg);
      return;
    }
    float *col = scratch<float>(2, CK * cols);
    im2col(g, xg, Cg, r0, r1, col);
    gemm(false, true, Fg, CK, cols, dyg, O, col, cols, 1.f, accg, CK);
  };
  const int threads = maxThreads();
  const bool par = threads > 1 && g.N * F * O * CK >= kConvParallelMin;
  std::fill(dw, dw + size, 0.f);
  if (!par || tasks < threads) {
    for (int64_t t = 0; t < tasks; ++t)
      task(t, dw);
    return;
  }
  // Part 0 accumulates into dw, the others into private buffers.
  std::vector<float> partial(size_t(threads - 1) * size_t(size), 0.f);
  parallelFor(threads, true, [&](int64_t part) {
    float *acc = part == 0 ? dw : partial.data() + (part - 1) * size;
    for (int64_t t = tasks * part / threads; t < tasks * (part + 1) / threads;
         ++t)
      task(t, acc);
  });
  parallelFor((size + 4095) / 4096, size >= kParallelMin, [&](int64_t blk) {
    const int64_t b0 = blk * 4096, b1 = std::min(size, b0 + 4096);
    for (int part = 1; part < threads; ++part) {
      const float *src = partial.data() + (part - 1) * size;
      for (int64_t i = b0; i < b1; ++i)
        dw[i] += src[i];
    }
  });
}

//===--- pooling ----------------------------------------------------------===//

/// Calls f(o, i, n) for every window tap, in window order, and every output
/// row the tap reads inside the input: outputs o, o + 1, ..., o + n - 1 of
/// the plane read input positions i, i + s2, ..., i + (n - 1) * s2.
template <typename F> BBRT_INLINE void forEachTapRun(const Geom &g, F &&f) {
  const int64_t W = g.out[2], rows = g.out[0] * g.out[1];
  forEachTap(g, [&](int64_t kd, int64_t kh, int64_t kw, int64_t) INLINE_LAMBDA {
    int64_t lo, hi;
    validRange(g, 2, kw, lo, hi);
    if (lo == hi)
      return;
    forEachRow(g, 0, rows, kd, kh,
               [&](int64_t r, int64_t id, int64_t ih) INLINE_LAMBDA {
                 f(r * W + lo,
                   (id * g.in[1] + ih) * g.in[2] + inPos(g, 2, lo, kw),
                   hi - lo);
               });
  });
}

/// One run of a tap over outputs b/a[0, n): keeps the first maximum and its
/// plane offset; a NaN wins (as in the forward max), the first one. S is
/// the input stride (0: `sw`).
template <int64_t S>
BBRT_INLINE void maxRun(const float *xp, int64_t i0, int64_t n, int64_t sw,
                        float *b, int32_t *a) {
  const int64_t s = S ? S : sw;
  for (int64_t j = 0; j < n; ++j) {
    const float v = xp[i0 + j * s];
    const bool take = (v > b[j]) | (a[j] < 0) | ((v != v) & (b[j] == b[j]));
    b[j] = take ? v : b[j];
    a[j] = take ? int32_t(i0 + j * s) : a[j];
  }
}

/// Taps in window order, all outputs of the plane at once (vectorizable
/// along output rows): at[o] = plane offset of output o's first maximum, -1
/// for a window of padding only.
BBRT_CLONES void maxArgPlane(const Geom &g, const float *xp, float *best,
                             int32_t *at) {
  const int64_t O = g.outSize(), sw = g.s[2];
  std::fill(best, best + O, -std::numeric_limits<float>::infinity());
  std::fill(at, at + O, int32_t(-1));
  forEachTapRun(g, [&](int64_t o0, int64_t i0, int64_t n) INLINE_LAMBDA {
    if (sw == 1)
      maxRun<1>(xp, i0, n, sw, best + o0, at + o0);
    else if (sw == 2)
      maxRun<2>(xp, i0, n, sw, best + o0, at + o0);
    else
      maxRun<0>(xp, i0, n, sw, best + o0, at + o0);
  });
}

/// dx += share[o] at every input position output o's window reads.
BBRT_CLONES void spreadPlane(const Geom &g, const float *share, float *dx) {
  const int64_t sw = g.s[2];
  forEachTapRun(g, [&](int64_t o0, int64_t i0, int64_t n) INLINE_LAMBDA {
    const float *v = share + o0;
    float *d = dx + i0;
    if (sw == 1)
      for (int64_t j = 0; j < n; ++j)
        d[j] += v[j];
    else
      for (int64_t j = 0; j < n; ++j)
        d[j * sw] += v[j];
  });
}

void maxPoolGradF32(const Geom &g, const float *x, const float *dy, float *dx) {
  const int64_t planes = g.N * g.C, O = g.outSize(), I = g.inSize();
  if (I > std::numeric_limits<int32_t>::max())
    fail("maxPoolGrad: planes of %lld elements are too large", (long long)I);
  const bool par = planes * (O * g.kSize() + I) >= kWindowParallelMin;
  parallelRange(planes, par, [&](int64_t p0, int64_t p1) {
    float *best = scratch<float>(3, O);
    int32_t *at = scratch<int32_t>(3, O);
    for (int64_t p = p0; p < p1; ++p) {
      const float *dyp = dy + p * O;
      float *dxp = dx + p * I;
      maxArgPlane(g, x + p * I, best, at);
      std::fill(dxp, dxp + I, 0.f);
      for (int64_t o = 0; o < O; ++o)
        if (at[o] >= 0)
          dxp[at[o]] += dyp[o];
    }
  });
}

void avgPoolGradF32(const Geom &g, const float *dy, float *dx,
                    bool countIncludePad) {
  const int64_t planes = g.N * g.C, O = g.outSize(), I = g.inSize();
  const DimCounts dc[3] = {dimCounts(g, 0), dimCounts(g, 1), dimCounts(g, 2)};
  // 1 / the forward divisor of each output (a window that reads no input
  // element has no taps to spread over: the forward output is 0 there).
  std::vector<double> inv(static_cast<size_t>(O));
  for (int64_t od = 0, o = 0; od < g.out[0]; ++od)
    for (int64_t oh = 0; oh < g.out[1]; ++oh)
      for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
        const int64_t n =
            countIncludePad
                ? dc[0].padded[od] * dc[1].padded[oh] * dc[2].padded[ow]
                : dc[0].real[od] * dc[1].real[oh] * dc[2].real[ow];
        inv[o] = n ? 1.0 / double(n) : 0.0;
      }
  const bool par = planes * (O * g.kSize() + I) >= kWindowParallelMin;
  parallelRange(planes, par, [&](int64_t p0, int64_t p1) {
    float *share = scratch<float>(3, O);
    for (int64_t p = p0; p < p1; ++p) {
      const float *dyp = dy + p * O;
      float *dxp = dx + p * I;
      for (int64_t o = 0; o < O; ++o)
        share[o] = float(dyp[o] * inv[o]);
      std::fill(dxp, dxp + I, 0.f);
      spreadPlane(g, share, dxp);
    }
  });
}

/// The cases a convolution gradient `grad` needs no kernel for: it is empty,
/// or dy is (then `grad` is all zeros, written here). Returns whether it was
/// one of them.
bool zeroIfNoWork(const Tensor &dy, const Tensor &grad) {
  if (grad.numel() == 0)
    return true;
  if (dy.numel() == 0) {
    std::fill((float *)grad.data, (float *)grad.data + grad.numel(), 0.f);
    return true;
  }
  return false;
}

} // namespace
} // namespace cpu

using namespace cpu;

void convInputGrad(Tensor dy, Tensor w, Tensor dx, Dims strides, Dims pads,
                   Dims dilations, int64_t group) {
  const Geom g =
      checkConvInputGrad(dy, w, dx, strides, pads, dilations, group);
  if (zeroIfNoWork(dy, dx))
    return;
  convInputGradF32(g, w.shape.d[0], group, (const float *)dy.data,
                   (const float *)w.data, (float *)dx.data);
}

void convWeightGrad(Tensor x, Tensor dy, Tensor dw, Dims strides, Dims pads,
                    Dims dilations, int64_t group) {
  const Geom g =
      checkConvWeightGrad(x, dy, dw, strides, pads, dilations, group);
  if (zeroIfNoWork(dy, dw))
    return;
  convWeightGradF32(g, dw.shape.d[0], group, (const float *)x.data,
                    (const float *)dy.data, (float *)dw.data);
}

void maxPoolGrad(Tensor x, Tensor dy, Tensor dx, Dims kernel, Dims strides,
                 Dims pads) {
  const Geom g = checkMaxPoolGrad(x, dy, dx, kernel, strides, pads);
  if (dx.numel() == 0)
    return;
  maxPoolGradF32(g, (const float *)x.data, (const float *)dy.data,
                 (float *)dx.data);
}

void avgPoolGrad(Tensor dy, Tensor dx, Dims kernel, Dims strides, Dims pads,
                 bool countIncludePad) {
  const Geom g = checkAvgPoolGrad(dy, dx, kernel, strides, pads);
  if (dx.numel() == 0)
    return;
  avgPoolGradF32(g, (const float *)dy.data, (float *)dx.data, countIncludePad);
}

} // namespace bbrt
