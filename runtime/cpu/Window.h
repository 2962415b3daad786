//===- Window.h - geometry of convolution and pooling windows ---*- C++ -*-===//
//
// The CPU kernels' additions to core/Window.h (Geom, the checks): thread
// thresholds and per-position tap counts. Shared by the forward kernels
// (Conv.cpp) and their gradients (ConvGrad.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CPU_WINDOW_H
#define BBRT_CPU_WINDOW_H

#include "runtime/core/Window.h"
#include "runtime/cpu/Common.h"

#include <vector>

namespace bbrt {
namespace cpu {

using ::bbrt::Geom;

/// Depthwise convolutions and pools with planes * (window taps * outputs +
/// inputs) below this stay on one thread (about 10 us of work).
constexpr int64_t kWindowParallelMin = int64_t(1) << 16;
/// Multiply-adds above which a convolution is split across threads.
constexpr int64_t kConvParallelMin = int64_t(1) << 17;

/// Per output position along one dim: taps inside the input and inside the
/// padded input.
struct DimCounts {
  std::vector<int64_t> real, padded;
};

inline DimCounts dimCounts(const Geom &g, int i) {
  DimCounts dc;
  dc.real.resize(static_cast<size_t>(g.out[i]));
  dc.padded.resize(static_cast<size_t>(g.out[i]));
  for (int64_t o = 0; o < g.out[i]; ++o) {
    int64_t real = 0, padded = 0;
    for (int64_t kk = 0; kk < g.k[i]; ++kk) {
      const int64_t pos = o * g.s[i] - g.pb[i] + kk * g.d[i];
      real += pos >= 0 && pos < g.in[i];
      padded += pos >= -g.pb[i] && pos < g.in[i] + g.pe[i];
    }
    dc.real[o] = real;
    dc.padded[o] = padded;
  }
  return dc;
}

} // namespace cpu
} // namespace bbrt

#endif
