//===- Conv.cpp - convolution (im2col + GEMM) and pooling -----------------===//
//
// Spatial dims are handled as 3-d (D, H, W): a 1-d or 2-d problem gets
// leading unit dims with kernel 1, stride 1, pad 0, dilation 1.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/Common.h"
#include "runtime/cpu/Gemm.h"

#include <cmath>
#include <limits>
#include <vector>

namespace bbrt {
namespace cpu {
namespace {

struct Geom {
  int64_t N = 0, C = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1};
  int64_t s[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0},
          d[3] = {1, 1, 1};
  int64_t inSize() const { return in[0] * in[1] * in[2]; }
  int64_t outSize() const { return out[0] * out[1] * out[2]; }
  int64_t kSize() const { return k[0] * k[1] * k[2]; }
};

/// Fills the spatial part of `g` from x/out shapes and the attributes.
void spatial(const char *kname, Geom &g, const Tensor &x, const Tensor &out,
             const int64_t *kernel, const Dims &strides, const Dims &pads,
             const Dims &dilations) {
  int sr = x.shape.rank - 2;
  if (sr < 0 || sr > 3)
    fail("%s: input must be N x C x (1 to 3 spatial dims), got %s", kname,
         formatDims(x.shape).c_str());
  if (out.shape.rank != x.shape.rank)
    fail("%s: output rank %d differs from input rank %d", kname,
         out.shape.rank, x.shape.rank);
  if (strides.rank != 0 && strides.rank != sr)
    fail("%s: %d strides for %d spatial dims", kname, strides.rank, sr);
  if (dilations.rank != 0 && dilations.rank != sr)
    fail("%s: %d dilations for %d spatial dims", kname, dilations.rank, sr);
  if (pads.rank != 0 && pads.rank != 2 * sr)
    fail("%s: %d pads for %d spatial dims (want begins then ends)", kname,
         pads.rank, sr);
  g.N = x.shape.d[0];
  g.C = x.shape.d[1];
  for (int i = 0; i < sr; ++i) {
    int j = 3 - sr + i;
    g.in[j] = x.shape.d[2 + i];
    g.out[j] = out.shape.d[2 + i];
    g.k[j] = kernel[i];
    g.s[j] = strides.rank ? strides.d[i] : 1;
    g.d[j] = dilations.rank ? dilations.d[i] : 1;
    g.pb[j] = pads.rank ? pads.d[i] : 0;
    g.pe[j] = pads.rank ? pads.d[sr + i] : 0;
    if (g.s[j] < 1 || g.d[j] < 1 || g.k[j] < 1 || g.pb[j] < 0 || g.pe[j] < 0)
      fail("%s: invalid kernel/stride/dilation/pad in spatial dim %d", kname,
           i);
  }
}

template <typename T> struct Scratch {
  static std::vector<T> &get() {
    static thread_local std::vector<T> v;
    return v;
  }
};

/// col[(c, kd, kh, kw), (od, oh, ow)] for channels [c0, c0 + cn) of one image.
template <typename T>
void im2col(const Geom &g, const T *x, int64_t cn, T *col) {
  const int64_t K = g.kSize(), O = g.outSize();
  const int64_t rows = cn * K;
#pragma omp parallel for schedule(static) if (rows * O >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t c = r / K, kk = r % K;
    int64_t kw = kk % g.k[2], kh = (kk / g.k[2]) % g.k[1],
            kd = kk / (g.k[2] * g.k[1]);
    const T *xc = x + c * g.inSize();
    T *dst = col + r * O;
    for (int64_t od = 0; od < g.out[0]; ++od) {
      int64_t id = od * g.s[0] - g.pb[0] + kd * g.d[0];
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        int64_t ih = oh * g.s[1] - g.pb[1] + kh * g.d[1];
        T *row = dst + (od * g.out[1] + oh) * g.out[2];
        if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
          for (int64_t ow = 0; ow < g.out[2]; ++ow)
            row[ow] = T(0);
          continue;
        }
        const T *src = xc + (id * g.in[1] + ih) * g.in[2];
        int64_t off = kw * g.d[2] - g.pb[2];
        if (g.s[2] == 1) {
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            int64_t iw = ow + off;
            row[ow] = (iw >= 0 && iw < g.in[2]) ? src[iw] : T(0);
          }
        } else {
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            int64_t iw = ow * g.s[2] + off;
            row[ow] = (iw >= 0 && iw < g.in[2]) ? src[iw] : T(0);
          }
        }
      }
    }
  }
}

/// Depthwise (one input channel per group), any channel multiplier.
template <typename T>
void depthwise(const Geom &g, int64_t F, const T *x, const T *w, const T *bias,
               T *y) {
  const int64_t mult = F / g.C, K = g.kSize(), O = g.outSize();
  const int64_t planes = g.N * F;
#pragma omp parallel for schedule(static) if (planes * O * K >= kParallelMin)
  for (int64_t p = 0; p < planes; ++p) {
    int64_t n = p / F, f = p % F, c = f / mult;
    const T *xc = x + (n * g.C + c) * g.inSize();
    const T *wf = w + f * K;
    T *yp = y + p * O;
    T b = bias ? bias[f] : T(0);
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          T acc = 0;
          for (int64_t kd = 0; kd < g.k[0]; ++kd) {
            int64_t id = od * g.s[0] - g.pb[0] + kd * g.d[0];
            if (id < 0 || id >= g.in[0])
              continue;
            for (int64_t kh = 0; kh < g.k[1]; ++kh) {
              int64_t ih = oh * g.s[1] - g.pb[1] + kh * g.d[1];
              if (ih < 0 || ih >= g.in[1])
                continue;
              const T *src = xc + (id * g.in[1] + ih) * g.in[2];
              const T *wk = wf + (kd * g.k[1] + kh) * g.k[2];
              for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                int64_t iw = ow * g.s[2] - g.pb[2] + kw * g.d[2];
                if (iw >= 0 && iw < g.in[2])
                  acc += src[iw] * wk[kw];
              }
            }
          }
          yp[(od * g.out[1] + oh) * g.out[2] + ow] = acc + b;
        }
  }
}

template <typename T>
void convImpl(const Geom &g, int64_t F, int64_t group, const T *x, const T *w,
              const T *bias, T *y) {
  const int64_t Cg = g.C / group, Fg = F / group;
  const int64_t K = g.kSize(), O = g.outSize(), I = g.inSize();
  if (Cg == 1 && group > 1) {
    depthwise(g, F, x, w, bias, y);
    return;
  }
  bool pointwise = K == 1;
  for (int i = 0; i < 3; ++i)
    if (g.s[i] != 1 || g.pb[i] != 0 || g.pe[i] != 0)
      pointwise = false;
  std::vector<T> &col = Scratch<T>::get();
  if (!pointwise && col.size() < static_cast<size_t>(Cg * K * O))
    col.resize(static_cast<size_t>(Cg * K * O));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t gi = 0; gi < group; ++gi) {
      const T *xg = x + (n * g.C + gi * Cg) * I;
      const T *B = xg;
      if (!pointwise) {
        im2col(g, xg, Cg, col.data());
        B = col.data();
      }
      gemm(false, false, Fg, O, Cg * K, w + gi * Fg * Cg * K, Cg * K, B, O,
           T(0), y + (n * F + gi * Fg) * O, O);
    }
  if (bias) {
    int64_t planes = g.N * F;
#pragma omp parallel for schedule(static) if (planes * O >= kParallelMin)
    for (int64_t p = 0; p < planes; ++p) {
      T b = bias[p % F];
      T *yp = y + p * O;
      for (int64_t i = 0; i < O; ++i)
        yp[i] += b;
    }
  }
}

} // namespace
} // namespace cpu

using namespace cpu;

void conv(Tensor x, Tensor w, Tensor bias, Tensor out, Dims strides, Dims pads,
          Dims dilations, int64_t group) {
  const char *k = "conv";
  if (x.dtype != w.dtype || x.dtype != out.dtype ||
      (!bias.empty() && bias.dtype != x.dtype))
    fail("%s: dtypes differ (x %s, w %s, out %s)", k, dtypeName(x.dtype),
         dtypeName(w.dtype), dtypeName(out.dtype));
  checkData(k, "input", x);
  checkData(k, "weight", w);
  checkData(k, "output", out);
  if (w.shape.rank != x.shape.rank)
    fail("%s: weight %s does not match input %s", k,
         formatDims(w.shape).c_str(), formatDims(x.shape).c_str());
  Geom g;
  spatial(k, g, x, out, w.shape.d + 2, strides, pads, dilations);
  const int64_t F = w.shape.d[0];
  if (group < 1 || g.C % group != 0 || F % group != 0 ||
      w.shape.d[1] * group != g.C)
    fail("%s: group %lld does not fit input %s and weight %s", k,
         (long long)group, formatDims(x.shape).c_str(),
         formatDims(w.shape).c_str());
  if (out.shape.d[0] != g.N || out.shape.d[1] != F)
    fail("%s: output %s does not fit input %s and weight %s", k,
         formatDims(out.shape).c_str(), formatDims(x.shape).c_str(),
         formatDims(w.shape).c_str());
  for (int i = 0; i < 3; ++i) {
    int64_t span = g.d[i] * (g.k[i] - 1) + 1;
    int64_t want = (g.in[i] + g.pb[i] + g.pe[i] - span) / g.s[i] + 1;
    if (g.in[i] + g.pb[i] + g.pe[i] < span || want != g.out[i])
      fail("%s: output %s does not match input %s, weight %s and the "
           "strides/pads/dilations",
           k, formatDims(out.shape).c_str(), formatDims(x.shape).c_str(),
           formatDims(w.shape).c_str());
  }
  if (!bias.empty() && bias.numel() != F)
    fail("%s: bias has %lld elements for %lld output channels", k,
         (long long)bias.numel(), (long long)F);
  if (out.numel() == 0)
    return;
  switch (x.dtype) {
  case DType::F32:
    return convImpl(g, F, group, (const float *)x.data, (const float *)w.data,
                    (const float *)bias.data, (float *)out.data);
  case DType::F64:
    return convImpl(g, F, group, (const double *)x.data,
                    (const double *)w.data, (const double *)bias.data,
                    (double *)out.data);
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
  const int64_t K = g.kSize();
#pragma omp parallel for schedule(static) if (planes * O * K >= kParallelMin)
  for (int64_t p = 0; p < planes; ++p) {
    const T *xp = x + p * I;
    T *yp = y + p * O;
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          int64_t o[3] = {od, oh, ow};
          // Per dim: window positions inside the input, and inside the
          // padded input (for count_include_pad).
          int64_t lo[3], hi[3], padCount = 1;
          for (int i = 0; i < 3; ++i) {
            int64_t start = o[i] * g.s[i] - g.pb[i];
            int64_t inPad = 0;
            for (int64_t kk = 0; kk < g.k[i]; ++kk) {
              int64_t pos = start + kk * g.d[i];
              if (pos >= -g.pb[i] && pos < g.in[i] + g.pe[i])
                ++inPad;
            }
            padCount *= inPad;
            lo[i] = start;
            hi[i] = start + (g.k[i] - 1) * g.d[i];
          }
          double sum = 0;
          T mx = std::numeric_limits<T>::lowest();
          int64_t count = 0;
          for (int64_t kd = 0; kd < g.k[0]; ++kd) {
            int64_t id = lo[0] + kd * g.d[0];
            if (id < 0 || id >= g.in[0])
              continue;
            for (int64_t kh = 0; kh < g.k[1]; ++kh) {
              int64_t ih = lo[1] + kh * g.d[1];
              if (ih < 0 || ih >= g.in[1])
                continue;
              const T *row = xp + (id * g.in[1] + ih) * g.in[2];
              for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                int64_t iw = lo[2] + kw * g.d[2];
                if (iw < 0 || iw >= g.in[2])
                  continue;
                T v = row[iw];
                if (isMax) {
                  if (v > mx || std::isnan(v))
                    mx = v;
                } else {
                  sum += v;
                }
                ++count;
              }
            }
          }
          (void)hi;
          T r;
          if (count == 0)
            r = T(0);
          else if (isMax)
            r = mx;
          else
            r = T(sum / double(countIncludePad ? padCount : count));
          yp[(od * g.out[1] + oh) * g.out[2] + ow] = r;
        }
  }
}

void pool(const char *k, Tensor x, Tensor out, const Dims &kernel,
          const Dims &strides, const Dims &pads, const Dims &dilations,
          bool isMax, bool countIncludePad) {
  if (x.dtype != out.dtype)
    fail("%s: output dtype %s differs from input dtype %s", k,
         dtypeName(out.dtype), dtypeName(x.dtype));
  checkData(k, "input", x);
  checkData(k, "output", out);
  int sr = x.shape.rank - 2;
  if (kernel.rank != sr)
    fail("%s: kernel has %d dims for %d spatial dims", k, kernel.rank, sr);
  Geom g;
  spatial(k, g, x, out, kernel.d, strides, pads, dilations);
  if (out.shape.d[0] != g.N || out.shape.d[1] != g.C)
    fail("%s: output %s does not fit input %s", k,
         formatDims(out.shape).c_str(), formatDims(x.shape).c_str());
  for (int i = 0; i < 3; ++i) {
    // Each output window must start inside the input or its begin padding.
    if (g.out[i] > 0 && (g.out[i] - 1) * g.s[i] - g.pb[i] >= g.in[i] + g.pe[i])
      fail("%s: output %s too large for input %s with these "
           "strides/pads",
           k, formatDims(out.shape).c_str(), formatDims(x.shape).c_str());
  }
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
