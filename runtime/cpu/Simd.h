//===- Simd.h - ISA dispatch and vectorizable float math --------*- C++ -*-===//
//
// The runtime is built for the baseline x86-64 ISA (SSE2) so that one SDK
// runs everywhere. Hot leaf loops are compiled twice through GCC's
// target_clones (baseline and x86-64-v3 = AVX2 + FMA) and picked at load
// time; BBRT_CLONES marks such a function. Templates called from a clone must
// be BBRT_INLINE so that they are compiled for the clone's ISA.
//
// The float functions of bbrt/fastmath.h (expf, erff, tanhf, ...) are
// branch-free so that loops calling them vectorize; they hold to a few ulp
// (tested against libm in test/runtime/ElementwiseTest.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CPU_SIMD_H
#define BBRT_CPU_SIMD_H

#include "bbrt/fastmath.h"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&         \
    defined(__has_attribute)
#if __has_attribute(target_clones)
#define BBRT_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef BBRT_CLONES
#define BBRT_CLONES
#endif

#define BBRT_INLINE inline __attribute__((always_inline))

namespace bbrt {
namespace cpu {
namespace simd {

// The scalar float math (expf, erff, tanhf, geluf, sigmoidf, ...) lives in
// the public bbrt/fastmath.h, which the generated programs' fused kernels
// call too.
using namespace fastmath;

typedef float v8f __attribute__((vector_size(32)));
typedef double v4d __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

BBRT_INLINE v8f load8(const float *p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// Sum of x[0, n) accumulated in double (8 lanes).
BBRT_INLINE double sumToDouble(const float *x, int64_t n) {
  v4d a = {0, 0, 0, 0}, b = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    v4f lo, hi;
    std::memcpy(&lo, x + i, sizeof lo);
    std::memcpy(&hi, x + i + 4, sizeof hi);
    a += __builtin_convertvector(lo, v4d);
    b += __builtin_convertvector(hi, v4d);
  }
  a += b;
  double s = (a[0] + a[2]) + (a[1] + a[3]);
  for (; i < n; ++i)
    s += double(x[i]);
  return s;
}

/// Sum of (x[i] - m)^2 over [0, n) in double.
BBRT_INLINE double sqDevToDouble(const float *x, int64_t n, double m) {
  const v4d mv = {m, m, m, m};
  v4d a = {0, 0, 0, 0}, b = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    v4f lo, hi;
    std::memcpy(&lo, x + i, sizeof lo);
    std::memcpy(&hi, x + i + 4, sizeof hi);
    const v4d dl = __builtin_convertvector(lo, v4d) - mv;
    const v4d dh = __builtin_convertvector(hi, v4d) - mv;
    a += dl * dl;
    b += dh * dh;
  }
  a += b;
  double s = (a[0] + a[2]) + (a[1] + a[3]);
  for (; i < n; ++i) {
    const double d = double(x[i]) - m;
    s += d * d;
  }
  return s;
}

/// max of x[0, n) (n >= 1; a NaN never wins, as in a scalar `v > m` loop
/// over non-NaN data).
BBRT_INLINE float maxOf(const float *x, int64_t n) {
  const float ninf = -__builtin_inff();
  v8f m = {ninf, ninf, ninf, ninf, ninf, ninf, ninf, ninf};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const v8f v = load8(x + i);
    m = v > m ? v : m;
  }
  float r = ninf;
  for (int j = 0; j < 8; ++j)
    r = m[j] > r ? m[j] : r;
  for (; i < n; ++i)
    r = x[i] > r ? x[i] : r;
  return r;
}

} // namespace simd
} // namespace cpu
} // namespace bbrt

#endif
