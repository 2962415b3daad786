//===- IntMath.h - integer Div, Mod and Pow as bbrt.h defines them -*- C++ -*-===//
//
// Both runtimes' binary kernels: division by zero gives 0 instead of
// trapping, the minimum divided by -1 wraps, Mod takes the divisor's sign
// (ONNX fmod=0), negative exponents give 0 unless the base is 1 or -1.
// Clip of an integer tensor takes float bounds clamped into T's range and
// rounded inwards.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CORE_INTMATH_H
#define BBRT_CORE_INTMATH_H

#include "runtime/core/HostDevice.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

namespace bbrt {

template <typename T> BBRT_HOST_DEVICE T intDiv(T a, T b) {
  if (b == 0)
    return 0;
  if (std::is_signed<T>::value && b == T(-1))
    return T(typename std::make_unsigned<T>::type(0) -
             typename std::make_unsigned<T>::type(a));
  return a / b;
}

template <typename T> BBRT_HOST_DEVICE T intMod(T a, T b) {
  if (b == 0)
    return 0;
  if (std::is_signed<T>::value && b == T(-1))
    return 0;
  T r = a % b;
  if (r != 0 && ((r < 0) != (b < 0)))
    r += b;
  return r;
}

template <typename T> BBRT_HOST_DEVICE T intPow(T base, T e) {
  if (e < 0) {
    if (base == 1)
      return 1;
    if (std::is_signed<T>::value && base == T(-1))
      return (e & 1) ? T(-1) : T(1);
    return 0;
  }
  using U = typename std::make_unsigned<T>::type;
  U r = 1, bb = U(base);
  while (e) {
    if (e & 1)
      r = U(r * bb);
    bb = U(bb * bb);
    e >>= 1;
  }
  return T(r);
}

/// Clip's float bounds for integers of type T: clamped into T's range, then
/// rounded inwards (clip(1, 1.5) of an i32 is 2).
template <typename T> void intClipBounds(double lo, double hi, T &l, T &h) {
  lo = std::max<double>(lo, double(std::numeric_limits<T>::lowest()));
  hi = std::min<double>(hi, double(std::numeric_limits<T>::max()));
  l = T(std::ceil(lo));
  h = T(std::floor(hi));
}

} // namespace bbrt

#endif
