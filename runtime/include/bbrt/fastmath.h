//===- fastmath.h - vectorizable float math ---------------------*- C++ -*-===//
//
// Branch-free float functions (e^x, erf, tanh, GELU, sigmoid) that hold to a
// few ulp and let loops calling them vectorize: the CPU runtime's kernels
// use them (runtime/cpu/Simd.h), and so do the fused elementwise kernels the
// compiler generates (bbrt/fused.h), so that a fused chain computes what
// its ops would one by one. Tested against libm in
// test/runtime/ElementwiseTest.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_FASTMATH_H
#define BBRT_FASTMATH_H

#include <cstdint>
#include <cstring>

#define BBRT_FASTMATH inline __attribute__((always_inline))

namespace bbrt {
namespace fastmath {

BBRT_FASTMATH float bitsToFloat(int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}
BBRT_FASTMATH int32_t floatToBits(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}

/// e^x to about 1 ulp (Cephes expf polynomial); exact 0 below the denormal
/// range, inf above 88.72, NaN stays NaN.
BBRT_FASTMATH float expf(float x) {
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
BBRT_FASTMATH float erfcPos(float a) {
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
BBRT_FASTMATH float erfSmall(float z) {
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

BBRT_FASTMATH float erff(float z) {
  float a = z < 0.f ? -z : z;
  float c = 1.f - erfcPos(a);
  float big = z < 0.f ? -c : c;
  return a < 0.5f ? erfSmall(z) : big;
}

/// 0.5 x (1 + erf(x / sqrt 2)); 1 + erf(z) = erfc(-z) for z < 0 keeps the
/// relative accuracy of the negative tail.
BBRT_FASTMATH float geluf(float x) {
  float z = x * 0.70710678118654752f;
  float a = z < 0.f ? -z : z;
  float e = erfcPos(a);
  // Near 0, 2 - erfc(z) ~ 1 keeps its relative accuracy: no Taylor branch.
  return 0.5f * x * (z < 0.f ? e : 2.f - e);
}

/// tanh: Cephes' odd polynomial below 0.625, 1 - 2 / (e^2|x| + 1) above.
BBRT_FASTMATH float tanhf(float x) {
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

BBRT_FASTMATH float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

} // namespace fastmath
} // namespace bbrt

#endif // BBRT_FASTMATH_H
