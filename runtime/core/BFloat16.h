//===- BFloat16.h - f32 <-> bf16 bits, as the runtimes round ------*- C++ -*-===//
//
// One definition of the rounding for every place that makes bf16 values:
// the runtimes' convert and bf16 matmul output (through bbrt/io.h's
// floatToBf16) and the compiler, which rounds inference weights at compile
// time (bb-mixed-precision) and must give the same bits as the runtime
// would. Round to nearest even; a NaN stays a (quiet) NaN.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CORE_BFLOAT16_H
#define BBRT_CORE_BFLOAT16_H

#include <cstdint>
#include <cstring>

namespace bbrt {

inline uint16_t floatToBf16Bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u)
    return static_cast<uint16_t>((x >> 16) | 0x40);
  x += 0x7FFF + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

inline float bf16BitsToFloat(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

} // namespace bbrt

#endif // BBRT_CORE_BFLOAT16_H
