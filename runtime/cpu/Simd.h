//===- Simd.h - ISA dispatch and vectorizable float math --------*- C++ -*-===//
//
// The runtime is built for the baseline x86-64 ISA (SSE2) so that one SDK
// runs everywhere. Hot leaf loops are compiled twice through GCC's
// target_clones (baseline and x86-64-v3 = AVX2 + FMA) and picked at load
// time; BBRT_CLONES marks such a function. Templates called from a clone must
// be BBRT_INLINE so that they are compiled for the clone's ISA.
//
// The float functions below (expf, erff, tanhf, ...) are branch-free so that
// loops calling them vectorize; they hold to a few ulp (tested against libm
// in test/runtime/ElementwiseTest.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CPU_SIMD_H
#define BBRT_CPU_SIMD_H

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

BBRT_INLINE float bitsToFloat(int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}
BBRT_INLINE int32_t floatToBits(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}

/// e^x to about 1 ulp (Cephes expf polynomial); exact 0 below the denormal
/// range, inf above 88.72, NaN stays NaN.
BBRT_INLINE float expf(float x) {
  const float hi = 88.7228394f, lo = -103.972084f;
  float xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  // n = round(x / ln2) through the 1.5 * 2^23 trick; its low bits hold n.
  const float magic = 12582912.f;
  float t = xc * 1.44269504088896341f + magic;
  int32_t n = floatToBits(t) - floatToBits(magic);
  float nf = t - magic;
  float r = xc - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.f;
  // 2^n in two factors so that n in [-150, 128] never leaves float range.
  int32_t n1 = n >> 1, n2 = n - n1;
  float y = p * bitsToFloat((n1 + 127) << 23) * bitsToFloat((n2 + 127) << 23);
  y = x > hi ? __builtin_inff() : y;
  return x < lo ? 0.f : y;
}

/// erfc(a) for a >= 0, relative error ~1e-6 (Numerical Recipes' erfcc
/// Chebyshev fit, fractional error < 1.2e-7, evaluated in float).
BBRT_INLINE float erfcPos(float a) {
  float t = 1.f / (1.f + 0.5f * a);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  return t * expf(p - a * a);
}

/// erf(z) for |z| < 0.5 by its Taylor series (error < 1e-9).
BBRT_INLINE float erfSmall(float z) {
  float s = z * z;
  float p = 1.f / 9360.f;
  p = p * s - 1.f / 1320.f;
  p = p * s + 1.f / 216.f;
  p = p * s - 1.f / 42.f;
  p = p * s + 1.f / 10.f;
  p = p * s - 1.f / 3.f;
  p = p * s + 1.f;
  return z * p * 1.12837916709551257f; // 2/sqrt(pi)
}

BBRT_INLINE float erff(float z) {
  float a = z < 0.f ? -z : z;
  float c = 1.f - erfcPos(a);
  float big = z < 0.f ? -c : c;
  return a < 0.5f ? erfSmall(z) : big;
}

/// 0.5 x (1 + erf(x / sqrt 2)); 1 + erf(z) = erfc(-z) for z < 0 keeps the
/// relative accuracy of the negative tail.
BBRT_INLINE float geluf(float x) {
  float z = x * 0.70710678118654752f;
  float a = z < 0.f ? -z : z;
  float e = erfcPos(a);
  // Near 0, 2 - erfc(z) ~ 1 keeps its relative accuracy: no Taylor branch.
  return 0.5f * x * (z < 0.f ? e : 2.f - e);
}

/// tanh: Cephes' odd polynomial below 0.625, 1 - 2 / (e^2|x| + 1) above.
BBRT_INLINE float tanhf(float x) {
  float a = x < 0.f ? -x : x;
  float s = x * x;
  float p = -5.70498872745e-3f;
  p = p * s + 2.06390887954e-2f;
  p = p * s - 5.37397155531e-2f;
  p = p * s + 1.33314422036e-1f;
  p = p * s - 3.33332819422e-1f;
  float small = p * s * x + x;
  float big = 1.f - 2.f / (expf(2.f * a) + 1.f);
  big = x < 0.f ? -big : big;
  return a < 0.625f ? small : big;
}

BBRT_INLINE float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

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
