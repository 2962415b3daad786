//===- TestUtil.h - helpers for the runtime's Catch2 tests ------*- C++ -*-===//
#ifndef BBRT_TEST_TESTUTIL_H
#define BBRT_TEST_TESTUTIL_H

#include "bbrt/bbrt.h"
#include "bbrt/io.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" {
void omp_set_num_threads(int);
int omp_get_max_threads(void);
}

namespace bbrt {
namespace test {

inline std::mt19937 &rng() {
  static std::mt19937 g(12345);
  return g;
}

/// A tensor of `dtype` and `shape` with uniform values in [lo, hi] (ints:
/// integers in that range; Bool: 0/1).
inline HostTensor random(DType dtype, const Dims &shape, double lo = -1.0,
                         double hi = 1.0) {
  HostTensor t(dtype, shape);
  std::uniform_real_distribution<double> u(lo, hi);
  int64_t n = shape.numel();
  for (int64_t i = 0; i < n; ++i) {
    double v = u(rng());
    switch (dtype) {
    case DType::F32: static_cast<float *>(t.data())[i] = float(v); break;
    case DType::F64: static_cast<double *>(t.data())[i] = v; break;
    case DType::I64: static_cast<int64_t *>(t.data())[i] = int64_t(std::floor(v)); break;
    case DType::I32: static_cast<int32_t *>(t.data())[i] = int32_t(std::floor(v)); break;
    case DType::I16: static_cast<int16_t *>(t.data())[i] = int16_t(std::floor(v)); break;
    case DType::I8: static_cast<int8_t *>(t.data())[i] = int8_t(std::floor(v)); break;
    case DType::U8: static_cast<uint8_t *>(t.data())[i] = uint8_t(std::floor(std::fabs(v))); break;
    case DType::Bool: static_cast<uint8_t *>(t.data())[i] = v > (lo + hi) / 2; break;
    case DType::F16: static_cast<uint16_t *>(t.data())[i] = floatToHalf(float(v)); break;
    case DType::BF16: static_cast<uint16_t *>(t.data())[i] = floatToBf16(float(v)); break;
    }
  }
  return t;
}

inline HostTensor zeros(DType dtype, const Dims &shape) {
  return HostTensor(dtype, shape);
}

/// Element i as double.
inline double at(const HostTensor &t, int64_t i) {
  const void *p = t.data();
  switch (t.dtype) {
  case DType::F32: return static_cast<const float *>(p)[i];
  case DType::F64: return static_cast<const double *>(p)[i];
  case DType::I64: return double(static_cast<const int64_t *>(p)[i]);
  case DType::I32: return static_cast<const int32_t *>(p)[i];
  case DType::I16: return static_cast<const int16_t *>(p)[i];
  case DType::I8: return static_cast<const int8_t *>(p)[i];
  case DType::U8:
  case DType::Bool: return static_cast<const uint8_t *>(p)[i];
  case DType::F16: return halfToFloat(static_cast<const uint16_t *>(p)[i]);
  case DType::BF16: return bf16ToFloat(static_cast<const uint16_t *>(p)[i]);
  }
  return 0;
}

template <typename T> T *ptr(const HostTensor &t) {
  return static_cast<T *>(t.data());
}

inline void strides(const Dims &s, int64_t *st) {
  int64_t acc = 1;
  for (int i = s.rank - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s.d[i];
  }
}

/// Multi-index of flat index i in `shape`.
inline void unravel(const Dims &shape, int64_t i, int64_t *idx) {
  for (int d = shape.rank - 1; d >= 0; --d) {
    idx[d] = shape.d[d] ? i % shape.d[d] : 0;
    i = shape.d[d] ? i / shape.d[d] : 0;
  }
}

/// Flat offset in `shape` (NumPy-broadcast against an index of `outRank`).
inline int64_t bcastOffset(const Dims &shape, const int64_t *outIdx,
                           int outRank) {
  int64_t st[kMaxRank];
  strides(shape, st);
  int64_t off = 0;
  for (int d = 0; d < shape.rank; ++d) {
    int od = outRank - shape.rank + d;
    int64_t i = shape.d[d] == 1 ? 0 : outIdx[od];
    off += i * st[d];
  }
  return off;
}

/// Sets the runtime's OpenMP thread count for a scope (the tests are
/// compiled without -fopenmp; the runtime links OpenMP).
struct Threads {
  int saved;
  explicit Threads(int n) : saved(omp_get_max_threads()) {
    omp_set_num_threads(n);
  }
  ~Threads() { omp_set_num_threads(saved); }
};

/// CHECKs |got - want| <= atol + rtol |want| element-wise (NaN matches NaN).
inline void requireClose(const HostTensor &got, const std::vector<double> &want,
                         double atol = 1e-5, double rtol = 1e-5) {
  REQUIRE(got.shape.numel() == static_cast<int64_t>(want.size()));
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double g = at(got, static_cast<int64_t>(i)), w = want[i];
    bool ok = (std::isnan(g) && std::isnan(w)) || g == w ||
              std::fabs(g - w) <= atol + rtol * std::fabs(w);
    if (!ok && bad++ < 5) {
      INFO("element " << i << ": got " << g << ", want " << w);
      CHECK(ok);
    }
  }
  CHECK(bad == 0);
}

/// A new empty directory under $TEST_TMPDIR (or /tmp).
inline std::string newTempDir(const std::string &prefix) {
  const char *t = getenv("TEST_TMPDIR");
  std::string tmpl = std::string(t ? t : "/tmp") + "/" + prefix + "_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  REQUIRE(mkdtemp(buf.data()));
  return buf.data();
}

inline std::vector<double> values(const HostTensor &t) {
  std::vector<double> v(static_cast<size_t>(t.shape.numel()));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = at(t, static_cast<int64_t>(i));
  return v;
}

} // namespace test
} // namespace bbrt

#endif
