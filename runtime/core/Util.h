//===- Util.h - runtime-internal helpers ------------------------*- C++ -*-===//
#ifndef BBRT_CORE_UTIL_H
#define BBRT_CORE_UTIL_H

#include "bbrt/bbrt.h"

#include <cstdarg>
#include <string>

namespace bbrt {

/// printf-style message -> bbrt::Error.
[[noreturn]] void fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
std::string strformat(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

} // namespace bbrt

#define BBRT_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond))                                                               \
      ::bbrt::fail(__VA_ARGS__);                                               \
  } while (0)

#endif
