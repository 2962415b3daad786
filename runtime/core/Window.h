//===- Window.h - geometry of convolution and pooling windows ---*- C++ -*-===//
//
// Shared by both runtimes' convolution and pooling kernels (forward and
// gradients). Spatial dims are handled as 3-d (D, H, W): a 1-d or 2-d
// problem gets leading unit dims with kernel 1, stride 1, pad 0, dilation 1.
// The checks fail with the kernel's name; Geom is usable in CUDA kernels.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CORE_WINDOW_H
#define BBRT_CORE_WINDOW_H

#include "bbrt/bbrt.h"
#include "runtime/core/HostDevice.h"
#include "runtime/core/Util.h"

namespace bbrt {

struct Geom {
  int64_t N = 0, C = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1};
  int64_t s[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0},
          d[3] = {1, 1, 1};
  BBRT_HOST_DEVICE int64_t inSize() const { return in[0] * in[1] * in[2]; }
  BBRT_HOST_DEVICE int64_t outSize() const { return out[0] * out[1] * out[2]; }
  BBRT_HOST_DEVICE int64_t kSize() const { return k[0] * k[1] * k[2]; }
};

/// Fills the spatial part of `g` from x/out shapes and the attributes.
inline void spatial(const char *kname, Geom &g, const Tensor &x,
                    const Tensor &out, const int64_t *kernel,
                    const Dims &strides, const Dims &pads,
                    const Dims &dilations) {
  int sr = x.shape.rank - 2;
  if (sr < 0 || sr > 3)
    fail("%s: input must be N x C x (1 to 3 spatial dims), got %s", kname,
         formatDims(x.shape).c_str());
  if (out.shape.rank != x.shape.rank)
    fail("%s: output rank %d differs from input rank %d", kname, out.shape.rank,
         x.shape.rank);
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

/// The geometry of a convolution of x [N, C, ...] by w [F, C/group, ...]
/// into `out` (or from its gradient): checks w's rank against x's, the
/// attributes, and that `group` fits x and w. Whether out's sizes fit is left
/// to the caller (convSizesMatch).
inline Geom convGeom(const char *kname, const Tensor &x, const Tensor &w,
                     const Tensor &out, const Dims &strides, const Dims &pads,
                     const Dims &dilations, int64_t group) {
  if (w.shape.rank != x.shape.rank)
    fail("%s: weight %s does not match input %s", kname,
         formatDims(w.shape).c_str(), formatDims(x.shape).c_str());
  Geom g;
  spatial(kname, g, x, out, w.shape.d + 2, strides, pads, dilations);
  const int64_t F = w.shape.d[0];
  if (group < 1 || g.C % group != 0 || F % group != 0 ||
      w.shape.d[1] * group != g.C)
    fail("%s: group %lld does not fit input %s and weight %s", kname,
         (long long)group, formatDims(x.shape).c_str(),
         formatDims(w.shape).c_str());
  return g;
}

/// Whether g.out is the size a convolution gives for g.in (rounded down).
inline bool convSizesMatch(const Geom &g) {
  for (int i = 0; i < 3; ++i) {
    int64_t span = g.d[i] * (g.k[i] - 1) + 1;
    int64_t want = (g.in[i] + g.pb[i] + g.pe[i] - span) / g.s[i] + 1;
    if (g.in[i] + g.pb[i] + g.pe[i] < span || want != g.out[i])
      return false;
  }
  return true;
}

/// Whether each pooling window starts inside the input or its begin padding
/// (ceil-mode windows may run past the end padding).
inline bool poolSizesFit(const Geom &g) {
  for (int i = 0; i < 3; ++i)
    if (g.out[i] > 0 && (g.out[i] - 1) * g.s[i] - g.pb[i] >= g.in[i] + g.pe[i])
      return false;
  return true;
}

/// A convolution's geometry with every operand checked: x (or dx) [N, C,
/// ...], w (or dw) [F, C/group, ...], and y [N, F, ...], the output or its
/// gradient (`yName`), of the size x, w and the attributes give.
inline Geom checkedConvGeom(const char *kname, const char *yName,
                            const Tensor &x, const Tensor &w, const Tensor &y,
                            const Dims &strides, const Dims &pads,
                            const Dims &dilations, int64_t group) {
  Geom g = convGeom(kname, x, w, y, strides, pads, dilations, group);
  if (y.shape.d[0] != g.N || y.shape.d[1] != w.shape.d[0] ||
      !convSizesMatch(g))
    fail("%s: %s %s does not match input %s, weight %s and the "
         "strides/pads/dilations",
         kname, yName, formatDims(y.shape).c_str(), formatDims(x.shape).c_str(),
         formatDims(w.shape).c_str());
  return g;
}

/// A pool's geometry with every operand checked: x [N, C, ...] and y, the
/// output or its gradient (`yName`), [N, C, ...] with each window starting
/// inside the input or its begin padding.
inline Geom checkedPoolGeom(const char *kname, const char *yName,
                            const Tensor &x, const Tensor &y,
                            const Dims &kernel, const Dims &strides,
                            const Dims &pads, const Dims &dilations) {
  const int sr = x.shape.rank - 2;
  if (kernel.rank != sr)
    fail("%s: kernel has %d dims for %d spatial dims", kname, kernel.rank, sr);
  Geom g;
  spatial(kname, g, x, y, kernel.d, strides, pads, dilations);
  if (y.shape.d[0] != g.N || y.shape.d[1] != g.C)
    fail("%s: %s %s does not fit input %s", kname, yName,
         formatDims(y.shape).c_str(), formatDims(x.shape).c_str());
  if (!poolSizesFit(g))
    fail("%s: %s %s does not fit input %s: too large for these strides/pads",
         kname, yName, formatDims(y.shape).c_str(),
         formatDims(x.shape).c_str());
  return g;
}

} // namespace bbrt

#endif
