//===- Float16.h - f32 <-> bf16 and f16 bits, as the runtimes round -*- C++ -*-===//
//
// One definition of the rounding for every place that makes bf16 or IEEE
// half values: the runtimes' convert and 16-bit matmul outputs (through
// bbrt/io.h's floatToBf16 and floatToHalf), the safetensors and NumPy
// readers and writers, and the compiler, which rounds inference weights at
// compile time (bb-mixed-precision) and must give the same bits as the
// runtime would. Round to nearest even; a NaN stays a (quiet) NaN; f16
// values beyond 65504 that round up become infinite, those below 2^-25
// zero.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CORE_FLOAT16_H
#define BBRT_CORE_FLOAT16_H

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

inline float halfBitsToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      mant &= 0x3FF;
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | mant << 13;
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t floatToHalfBits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7FFFFFFFu;
  if (ax >= 0x7F800000u) // inf or nan
    return sign | 0x7C00 | (ax > 0x7F800000u ? 0x200 : 0);
  if (ax >= 0x477FF000u) // rounds to >= 65520: overflow
    return sign | 0x7C00;
  if (ax < 0x38800000u) { // below the smallest normal half (2^-14)
    if (ax < 0x33000000u) // < 2^-25: rounds to zero
      return sign;
    uint32_t e = ax >> 23;
    uint32_t m = (ax & 0x7FFFFF) | 0x800000;
    uint32_t shift = 126 - e; // 14..24
    uint32_t r = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1)))
      ++r;
    return sign | static_cast<uint16_t>(r);
  }
  uint32_t r = ax - (112u << 23); // rebias exponent
  uint32_t m = r & 0x1FFF;
  r >>= 13;
  if (m > 0x1000 || (m == 0x1000 && (r & 1)))
    ++r;
  return sign | static_cast<uint16_t>(r);
}

} // namespace bbrt

#endif // BBRT_CORE_FLOAT16_H
