//===- Conv.cpp - convolution (im2col + GEMM) and pooling -----------------===//
//
// Spatial dims are handled as 3-d (D, H, W): a 1-d or 2-d problem gets
// leading unit dims with kernel 1, stride 1, pad 0, dilation 1.
//
// Convolution: one parallel region over (image, group, block of output rows)
// tasks; each task fills its output block with the bias, builds its slice of
// the im2col matrix (row-wise copies, padding by ranges; none for a 1x1
// stride-1 conv) and runs one single-threaded GEMM with beta = 1. Depthwise
// convolution and pooling work on a padded copy of one plane so that their
// inner loops run over whole output rows without bounds checks.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/Common.h"
#include "runtime/cpu/Gemm.h"
#include "runtime/cpu/Simd.h"
#include "runtime/core/KernelArgs.h"
#include "runtime/cpu/Window.h"

#include <cmath>
#include <limits>
#include <vector>

namespace bbrt {
namespace cpu {
namespace {

/// A padded copy of one input plane, its columns split by phase so that a
/// strided window reads contiguous elements: padded position (d, h, c) lives
/// at ((d * ext1 + h) * s2 + c % s2) * pw + c / s2 and holds x[d - pb0,
/// h - pb1, c - pb2] inside the input, `pad` elsewhere.
struct PadGeom {
  int64_t ext[3]; // padded extents
  int64_t pw;     // elements per phase of a padded row (ceil(ext2 / s2))
  int64_t rs;     // elements per padded row (s2 * pw)
  std::vector<int64_t> tapOff; // where tap kw's first column starts in a row
  int64_t size() const { return ext[0] * ext[1] * rs; }
};


/// Output tiles: up to kTileR rows (8 for f32, 4 for f64: 8 registers of
/// independent accumulators) by kTileV columns.
constexpr int kTileR = 8, kTileV = 8;

inline PadGeom padGeom(const Geom &g) {
  PadGeom p;
  for (int i = 0; i < 3; ++i) {
    // Every window position read, also ceil-mode windows past the end pad.
    const int64_t need = (g.out[i] - 1) * g.s[i] + (g.k[i] - 1) * g.d[i] + 1;
    p.ext[i] = std::max(g.pb[i] + g.in[i] + g.pe[i], need);
  }
  p.pw = (p.ext[2] + g.s[2] - 1) / g.s[2];
  p.rs = p.pw * g.s[2];
  p.tapOff.resize(static_cast<size_t>(g.k[2]));
  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
    const int64_t c = kw * g.d[2];
    p.tapOff[kw] = (c % g.s[2]) * p.pw + c / g.s[2];
  }
  return p;
}

/// Scratch elements for a padded plane: tiles read past the last row and
/// column (results there are discarded).
inline int64_t padScratch(const Geom &g, const PadGeom &pg) {
  return pg.size() + (kTileR * g.s[1] + 1) * pg.rs + 2 * kTileV + 64;
}

template <typename T> struct Vec;
template <> struct Vec<float> {
  typedef float type __attribute__((vector_size(32)));
  typedef int32_t mask __attribute__((vector_size(32)));
};
template <> struct Vec<double> {
  typedef double type __attribute__((vector_size(32)));
  typedef int64_t mask __attribute__((vector_size(32)));
};

/// dst[0, n) = src[0, n) for short rows, without a library call.
template <typename T>
BBRT_INLINE void copyRow(T *dst, const T *src, int64_t n) {
  using V = typename Vec<T>::type;
  constexpr int64_t C = 32 / sizeof(T);
  int64_t i = 0;
  for (; i + C <= n; i += C) {
    V v;
    std::memcpy(&v, src + i, sizeof v);
    std::memcpy(dst + i, &v, sizeof v);
  }
  for (; i < n; ++i)
    dst[i] = src[i];
}

/// Where input column iw goes within a padded row (phase * pw + c / s).
inline std::vector<int64_t> columnMap(const Geom &g, const PadGeom &pg) {
  std::vector<int64_t> m(static_cast<size_t>(g.in[2]));
  for (int64_t iw = 0; iw < g.in[2]; ++iw) {
    const int64_t c = iw + g.pb[2];
    m[iw] = (c % g.s[2]) * pg.pw + c / g.s[2];
  }
  return m;
}

/// even[i] = src[2i] for 2i < n, odd[i] = src[2i + 1] for 2i + 1 < n.
template <typename T>
BBRT_INLINE void deinterleave2(const T *src, int64_t n, T *even, T *odd) {
  int64_t i = 0;
#ifndef __clang__ // __builtin_shuffle is GCC's
  using V = typename Vec<T>::type;
  using M = typename Vec<T>::mask;
  constexpr int L = int(32 / sizeof(T));
  M me, mo;
  for (int j = 0; j < L; ++j) {
    me[j] = 2 * j;
    mo[j] = 2 * j + 1;
  }
  for (; 2 * i + 2 * L <= n; i += L) {
    V a, b;
    std::memcpy(&a, src + 2 * i, sizeof a);
    std::memcpy(&b, src + 2 * i + L, sizeof b);
    V e = __builtin_shuffle(a, b, me), o = __builtin_shuffle(a, b, mo);
    std::memcpy(even + i, &e, sizeof e);
    std::memcpy(odd + i, &o, sizeof o);
  }
#endif
  for (; 2 * i < n; ++i) {
    even[i] = src[2 * i];
    if (2 * i + 1 < n)
      odd[i] = src[2 * i + 1];
  }
}

/// Copies the input rows among padded rows [h0, h1) (of every depth) of the
/// plane x into P. Everything else in P must already hold the pad value
/// (fill P once per thread and kernel call: planes only differ inside).
template <typename T>
BBRT_INLINE void copyInteriorT(const Geom &g, const PadGeom &pg,
                               const int64_t *cmap, const T *x, T *P,
                               int64_t h0, int64_t h1) {
  const int64_t IW = g.in[2], E1 = pg.ext[1], pb = g.pb[2], pw = pg.pw;
  const int64_t hlo = std::max(h0, g.pb[1]);
  const int64_t hhi = std::min(h1, g.pb[1] + g.in[1]);
  for (int64_t id = 0; id < g.in[0]; ++id)
    for (int64_t h = hlo; h < hhi; ++h) {
      T *row = P + ((id + g.pb[0]) * E1 + h) * pg.rs;
      const T *src = x + (id * g.in[1] + h - g.pb[1]) * IW;
      if (g.s[2] == 1) {
        copyRow(row + pb, src, IW);
      } else if (g.s[2] == 2) {
        // Column c = iw + pb goes to phase c % 2 at c / 2.
        if (pb % 2 == 0)
          deinterleave2(src, IW, row + pb / 2, row + pw + pb / 2);
        else
          deinterleave2(src, IW, row + pw + pb / 2, row + (pb + 1) / 2);
      } else {
        for (int64_t iw = 0; iw < IW; ++iw)
          row[cmap[iw]] = src[iw];
      }
    }
}

BBRT_CLONES void copyInterior(const Geom &g, const PadGeom &pg,
                              const int64_t *cmap, const float *x, float *P,
                              int64_t h0, int64_t h1) {
  copyInteriorT(g, pg, cmap, x, P, h0, h1);
}
BBRT_CLONES void copyInterior(const Geom &g, const PadGeom &pg,
                              const int64_t *cmap, const double *x, double *P,
                              int64_t h0, int64_t h1) {
  copyInteriorT(g, pg, cmap, x, P, h0, h1);
}

/// Columns for output rows [r0, r1) (a row = one (od, oh) pair, out[2] wide)
/// of channels [0, cn) of one image: col[(c, kd, kh, kw), (r - r0, ow)],
/// copied row by row from a padded, phase-split copy of each channel.
template <typename T>
void im2colRows(const Geom &g, const PadGeom &pg, const int64_t *cmap,
                const T *x, int64_t cn, int64_t r0, int64_t r1, T *col, T *P) {
  const int64_t W = g.out[2], OH = g.out[1], ld = (r1 - r0) * W;
  const int64_t I = g.inSize(), E1 = pg.ext[1];
  // Padded rows this block reads (all of them for 3-d).
  int64_t h0 = 0, h1 = E1;
  if (g.out[0] == 1) {
    h0 = r0 * g.s[1];
    h1 = std::min(E1, (r1 - 1) * g.s[1] + (g.k[1] - 1) * g.d[1] + 1);
  }
  for (int64_t d = 0; d < pg.ext[0]; ++d)
    std::fill(P + (d * E1 + h0) * pg.rs, P + (d * E1 + h1) * pg.rs, T(0));
  T *dst = col;
  for (int64_t c = 0; c < cn; ++c) {
    copyInterior(g, pg, cmap, x + c * I, P, h0, h1);
    for (int64_t kd = 0; kd < g.k[0]; ++kd)
      for (int64_t kh = 0; kh < g.k[1]; ++kh)
        for (int64_t kw = 0; kw < g.k[2]; ++kw, dst += ld) {
          const int64_t cc = kw * g.d[2];
          const T *base = P + (cc % g.s[2]) * pg.pw + cc / g.s[2];
          int64_t od = r0 / OH, oh = r0 % OH;
          for (int64_t r = r0; r < r1; ++r) {
            const T *src = base + ((od * g.s[0] + kd * g.d[0]) * E1 +
                                   oh * g.s[1] + kh * g.d[1]) *
                                      pg.rs;
            copyRow(dst + (r - r0) * W, src, W);
            if (++oh == OH) {
              oh = 0;
              ++od;
            }
          }
        }
  }
}

enum class WinOp { MulAdd, Max, Sum };

/// One output plane of a sliding-window op over the padded plane P:
/// MulAdd: init + sum of w * x (depthwise conv); Max: max (NaN wins); Sum.
template <typename T, WinOp Op>
BBRT_INLINE void windowPlaneT(const Geom &g, const PadGeom &pg, const T *P,
                              const T *wf, T init, T *out) {
  using V = typename Vec<T>::type;
  constexpr int L = int(32 / sizeof(T)), NV = kTileV / L;
  constexpr int R = NV == 1 ? kTileR : kTileR / 2;
  const int64_t W = g.out[2], OH = g.out[1], E1 = pg.ext[1];
  const int64_t step = g.s[1] * pg.rs;
  const V vinit = V{} + init;
  const int64_t *tapOff = pg.tapOff.data();
  for (int64_t od = 0; od < g.out[0]; ++od)
    for (int64_t oh0 = 0; oh0 < OH; oh0 += R)
      for (int64_t ow0 = 0; ow0 < W; ow0 += kTileV) {
        V acc[R][NV];
        for (int r = 0; r < R; ++r)
          for (int q = 0; q < NV; ++q)
            acc[r][q] = vinit;
        for (int64_t kd = 0; kd < g.k[0]; ++kd)
          for (int64_t kh = 0; kh < g.k[1]; ++kh) {
            const T *base = P +
                            ((od * g.s[0] + kd * g.d[0]) * E1 + oh0 * g.s[1] +
                             kh * g.d[1]) *
                                pg.rs +
                            ow0;
            const T *wk = wf ? wf + (kd * g.k[1] + kh) * g.k[2] : nullptr;
            for (int64_t kw = 0; kw < g.k[2]; ++kw) {
              const T *src = base + tapOff[kw];
              V wv = V{};
              if (Op == WinOp::MulAdd)
                wv += wk[kw];
              for (int r = 0; r < R; ++r)
                for (int q = 0; q < NV; ++q) {
                  V v;
                  std::memcpy(&v, src + r * step + q * L, sizeof v);
                  if (Op == WinOp::MulAdd)
                    acc[r][q] += wv * v;
                  else if (Op == WinOp::Max)
                    acc[r][q] = (v > acc[r][q]) | (v != v) ? v : acc[r][q];
                  else
                    acc[r][q] += v;
                }
            }
          }
        const int64_t nr = std::min<int64_t>(R, OH - oh0);
        const int64_t nc = std::min<int64_t>(kTileV, W - ow0);
        for (int64_t r = 0; r < nr; ++r) {
          T *o = out + (od * OH + oh0 + r) * W + ow0;
          if (nc == kTileV) {
            std::memcpy(o, acc[r], sizeof acc[r]);
          } else {
            T tmp[kTileV];
            std::memcpy(tmp, acc[r], sizeof tmp);
            for (int64_t j = 0; j < nc; ++j)
              o[j] = tmp[j];
          }
        }
      }
}

BBRT_CLONES void dwPlane(const Geom &g, const PadGeom &pg, const float *P,
                         const float *wf, float b, float *out) {
  windowPlaneT<float, WinOp::MulAdd>(g, pg, P, wf, b, out);
}
BBRT_CLONES void dwPlane(const Geom &g, const PadGeom &pg, const double *P,
                         const double *wf, double b, double *out) {
  windowPlaneT<double, WinOp::MulAdd>(g, pg, P, wf, b, out);
}
BBRT_CLONES void maxPlane(const Geom &g, const PadGeom &pg, const float *P,
                          float *out) {
  windowPlaneT<float, WinOp::Max>(g, pg, P, nullptr, -__builtin_inff(), out);
}
BBRT_CLONES void maxPlane(const Geom &g, const PadGeom &pg, const double *P,
                          double *out) {
  windowPlaneT<double, WinOp::Max>(g, pg, P, nullptr, -__builtin_inf(), out);
}
BBRT_CLONES void sumPlane(const Geom &g, const PadGeom &pg, const float *P,
                          float *out) {
  windowPlaneT<float, WinOp::Sum>(g, pg, P, nullptr, 0.f, out);
}
BBRT_CLONES void sumPlane(const Geom &g, const PadGeom &pg, const double *P,
                          double *out) {
  windowPlaneT<double, WinOp::Sum>(g, pg, P, nullptr, 0.0, out);
}

/// max(0, .) over `rows` runs of `cols` elements `stride` apart: a block a
/// task has just written (bb.conv {relu}), while it is in cache.
template <typename T>
void reluBlock(T *y, int64_t rows, int64_t cols, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r) {
    T *p = y + r * stride;
    for (int64_t i = 0; i < cols; ++i)
      p[i] = p[i] > T(0) ? p[i] : T(0);
  }
}

/// Depthwise (one input channel per group), any channel multiplier.
template <typename T>
void depthwise(const Geom &g, int64_t F, const T *x, const T *w, const T *bias,
               T *y, bool relu) {
  const int64_t mult = F / g.C, K = g.kSize(), O = g.outSize();
  const int64_t planes = g.N * F;
  const PadGeom pg = padGeom(g);
  const std::vector<int64_t> cmap = columnMap(g, pg);
  const bool par = planes * (O * K + g.inSize()) >= kWindowParallelMin;
  parallelRange(planes, par, [&](int64_t p0, int64_t p1) {
    T *P = scratch<T>(0, padScratch(g, pg));
    std::fill(P, P + pg.size(), T(0));
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / F, f = p % F, c = f / mult;
      copyInterior(g, pg, cmap.data(), x + (n * g.C + c) * g.inSize(), P, 0,
                   pg.ext[1]);
      dwPlane(g, pg, P, w + f * K, bias ? bias[f] : T(0), y + p * O);
      if (relu)
        reluBlock(y + p * O, 1, O, O);
    }
  });
}

//===--- f32 convolution without an im2col matrix ------------------------===//
//
// The GEMM y[f, o] = sum_k w[f, k] * col[k, o] reads col[k, o] straight from
// padded, phase-split copies of the input channels: col row k = (c, kd, kh,
// kw) is the plane of channel c shifted by off[k], so a run of 8 outputs of
// one output row is 8 contiguous floats at P + base(row, ow0) + off[k].
// Blocks of 4 filters x 2 such runs accumulate in 8 AVX registers.

typedef float v8f __attribute__((vector_size(32)));

/// One run of up to 8 outputs: where it reads (base into P) and writes.
struct Run {
  int64_t base, out, n;
};

constexpr int kConvMR = 4, kConvNR = 2;
constexpr int64_t kConvKC = 256;

/// p[0, n) as the first lanes of a vector (the rest 0), n <= 8.
BBRT_INLINE v8f loadPart(const float *p, int64_t n) {
  if (n == 8) {
    v8f v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  float t[8] = {};
  for (int64_t e = 0; e < n; ++e)
    t[e] = p[e];
  v8f v;
  std::memcpy(&v, t, sizeof v);
  return v;
}

/// The first n <= 8 lanes of v to p.
BBRT_INLINE void storePart(float *p, int64_t n, v8f v) {
  if (n == 8) {
    std::memcpy(p, &v, sizeof v);
    return;
  }
  float t[8];
  std::memcpy(t, &v, sizeof t);
  for (int64_t e = 0; e < n; ++e)
    p[e] = t[e];
}

/// Runs [ri, ri + NR) (missing ones repeat the last and are not stored)
/// for filters [f0, f0 + mr) over columns [k0, k0 + kc) of the weights.
template <int NR>
BBRT_INLINE void convBlock(const int64_t *offk, int64_t kc, bool first,
                           const float *P, const Run *runs, int64_t nr,
                           const float *const *wr, const float *bg, int mr,
                           int64_t f0, float *yg, int64_t O) {
  const float *p[NR];
  int64_t n[NR], out[NR];
  for (int j = 0; j < NR; ++j) {
    const Run &u = runs[std::min<int64_t>(j, nr - 1)];
    p[j] = P + u.base;
    n[j] = j < nr ? u.n : 0;
    out[j] = u.out;
  }
  v8f c[kConvMR][NR];
  for (int i = 0; i < kConvMR; ++i)
    for (int j = 0; j < NR; ++j)
      c[i][j] = first ? v8f{} + (bg && i < mr ? bg[f0 + i] : 0.f)
                      : loadPart(yg + (f0 + i) * O + out[j], i < mr ? n[j] : 0);
  for (int64_t k = 0; k < kc; ++k) {
    const int64_t o = offk[k];
    v8f x[NR];
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j)
      x[j] = loadPart(p[j] + o, 8);
#pragma GCC unroll 4
    for (int i = 0; i < kConvMR; ++i) {
      const float a = wr[i][k];
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j)
        c[i][j] += a * x[j];
    }
  }
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < NR; ++j)
      storePart(yg + (f0 + i) * O + out[j], n[j], c[i][j]);
}

BBRT_CLONES void implicitConvF32(const int64_t *off, int64_t CK, const float *P,
                                 const Run *runs, int64_t nruns,
                                 const float *wg, const float *bg, int64_t Fg,
                                 float *yg, int64_t O) {
  constexpr int NR = kConvNR;
  for (int64_t k0 = 0; k0 < CK; k0 += kConvKC) {
    const int64_t kc = std::min(kConvKC, CK - k0);
    for (int64_t ri = 0; ri < nruns; ri += NR)
      for (int64_t f0 = 0; f0 < Fg; f0 += kConvMR) {
        const int mr = int(std::min<int64_t>(kConvMR, Fg - f0));
        const float *wr[kConvMR];
        for (int i = 0; i < kConvMR; ++i)
          wr[i] = wg + (f0 + std::min(i, mr - 1)) * CK + k0;
        convBlock<NR>(off + k0, kc, k0 == 0, P, runs + ri,
                      std::min<int64_t>(NR, nruns - ri), wr, bg, mr, f0, yg, O);
      }
  }
}

/// f32 convolution, one group of one image, output rows [r0, r1):
/// padded copies of the group's channels, then implicitConvF32.
void convRowsF32(const Geom &g, const PadGeom &pg, const int64_t *cmap,
                 const int64_t *off, int64_t Cg, const float *xg,
                 const float *wg, const float *bg, int64_t Fg, float *yg,
                 int64_t r0, int64_t r1) {
  const int64_t W = g.out[2], OH = g.out[1], E1 = pg.ext[1], O = g.outSize();
  const int64_t plane = pg.size();
  // Padded rows these output rows read (all of them for 3-d).
  int64_t h0 = 0, h1 = E1;
  if (g.out[0] == 1) {
    h0 = r0 * g.s[1];
    h1 = std::min(E1, (r1 - 1) * g.s[1] + (g.k[1] - 1) * g.d[1] + 1);
  }
  float *P = scratch<float>(1, Cg * plane + pg.rs + 64);
  for (int64_t c = 0; c < Cg; ++c) {
    float *Pc = P + c * plane;
    for (int64_t d = 0; d < pg.ext[0]; ++d)
      std::fill(Pc + (d * E1 + h0) * pg.rs, Pc + (d * E1 + h1) * pg.rs, 0.f);
    copyInterior(g, pg, cmap, xg + c * g.inSize(), Pc, h0, h1);
  }
  Run *runs = scratch<Run>(0, (r1 - r0) * ((W + 7) / 8) + 1);
  int64_t nruns = 0;
  int64_t od = r0 / OH, oh = r0 % OH;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t rowBase = (od * g.s[0] * E1 + oh * g.s[1]) * pg.rs;
    for (int64_t ow0 = 0; ow0 < W; ow0 += 8)
      runs[nruns++] =
          Run{rowBase + ow0, r * W + ow0, std::min<int64_t>(8, W - ow0)};
    if (++oh == OH) {
      oh = 0;
      ++od;
    }
  }
  implicitConvF32(off, Cg * g.kSize(), P, runs, nruns, wg, bg, Fg, yg, O);
}

/// Tasks (image x group x block of output rows) per thread, handed out
/// dynamically.
constexpr int64_t kConvTasksPerThread = 4;
/// Bytes of the im2col block one task builds (stays in L2).
constexpr int64_t kColBlockBytes = int64_t(192) << 10;

template <typename T>
void convImpl(const Geom &g, int64_t F, int64_t group, const T *x, const T *w,
              const T *bias, T *y, bool relu) {
  const int64_t Cg = g.C / group, Fg = F / group;
  const int64_t K = g.kSize(), O = g.outSize(), I = g.inSize();
  if (Cg == 1 && group > 1) {
    depthwise(g, F, x, w, bias, y, relu);
    return;
  }
  bool pointwise = K == 1;
  for (int i = 0; i < 3; ++i)
    if (g.s[i] != 1 || g.pb[i] != 0 || g.pe[i] != 0)
      pointwise = false;
  const int64_t W = g.out[2], rows = g.out[0] * g.out[1];
  const int64_t CK = Cg * K;
  const PadGeom pg = padGeom(g);
  const std::vector<int64_t> cmap = columnMap(g, pg);
  const int64_t images = g.N * group;
  const int threads = maxThreads();
  const bool par = threads > 1 && g.N * F * O * CK >= kConvParallelMin;
  // Blocks of output rows: small enough for L2, enough tasks for the threads
  // (a multiple of the thread count, or many).
  int64_t nb = 1;
  if (!pointwise && !std::is_same<T, float>::value)
    nb = std::max<int64_t>(1, (CK * O * int64_t(sizeof(T))) / kColBlockBytes);
  nb = std::min(nb, rows);
  if (par)
    while (nb < rows && images * nb < kConvTasksPerThread * threads)
      ++nb;
  const int64_t rpb = (rows + nb - 1) / nb;
  nb = (rows + rpb - 1) / rpb;
  const int64_t tasks = images * nb;
  if constexpr (std::is_same<T, float>::value) {
    if (!pointwise) {
      // Column k = (c, kd, kh, kw) of the implicit im2col matrix is channel c's
      // padded plane shifted by off[k].
      std::vector<int64_t> off(static_cast<size_t>(CK));
      const int64_t plane = pg.size();
      for (int64_t c = 0, k = 0; c < Cg; ++c)
        for (int64_t kd = 0; kd < g.k[0]; ++kd)
          for (int64_t kh = 0; kh < g.k[1]; ++kh)
            for (int64_t kw = 0; kw < g.k[2]; ++kw, ++k) {
              off[k] = c * plane +
                       (kd * g.d[0] * pg.ext[1] + kh * g.d[1]) * pg.rs +
                       pg.tapOff[kw];
            }
      parallelForDynamic(tasks, par, [&](int64_t t) {
        const int64_t img = t / nb, b = t % nb;
        const int64_t n = img / group, gi = img % group;
        const int64_t r0 = b * rpb, r1 = std::min(rows, r0 + rpb);
        T *yg = y + (n * F + gi * Fg) * O;
        convRowsF32(g, pg, cmap.data(), off.data(), Cg,
                    x + (n * g.C + gi * Cg) * I, w + gi * Fg * CK,
                    bias ? bias + gi * Fg : nullptr, Fg, yg, r0, r1);
        if (relu)
          reluBlock(yg + r0 * W, Fg, (r1 - r0) * W, O);
      });
      return;
    }
  }
  parallelFor(tasks, par, [&](int64_t t) {
    const int64_t img = t / nb, b = t % nb;
    const int64_t n = img / group, gi = img % group;
    const int64_t r0 = b * rpb, r1 = std::min(rows, r0 + rpb);
    const int64_t cols = (r1 - r0) * W;
    T *yb = y + (n * F + gi * Fg) * O + r0 * W;
    T beta = T(0);
    if (bias) {
      for (int64_t f = 0; f < Fg; ++f)
        std::fill(yb + f * O, yb + f * O + cols, bias[gi * Fg + f]);
      beta = T(1);
    }
    const T *xg = x + (n * g.C + gi * Cg) * I;
    const T *wg = w + gi * Fg * CK;
    if (pointwise) {
      gemm(false, false, Fg, cols, Cg, wg, Cg, xg + r0 * W, I, beta, yb, O);
    } else {
      T *col = scratch<T>(0, CK * cols);
      T *P = scratch<T>(1, pg.size() + pg.rs);
      im2colRows(g, pg, cmap.data(), xg, Cg, r0, r1, col, P);
      gemm(false, false, Fg, cols, CK, wg, CK, col, cols, beta, yb, O);
    }
    if (relu)
      reluBlock(yb, Fg, cols, O);
  });
}

} // namespace
} // namespace cpu

using namespace cpu;

void conv(Tensor x, Tensor w, Tensor bias, Tensor out, Dims strides, Dims pads,
          Dims dilations, int64_t group, bool relu) {
  const char *k = "conv";
  if (x.dtype != w.dtype || x.dtype != out.dtype ||
      (!bias.empty() && bias.dtype != x.dtype))
    fail("%s: dtypes differ (x %s, w %s, out %s)", k, dtypeName(x.dtype),
         dtypeName(w.dtype), dtypeName(out.dtype));
  checkData(k, "input", x);
  checkData(k, "weight", w);
  checkData(k, "output", out);
  Geom g = checkedConvGeom(k, "output", x, w, out, strides, pads, dilations,
                           group);
  const int64_t F = w.shape.d[0];
  if (!bias.empty() && bias.numel() != F)
    fail("%s: bias has %lld elements for %lld output channels", k,
         (long long)bias.numel(), (long long)F);
  if (out.numel() == 0)
    return;
  switch (x.dtype) {
  case DType::F32:
    return convImpl(g, F, group, (const float *)x.data, (const float *)w.data,
                    (const float *)bias.data, (float *)out.data, relu);
  case DType::F64:
    return convImpl(g, F, group, (const double *)x.data,
                    (const double *)w.data, (const double *)bias.data,
                    (double *)out.data, relu);
  default:
    unsupported(k, x.dtype);
  }
}

//===--- pooling -----------------------------------------------------------===//

namespace cpu {
namespace {

template <typename T>
void poolImpl(const Geom &g, const T *x, T *y, bool isMax,
              bool countIncludePad) {
  const int64_t planes = g.N * g.C, O = g.outSize(), I = g.inSize();
  const int64_t K = g.kSize(), W = g.out[2];
  const DimCounts dc[3] = {dimCounts(g, 0), dimCounts(g, 1), dimCounts(g, 2)};
  const PadGeom pg = padGeom(g);
  const T pad = isMax ? -std::numeric_limits<T>::infinity() : T(0);
  const bool par = planes * (O * K + g.inSize()) >= kWindowParallelMin;
  // Outputs whose window holds no input element are 0.
  bool anyEmpty = false;
  for (int i = 0; i < 3; ++i)
    for (int64_t c : dc[i].real)
      anyEmpty |= c == 0;
  const std::vector<int64_t> cmap = columnMap(g, pg);
  parallelRange(planes, par, [&](int64_t p0, int64_t p1) {
    T *P = scratch<T>(0, padScratch(g, pg));
    std::fill(P, P + pg.size(), pad);
    for (int64_t p = p0; p < p1; ++p) {
      copyInterior(g, pg, cmap.data(), x + p * I, P, 0, pg.ext[1]);
      T *yp = y + p * O;
      if (isMax) {
        maxPlane(g, pg, P, yp);
      } else {
        T *acc = scratch<T>(1, O);
        sumPlane(g, pg, P, acc);
        for (int64_t od = 0; od < g.out[0]; ++od)
          for (int64_t oh = 0; oh < g.out[1]; ++oh) {
            const int64_t i = (od * g.out[1] + oh) * W;
            const int64_t n1 = countIncludePad
                                   ? dc[0].padded[od] * dc[1].padded[oh]
                                   : dc[0].real[od] * dc[1].real[oh];
            const std::vector<int64_t> &n2 =
                countIncludePad ? dc[2].padded : dc[2].real;
            for (int64_t ow = 0; ow < W; ++ow) {
              const int64_t n = n1 * n2[ow];
              yp[i + ow] = n == 0 ? T(0) : T(acc[i + ow] / double(n));
            }
          }
      }
      if (!anyEmpty)
        continue;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < W; ++ow)
            if (dc[0].real[od] * dc[1].real[oh] * dc[2].real[ow] == 0)
              yp[(od * g.out[1] + oh) * W + ow] = T(0);
    }
  });
}

void pool(const char *k, Tensor x, Tensor out, const Dims &kernel,
          const Dims &strides, const Dims &pads, const Dims &dilations,
          bool isMax, bool countIncludePad) {
  const Geom g = checkPool(k, x, out, kernel, strides, pads, dilations);
  if (out.numel() == 0)
    return;
  switch (x.dtype) {
  case DType::F32:
    return poolImpl(g, (const float *)x.data, (float *)out.data, isMax,
                    countIncludePad);
  case DType::F64:
    return poolImpl(g, (const double *)x.data, (double *)out.data, isMax,
                    countIncludePad);
  default:
    unsupported(k, x.dtype);
  }
}

} // namespace
} // namespace cpu

void maxPool(Tensor x, Tensor out, Dims kernel, Dims strides, Dims pads,
             Dims dilations) {
  pool("maxPool", x, out, kernel, strides, pads, dilations, true, false);
}

void avgPool(Tensor x, Tensor out, Dims kernel, Dims strides, Dims pads,
             bool countIncludePad, Dims dilations) {
  pool("avgPool", x, out, kernel, strides, pads, dilations, false,
       countIncludePad);
}

} // namespace bbrt
