//===- TF32.h - f32 rounded to TF32, as the tensor cores read it -*- C++ -*-===//
//
// TF32 keeps f32's sign and 8-bit exponent and 10 of its 23 mantissa bits.
// The CPU runtime's `tf32` products round each operand so (to nearest, ties
// away from zero: PTX's cvt.rna.tf32.f32) and multiply in f32; a GPU's
// tensor cores do the same rounding in hardware. Infinities and NaNs pass
// through; a value that rounds past the largest finite one becomes infinite,
// as in f32 arithmetic.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CORE_TF32_H
#define BBRT_CORE_TF32_H

#include <cstdint>
#include <cstring>

namespace bbrt {

inline float roundToTf32(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7F800000u) != 0x7F800000u) { // finite: add half an ulp, truncate
    x += 0x1000u;
    x &= 0xFFFFE000u;
  }
  std::memcpy(&f, &x, 4);
  return f;
}

} // namespace bbrt

#endif // BBRT_CORE_TF32_H
