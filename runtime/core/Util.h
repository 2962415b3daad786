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

/// The argument checks every kernel of both runtimes makes, failing with
/// "KERNEL: ..." one-line errors.
inline void checkDType(const char *kernel, const char *what, const Tensor &t,
                       DType want) {
  if (t.dtype != want)
    fail("%s: %s has dtype %s, expected %s", kernel, what, dtypeName(t.dtype),
         dtypeName(want));
}

inline void checkData(const char *kernel, const char *what, const Tensor &t) {
  if (!t.data && t.numel() != 0)
    fail("%s: %s has no data", kernel, what);
}

/// `axis` (negative counts from the end) as an index in [0, rank); rank 0
/// takes axis 0.
inline int64_t normAxis(const char *kernel, int64_t axis, int rank) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= (rank > 1 ? rank : 1))
    fail("%s: axis %lld out of range for rank %d", kernel, (long long)axis,
         rank);
  return a;
}

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
