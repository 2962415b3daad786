//===- Util.h - runtime-internal helpers ------------------------*- C++ -*-===//
#ifndef BBRT_CORE_UTIL_H
#define BBRT_CORE_UTIL_H

#include "bbrt/bbrt.h"

#include <cstdarg>
#include <cstddef>
#include <string>

namespace bbrt {

/// printf-style message -> bbrt::Error.
[[noreturn]] void fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
std::string strformat(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/// 64-byte aligned, zero-filled host memory of at least `bytes` (one
/// cache line when 0), for std::free; fails when out of memory.
void *allocateZeroedHost(size_t bytes);

/// `rank` zeros: the origin, as copyBox offsets.
inline Dims zeros(int rank) {
  Dims z;
  z.rank = rank;
  return z;
}

} // namespace bbrt

#define BBRT_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond))                                                               \
      ::bbrt::fail(__VA_ARGS__);                                               \
  } while (0)

#endif
